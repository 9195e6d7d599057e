"""Customers: the people Mkopo lends to and collects from."""

from datetime import date
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import TimestampMixin, db, enum_column
from portal.models.users import User


class KycStatus(StrEnum):
    UNVERIFIED = "unverified"
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


class KycLevel(StrEnum):
    TIER_0 = "tier_0"
    TIER_1 = "tier_1"
    TIER_2 = "tier_2"
    TIER_3 = "tier_3"



class Customer(TimestampMixin, db.Model):
    __tablename__ = "customers"
    __table_args__ = (Index("ix_customers_created_at_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_code: Mapped[str] = mapped_column(String(8), unique=True)
    account_number: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(160))
    # Optional: 000 creates client profiles from a name, e-mail and ID number alone.
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    national_id: Mapped[str | None] = mapped_column(String(32), index=True)
    business_name: Mapped[str | None] = mapped_column(String(160), index=True)
    location: Mapped[str | None] = mapped_column(String(120), index=True)
    address_line_1: Mapped[str | None] = mapped_column(String(200))
    address_line_2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(80))
    state: Mapped[str | None] = mapped_column(String(80))
    pincode: Mapped[str | None] = mapped_column(String(12))
    date_of_birth: Mapped[date | None]
    assigned_officer_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # The borrower login that is this customer, when they use the self-service API.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), unique=True)
    kyc_status: Mapped[KycStatus] = mapped_column(enum_column(KycStatus), default=KycStatus.UNVERIFIED, index=True)
    kyc_level: Mapped[KycLevel] = mapped_column(enum_column(KycLevel), default=KycLevel.TIER_0)

    assigned_officer: Mapped[User | None] = relationship(foreign_keys=[assigned_officer_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.split() else ""

    def __repr__(self) -> str:
        return f"<Customer {self.id} {self.customer_code} {self.name!r}>"
