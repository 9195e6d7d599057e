"""Requests Mkopo sends to M-Pesa (STK push, B2C) and what their asynchronous results said."""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Money, UTCDateTime, db, enum_column, utcnow


class MpesaKind(StrEnum):
    STK_PUSH = "stk_push"
    B2C = "b2c"


class MpesaStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class MpesaRequest(db.Model):
    __tablename__ = "mpesa_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[MpesaKind] = mapped_column(enum_column(MpesaKind))
    # CheckoutRequestID for STK push, ConversationID for B2C: what the callback names.
    external_id: Mapped[str] = mapped_column(String(80), unique=True)
    merchant_request_id: Mapped[str | None] = mapped_column(String(80))
    phone: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Money)
    account_reference: Mapped[str | None] = mapped_column(String(60))
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("loans.id"), index=True)
    status: Mapped[MpesaStatus] = mapped_column(enum_column(MpesaStatus), default=MpesaStatus.PENDING, index=True)
    result_code: Mapped[int | None]
    result_desc: Mapped[str | None] = mapped_column(String(200))
    receipt: Mapped[str | None] = mapped_column(String(40))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<MpesaRequest {self.kind} {self.external_id} {self.status}>"


class ReceiptStatus(StrEnum):
    PENDING = "pending"  # written down and answered; not yet in the books
    BOOKED = "booked"    # a payment exists for it (applied, or held in suspense)
    FAILED = "failed"    # booking raised: kept, with why, for `flask payments book --retry-failed`


class MpesaReceipt(db.Model):
    """An M-Pesa payment notification as it arrived (001's webhook, a C2B confirmation, an STK callback),
    written down before it is booked: the unique receipt makes every repeat delivery a no-op."""

    __tablename__ = "mpesa_receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    receipt: Mapped[str] = mapped_column(String(40), unique=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    phone: Mapped[str | None] = mapped_column(String(20))
    account_reference: Mapped[str | None] = mapped_column(String(60))
    status: Mapped[ReceiptStatus] = mapped_column(enum_column(ReceiptStatus), default=ReceiptStatus.PENDING,
                                                  index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    error: Mapped[str | None] = mapped_column(String(300))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    booked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    payment = relationship("Payment")

    def __repr__(self) -> str:
        return f"<MpesaReceipt {self.receipt} {self.status}>"
