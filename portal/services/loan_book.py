"""Reading one loan's book: the list of loans, its schedule, payments with their allocations, its ledger
entries and the disbursement receipt. Read-only; the money moves in loans and repayments."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from portal.models import (
    Customer,
    DisbursementChannel,
    FeeMode,
    Gl,
    Installment,
    JournalEntry,
    Loan,
    LoanStatus,
    MpesaKind,
    MpesaRequest,
    Payment,
    PaymentAllocation,
    Posting,
    User,
)
from portal.models.base import db
from portal.services import business_day, customers, loans, permissions, repayments
from portal.services.errors import NotFound, ValidationFailed
from portal.services.money import ZERO
from portal.services.pagination import Page, paginate

PER_PAGE = 25


@dataclass
class LoanListFilters:
    status: str | None = None
    search: str | None = None


def listing(filters: LoanListFilters, *, actor: User, page: int = 1, per_page: int = PER_PAGE) -> Page:
    """Loans `actor` may see, newest first, with their customers: two queries."""
    permissions.require(actor, "loan.view")
    stmt = permissions.visible_loans(actor).join(Loan.customer).options(joinedload(Loan.customer))
    if filters.status:
        try:
            stmt = stmt.where(Loan.status == LoanStatus(filters.status))
        except ValueError:
            raise ValidationFailed({"status": [f"Choose one of {', '.join(s.value for s in LoanStatus)}."]}) \
                from None
    if q := (filters.search or "").strip():
        stmt = stmt.where(or_(Loan.loan_number.ilike(f"%{q}%"), Customer.name.ilike(f"%{q}%"),
                              Customer.customer_code.ilike(f"%{q}%")))
    return paginate(stmt.order_by(Loan.created_at.desc(), Loan.id.desc()), page, per_page)


@dataclass
class PaymentLine:
    payment: Payment
    recorded_by: User | None
    allocations: list[PaymentAllocation]  # the set the payment's current entry applied, by installment


@dataclass
class Share:
    """This loan's part of a posting pooled for many loans (a penalty run credits its income once)."""

    gl: Gl
    amount: Decimal
    pooled: Decimal  # the whole posting


@dataclass
class LedgerLines:
    entry: JournalEntry
    postings: list[Posting]
    share: Share | None = None


@dataclass
class LoanBook:
    loan: Loan
    today: date
    installments: list[tuple[Installment, str]]  # each with its state: paid, partial, overdue, pending
    payments: list[PaymentLine]
    entries: list[LedgerLines]
    outstanding: Decimal      # as the ledger says
    overdue: Decimal
    days_past_due: int


def _users(ids) -> dict[int, User]:
    ids = {i for i in ids if i is not None}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}


def ledger_entries(loan: Loan, *, actor: User) -> list[LedgerLines]:
    """Every journal entry with a posting on this loan, oldest first, with the postings that concern it: the
    loan's own and the customer's untagged ones (the cash or savings side), never another loan's from a batch.
    Where a batch pooled one side for all its loans (a posting of no customer), the loan's share of it is
    shown instead, so that each entry still balances on the page."""
    permissions.require(actor, "loan.view")
    customers.ensure_visible(loan.customer, actor)
    on_loan = select(Posting.entry_id).where(Posting.loan_id == loan.id)
    concerns_it = or_(Posting.loan_id == loan.id, and_(Posting.loan_id.is_(None), or_(
        Posting.customer_id == loan.customer_id, Posting.customer_id.is_(None))))
    postings = db.session.scalars(
        select(Posting).join(Posting.entry).where(Posting.entry_id.in_(on_loan), concerns_it)
        .options(contains_eager(Posting.entry)).order_by(JournalEntry.created_at, JournalEntry.id, Posting.id))
    entries: dict[int, LedgerLines] = {}
    pooled: dict[int, Posting] = {}
    for posting in postings:
        lines = entries.setdefault(posting.entry_id, LedgerLines(posting.entry, []))
        if posting.customer_id is None and posting.loan_id is None:
            pooled[posting.entry_id] = posting
        else:
            lines.postings.append(posting)
    for entry_id, posting in pooled.items():
        lines = entries[entry_id]
        lines.share = Share(posting.gl, -sum(p.amount for p in lines.postings), posting.amount)
    return list(entries.values())


def payments(loan: Loan, *, actor: User) -> list[PaymentLine]:
    """The payments applied to this loan (reversed ones too), newest first, with their allocations."""
    stmt = (repayments.visible_payments(actor).where(Payment.loan_id == loan.id)
            .options(selectinload(Payment.allocations).joinedload(PaymentAllocation.installment)))
    found = list(db.session.scalars(stmt))
    people = _users(p.recorded_by_id for p in found)
    return [PaymentLine(p, people.get(p.recorded_by_id),
                        sorted((a for a in p.allocations if a.entry_id == p.entry_id),
                               key=lambda a: a.installment.number))
            for p in found]


def payment_on(loan: Loan, payment_id: int, *, actor: User) -> Payment:
    """One payment applied to this loan (to reverse it, say)."""
    payment = db.session.scalar(repayments.visible_payments(actor).where(Payment.id == payment_id,
                                                                         Payment.loan_id == loan.id))
    if payment is None:
        raise NotFound("Payment not found on this loan.")
    return payment


def schedule(loan: Loan, today: date) -> tuple[list[tuple[Installment, str]], Decimal]:
    """Each installment of `loan` with its state on `today`, and what the overdue ones still owe."""
    states = [(i, i.state(today)) for i in loan.installments]
    return states, sum((i.outstanding for i, state in states if state == "overdue"), ZERO)


def book(loan: Loan, *, actor: User) -> LoanBook:
    """Everything the loan page shows about one loan (found with loans.get_visible)."""
    permissions.require(actor, "loan.view")
    customers.ensure_visible(loan.customer, actor)
    today = business_day.today()
    states, overdue = schedule(loan, today)
    return LoanBook(loan, today, states, payments(loan, actor=actor), ledger_entries(loan, actor=actor),
                    loans.outstanding(loan), overdue, loan.days_past_due_on(today))


@dataclass
class DisbursementReceipt:
    loan: Loan
    principal: Decimal
    fee: Decimal
    fee_mode: FeeMode
    paid_out: Decimal          # what left us for the borrower, read from the disbursement entry
    channel: DisbursementChannel
    entry_id: int
    disbursed_at: datetime
    disbursed_by: User | None
    payout: MpesaRequest | None = None  # the M-Pesa B2C request, whose result arrives later


def receipt(loan: Loan, *, actor: User) -> DisbursementReceipt | None:
    """The disbursement of a loan as booked, or None if it has not been paid out."""
    permissions.require(actor, "loan.view")
    customers.ensure_visible(loan.customer, actor)
    if loan.disbursement_entry_id is None:
        return None
    payout = db.session.scalars(select(Posting.amount).where(
        Posting.entry_id == loan.disbursement_entry_id,
        Posting.gl.in_((Gl.CASH, Gl.CUSTOMER_DEPOSITS, Gl.PAYOUTS_IN_TRANSIT)))).all()
    b2c = db.session.scalars(select(MpesaRequest).where(MpesaRequest.loan_id == loan.id,
                                                        MpesaRequest.kind == MpesaKind.B2C)
                             .order_by(MpesaRequest.id.desc()).limit(1)).first()
    return DisbursementReceipt(loan, loan.principal, loan.fee_amount, loan.fee_mode, -sum(payout, ZERO),
                               loan.disbursement_channel, loan.disbursement_entry_id, loan.disbursed_at,
                               db.session.get(User, loan.disbursed_by_id) if loan.disbursed_by_id else None, b2c)
