"""Requests Mkopo sends to M-Pesa (STK push, B2C) and what their asynchronous results said."""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

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
