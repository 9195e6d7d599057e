"""Staff and borrower accounts."""

from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import TimestampMixin, db, enum_column


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    LOAN_OFFICER = "loan_officer"
    COLLECTION_OFFICER = "collection_officer"
    CALLING_AGENT = "calling_agent"
    BORROWER = "borrower"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


STAFF_ROLES = frozenset(Role) - {Role.BORROWER}


class User(UserMixin, TimestampMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    first_name: Mapped[str] = mapped_column(String(80), default="")
    last_name: Mapped[str] = mapped_column(String(80), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[Role] = mapped_column(enum_column(Role), index=True)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    email_verified: Mapped[bool] = mapped_column(default=False)
    phone_verified: Mapped[bool] = mapped_column(default=False)
    # Bumped by logout-all and password changes: every token and portal session minted before dies.
    token_version: Mapped[int] = mapped_column(default=1)

    manager: Mapped["User | None"] = relationship(remote_side=[id], back_populates="team")
    team: Mapped[list["User"]] = relationship(back_populates="manager")

    def get_id(self) -> str:
        return f"{self.id}:{self.token_version}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.username

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username} {self.role}>"
