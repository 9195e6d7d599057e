"""Collection interactions (calls and field visits), their managed dispositions, and revisions."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Money, TimestampMixin, UTCDateTime, db, enum_column, utcnow
from portal.models.loans import Loan
from portal.models.users import User


class InteractionKind(StrEnum):
    FIELD = "field"
    CALLING = "calling"


class DispositionCategory(StrEnum):
    POSITIVE = "positive"
    NEUTRAL = "neutral"
    NEGATIVE = "negative"


class ContactOutcome(StrEnum):
    RIGHT_PARTY = "right_party"
    THIRD_PARTY = "third_party"
    NO_CONTACT = "no_contact"


class PromiseStatus(StrEnum):
    PENDING = "pending"
    KEPT = "kept"
    PARTIALLY_KEPT = "partially_kept"
    BROKEN = "broken"


class Disposition(db.Model):
    """What came of an interaction; a managed list (003's called, visited, promise_to_pay among them)."""

    __tablename__ = "dispositions"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    label: Mapped[str] = mapped_column(String(80))
    category: Mapped[DispositionCategory] = mapped_column(enum_column(DispositionCategory))
    active: Mapped[bool] = mapped_column(default=True)

    def __repr__(self) -> str:
        return f"<Disposition {self.code}>"


class Interaction(TimestampMixin, db.Model):
    __tablename__ = "interactions"
    __table_args__ = (Index("ix_interactions_loan_id_created_at", "loan_id", "created_at"),
                      Index("ix_interactions_next_call_date", "next_call_date"),
                      Index("ix_interactions_promise_status_promise_date", "promise_status", "promise_date"))

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id", ondelete="RESTRICT"))
    kind: Mapped[InteractionKind] = mapped_column(enum_column(InteractionKind), index=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    disposition_code: Mapped[str] = mapped_column(ForeignKey("dispositions.code"))
    next_call_date: Mapped[date | None]
    contact_outcome: Mapped[ContactOutcome | None] = mapped_column(enum_column(ContactOutcome))
    promise_amount: Mapped[Decimal | None] = mapped_column(Money)
    promise_date: Mapped[date | None] = mapped_column(index=True)
    # Set with the promise; the daily job settles it from the payments that arrived by its date.
    promise_status: Mapped[PromiseStatus | None] = mapped_column(enum_column(PromiseStatus))
    promise_paid: Mapped[Decimal | None] = mapped_column(Money)
    latitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    longitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    # A field visit's photo, stored under the upload folder by its content hash.
    photo_key: Mapped[str | None] = mapped_column(String(80))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # Deleting hides an interaction; the record and its revisions stay (nothing a collector wrote disappears).
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    loan: Mapped[Loan] = relationship()
    disposition: Mapped[Disposition] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    def __repr__(self) -> str:
        return f"<Interaction {self.id} {self.kind} loan={self.loan_id} {self.disposition_code}>"


class InteractionRevision(db.Model):
    """An interaction as it was before each edit or deletion."""

    __tablename__ = "interaction_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id"), index=True)
    action: Mapped[str] = mapped_column(String(10))
    before: Mapped[dict] = mapped_column(JSON)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<InteractionRevision {self.interaction_id} {self.action}>"


DISPOSITIONS = [
    ("called", "Called", DispositionCategory.NEUTRAL),
    ("no_answer", "No answer", DispositionCategory.NEUTRAL),
    ("wrong_number", "Wrong number", DispositionCategory.NEGATIVE),
    ("switched_off", "Phone switched off", DispositionCategory.NEGATIVE),
    ("promise_to_pay", "Promise to pay", DispositionCategory.POSITIVE),
    ("paid", "Paid", DispositionCategory.POSITIVE),
    ("partial_payment", "Partial payment", DispositionCategory.POSITIVE),
    ("refused_to_pay", "Refused to pay", DispositionCategory.NEGATIVE),
    ("dispute", "Dispute", DispositionCategory.NEGATIVE),
    ("visited", "Visited", DispositionCategory.NEUTRAL),
    ("customer_not_found", "Customer not found", DispositionCategory.NEGATIVE),
    ("callback_requested", "Callback requested", DispositionCategory.NEUTRAL),
]
