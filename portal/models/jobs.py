"""Background jobs: work too long for a request (long PDF statements), run by a runner, watched by its owner."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import UTCDateTime, db, enum_column, utcnow
from portal.models.users import User


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.DONE, JobStatus.FAILED)


class Job(db.Model):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_owner_id_created_at", "owner_id", "created_at"),)

    # A random token, not a counter: job URLs cannot be walked (the owner check still applies).
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[JobStatus] = mapped_column(enum_column(JobStatus), default=JobStatus.QUEUED, index=True)
    progress: Mapped[int] = mapped_column(default=0)  # percent, 0 to 100
    message: Mapped[str] = mapped_column(String(500), default="")
    # The result, kept by portal.services.filestore under this key.
    result_key: Mapped[str | None] = mapped_column(String(80))
    filename: Mapped[str | None] = mapped_column(String(200))
    content_type: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Moved with each progress report, so a job whose runner died can be told from a slow one.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    owner: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.kind} {self.status} {self.progress}%>"
