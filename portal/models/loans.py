"""Loan products, loans with their fixed schedules, and the payments made against them."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Index, Numeric, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Money, TimestampMixin, UTCDateTime, db, enum_column, utcnow
from portal.models.customers import Customer
from portal.models.users import User

ZERO = Decimal("0.00")



class InterestMethod(StrEnum):
    FLAT = "flat"
    DECLINING = "declining"  # equal installments (annuity)


class Frequency(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    FORTNIGHTLY = "fortnightly"
    MONTHLY = "monthly"

    @property
    def periods_per_year(self) -> int:
        return {"daily": 365, "weekly": 52, "fortnightly": 26, "monthly": 12}[self.value]


class FeeType(StrEnum):
    FIXED = "fixed"
    PERCENT = "percent"


class FeeMode(StrEnum):
    DEDUCTED = "deducted"  # taken from what the borrower receives
    ADDED = "added"        # added to what the borrower repays


class LoanProduct(TimestampMixin, db.Model):
    __tablename__ = "loan_products"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    interest_method: Mapped[InterestMethod] = mapped_column(enum_column(InterestMethod))
    annual_rate: Mapped[Decimal] = mapped_column(Numeric(9, 4))  # percent a year, e.g. 10.5
    frequency: Mapped[Frequency] = mapped_column(enum_column(Frequency))
    term_periods: Mapped[int]
    min_principal: Mapped[Decimal] = mapped_column(Money)
    max_principal: Mapped[Decimal] = mapped_column(Money)
    fee_type: Mapped[FeeType] = mapped_column(enum_column(FeeType), default=FeeType.FIXED)
    fee_value: Mapped[Decimal] = mapped_column(Numeric(12, 4), default=ZERO)
    fee_mode: Mapped[FeeMode] = mapped_column(enum_column(FeeMode), default=FeeMode.DEDUCTED)
    penalty_rate: Mapped[Decimal] = mapped_column(Numeric(9, 4), default=ZERO)  # percent of overdue, per period
    grace_days: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    def __repr__(self) -> str:
        return f"<LoanProduct {self.id} {self.name!r}>"


class LoanStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    DISBURSED = "disbursed"  # active; "overdue" is derived from days past due, never stored
    CLOSED = "closed"
    WRITTEN_OFF = "written_off"


class DisbursementChannel(StrEnum):
    MPESA = "mpesa"
    SAVINGS = "savings"


loan_co_borrowers = Table(
    "loan_co_borrowers", db.metadata,
    Column("loan_id", ForeignKey("loans.id", ondelete="CASCADE"), primary_key=True),
    Column("customer_id", ForeignKey("customers.id", ondelete="RESTRICT"), primary_key=True),
)


class Loan(TimestampMixin, db.Model):
    __tablename__ = "loans"
    __table_args__ = (Index("ix_loans_status_customer_id", "status", "customer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_number: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("loan_products.id", ondelete="RESTRICT"), index=True)
    loan_type: Mapped[str] = mapped_column(String(40), default="")
    purpose: Mapped[str] = mapped_column(String(200), default="")
    # Terms, copied from the product at application so later product edits never move them.
    principal: Mapped[Decimal] = mapped_column(Money)
    annual_rate: Mapped[Decimal] = mapped_column(Numeric(9, 4))
    interest_method: Mapped[InterestMethod] = mapped_column(enum_column(InterestMethod))
    frequency: Mapped[Frequency] = mapped_column(enum_column(Frequency))
    term_periods: Mapped[int]
    fee_amount: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    fee_mode: Mapped[FeeMode] = mapped_column(enum_column(FeeMode), default=FeeMode.DEDUCTED)
    penalty_rate: Mapped[Decimal] = mapped_column(Numeric(9, 4), default=ZERO)
    grace_days: Mapped[int] = mapped_column(default=0)
    application_date: Mapped[date]

    status: Mapped[LoanStatus] = mapped_column(enum_column(LoanStatus), default=LoanStatus.PENDING, index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The last person to set the money terms: a maker too, so they may not approve (maker-checker).
    terms_set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    disbursed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    disbursed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disbursed_on: Mapped[date | None] = mapped_column(index=True)
    disbursement_channel: Mapped[DisbursementChannel | None] = mapped_column(enum_column(DisbursementChannel))
    disbursement_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    written_off_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    written_off_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    write_off_reason: Mapped[str | None] = mapped_column(Text)
    # Kept by the services from the installments (and checked by `flask ledger verify`), so that
    # arrears and PAR over a million loans need no scan of their installments.
    oldest_unpaid_due: Mapped[date | None] = mapped_column(index=True)
    principal_outstanding: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    # The calling agent who works this loan (field visits follow the customer's officer).
    collector_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)

    customer: Mapped[Customer] = relationship(foreign_keys=[customer_id])
    product: Mapped[LoanProduct | None] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    collector: Mapped[User | None] = relationship(foreign_keys=[collector_id])
    co_borrowers: Mapped[list[Customer]] = relationship(secondary=loan_co_borrowers)
    installments: Mapped[list["Installment"]] = relationship(
        back_populates="loan", order_by="Installment.number", cascade="all, delete-orphan")

    @property
    def outstanding_balance(self) -> Decimal:
        """What is still owed by the schedule (`flask ledger verify` proves it equals the postings)."""
        if self.status in (LoanStatus.WRITTEN_OFF, LoanStatus.PENDING, LoanStatus.APPROVED, LoanStatus.REJECTED):
            return ZERO
        return sum((i.outstanding for i in self.installments), ZERO)

    def days_past_due_on(self, today: date) -> int:
        if self.status != LoanStatus.DISBURSED or self.oldest_unpaid_due is None:
            return 0
        return max(0, (today - self.oldest_unpaid_due).days)

    def __repr__(self) -> str:
        return f"<Loan {self.id} {self.loan_number} {self.status} {self.principal}>"


class Installment(db.Model):
    __tablename__ = "installments"
    __table_args__ = (Index("uq_installments_loan_id_number", "loan_id", "number", unique=True),
                      Index("ix_installments_due_date", "due_date"))

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id", ondelete="CASCADE"))
    number: Mapped[int]
    due_date: Mapped[date]
    principal_due: Mapped[Decimal] = mapped_column(Money)
    interest_due: Mapped[Decimal] = mapped_column(Money)
    fee_due: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    penalty_due: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    principal_paid: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    interest_paid: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    fee_paid: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    penalty_paid: Mapped[Decimal] = mapped_column(Money, default=ZERO)

    loan: Mapped[Loan] = relationship(back_populates="installments")

    @property
    def total_due(self) -> Decimal:
        return self.principal_due + self.interest_due + self.fee_due + self.penalty_due

    @property
    def total_paid(self) -> Decimal:
        return self.principal_paid + self.interest_paid + self.fee_paid + self.penalty_paid

    @property
    def outstanding(self) -> Decimal:
        return self.total_due - self.total_paid

    def state(self, today: date) -> str:
        if self.outstanding == 0:
            return "paid"
        if self.due_date < today:
            return "overdue"
        return "partial" if self.total_paid > 0 else "pending"

    def __repr__(self) -> str:
        return f"<Installment {self.loan_id}#{self.number} {self.due_date} {self.total_due}>"


class PaymentSource(StrEnum):
    MPESA = "mpesa"          # 001's webhook and Daraja C2B / STK callbacks
    CASH = "cash"            # recorded by staff at a branch
    SAVINGS = "savings"      # moved from the customer's savings account


class PaymentStatus(StrEnum):
    APPLIED = "applied"
    UNMATCHED = "unmatched"  # in suspense, waiting in the reconciliation queue
    REVERSED = "reversed"


class Payment(db.Model):
    __tablename__ = "payments"
    __table_args__ = (Index("ix_payments_status_received_at", "status", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[PaymentSource] = mapped_column(enum_column(PaymentSource))
    # The M-Pesa receipt: unique, so one receipt is one payment however often it is delivered.
    receipt: Mapped[str | None] = mapped_column(String(40), unique=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    phone: Mapped[str | None] = mapped_column(String(20))
    account_reference: Mapped[str | None] = mapped_column(String(60))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("loans.id"), index=True)
    status: Mapped[PaymentStatus] = mapped_column(enum_column(PaymentStatus))
    overpayment: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))
    reversal_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))
    reversal_reason: Mapped[str | None] = mapped_column(Text)

    loan: Mapped[Loan | None] = relationship()
    customer: Mapped[Customer | None] = relationship()
    allocations: Mapped[list["PaymentAllocation"]] = relationship(back_populates="payment")

    def __repr__(self) -> str:
        return f"<Payment {self.id} {self.source} {self.amount} {self.status}>"


class PaymentAllocation(db.Model):
    """How much of a payment went to each part of each installment (what a reversal re-opens)."""

    __tablename__ = "payment_allocations"

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    # The entry that applied it: a payment assigned, reversed and assigned again has two sets.
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"))
    installment_id: Mapped[int] = mapped_column(ForeignKey("installments.id"), index=True)
    penalty: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    fee: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    interest: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    principal: Mapped[Decimal] = mapped_column(Money, default=ZERO)

    payment: Mapped[Payment] = relationship(back_populates="allocations")
    installment: Mapped[Installment] = relationship()

    @property
    def total(self) -> Decimal:
        return self.penalty + self.fee + self.interest + self.principal
