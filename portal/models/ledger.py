"""The double-entry ledger: a chart of accounts, journal entries and their postings,
and the deposit accounts (savings and the like) customers hold.
"""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Money, UTCDateTime, db, enum_column, utcnow


class GlKind(StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    INCOME = "income"
    EXPENSE = "expense"


class Gl(StrEnum):
    """The chart of accounts. Debits are positive, credits negative."""

    CASH = "1000"                 # cash at branches and the M-Pesa float
    LOANS_RECEIVABLE = "1100"     # everything borrowers owe: principal, contractual interest, fees, penalties
    CUSTOMER_DEPOSITS = "2000"    # savings and other deposit accounts customers hold
    SUSPENSE = "2100"             # money received that is not yet matched to a customer
    UNEARNED_INTEREST = "2200"    # contractual interest booked at disbursement, not yet paid
    PAYOUTS_IN_TRANSIT = "2300"   # loans sent by M-Pesa B2C whose result has not come back yet
    INTEREST_INCOME = "4000"
    FEE_INCOME = "4100"
    PENALTY_INCOME = "4200"
    WRITE_OFF_EXPENSE = "5000"

    @property
    def kind(self) -> GlKind:
        return {"1": GlKind.ASSET, "2": GlKind.LIABILITY, "4": GlKind.INCOME, "5": GlKind.EXPENSE}[self.value[0]]


class EntryKind(StrEnum):
    DISBURSEMENT = "disbursement"
    PAYOUT = "payout"  # an M-Pesa B2C payout's result: confirmed to the float, or failed into savings
    REPAYMENT = "repayment"
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    PENALTY = "penalty"
    WRITE_OFF = "write_off"
    SUSPENSE_IN = "suspense_in"
    REVERSAL = "reversal"


class JournalEntry(db.Model):
    """One balanced money movement. Never edited: a correction is another entry that reverses it."""

    __tablename__ = "journal_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[EntryKind] = mapped_column(enum_column(EntryKind, 24), index=True)
    memo: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Unique: an entry is reversed at most once, whoever retries the reversal.
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"), unique=True)

    postings: Mapped[list["Posting"]] = relationship(back_populates="entry", order_by="Posting.id")

    def __repr__(self) -> str:
        return f"<JournalEntry {self.id} {self.kind}>"


class Posting(db.Model):
    __tablename__ = "postings"
    __table_args__ = (
        CheckConstraint("amount <> 0", name="nonzero"),
        Index("ix_postings_loan_id_gl", "loan_id", "gl"),
        Index("ix_postings_deposit_account_id_gl", "deposit_account_id", "gl"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"), index=True)
    gl: Mapped[Gl] = mapped_column(enum_column(Gl, 4), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("loans.id"))
    deposit_account_id: Mapped[int | None] = mapped_column(ForeignKey("deposit_accounts.id"))

    entry: Mapped[JournalEntry] = relationship(back_populates="postings")

    def __repr__(self) -> str:
        return f"<Posting {self.gl} {self.amount}>"


class DepositKind(StrEnum):
    SAVINGS = "savings"


class DepositAccount(db.Model):
    """Money a customer keeps with us. `balance` caches the postings and is checked against them."""

    __tablename__ = "deposit_accounts"
    __table_args__ = (
        CheckConstraint("balance >= 0", name="not_overdrawn"),
        Index("uq_deposit_accounts_customer_id_kind", "customer_id", "kind", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    kind: Mapped[DepositKind] = mapped_column(enum_column(DepositKind, 24), default=DepositKind.SAVINGS)
    balance: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<DepositAccount {self.id} customer={self.customer_id} {self.kind} {self.balance}>"


class TransactionKind(StrEnum):
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    LOAN_REPAYMENT = "loan_repayment"
    DISBURSEMENT = "disbursement"


class Transaction(db.Model):
    """A customer-facing record of a money movement (000's transactions): code, time, balance after."""

    __tablename__ = "transactions"
    __table_args__ = (Index("ix_transactions_customer_id_created_at", "customer_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(10), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    kind: Mapped[TransactionKind] = mapped_column(enum_column(TransactionKind, 24))
    amount: Mapped[Decimal] = mapped_column(Money)
    source: Mapped[str] = mapped_column(String(20), default="")
    balance_after: Mapped[Decimal | None] = mapped_column(Money)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"))
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("loans.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Transaction {self.code} {self.kind} {self.amount}>"
