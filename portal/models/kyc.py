"""KYC submissions: a customer's documents sent for review, and the reviewer's decision (002's verification
workflow). The documents themselves are CustomerDocument rows pointing at their submission."""

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import TimestampMixin, UTCDateTime, db, enum_column
from portal.models.customers import Customer, KycLevel
from portal.models.users import User

if TYPE_CHECKING:
    from portal.models.documents import CustomerDocument


class KycSubmissionStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class KycSubmission(TimestampMixin, db.Model):
    """One review of a customer's identity; `created_at` is when it entered the queue."""

    __tablename__ = "kyc_submissions"
    # The queue: pending submissions, oldest first.
    __table_args__ = (Index("ix_kyc_submissions_status_created_at_id", "status", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    status: Mapped[KycSubmissionStatus] = mapped_column(enum_column(KycSubmissionStatus),
                                                        default=KycSubmissionStatus.PENDING)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What an approval granted; a rejection's reason (the customer is told it) and the reviewer's notes.
    kyc_level: Mapped[KycLevel | None] = mapped_column(enum_column(KycLevel))
    reason: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)

    customer: Mapped[Customer] = relationship()
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    documents: Mapped[list["CustomerDocument"]] = relationship(back_populates="submission",
                                                                order_by="CustomerDocument.id")

    def __repr__(self) -> str:
        return f"<KycSubmission {self.id} customer={self.customer_id} {self.status}>"
