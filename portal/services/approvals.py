"""The approvals inbox: pending applications oldest first, and what a checker needs to judge one.

The inbox runs a fixed number of queries whatever the page size; the context of one application
(its customer's loans and arrears, repayment record, contacts, the schedule) a fixed number per loan.
The decisions themselves are loans.approve and loans.reject.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import case, func, select, type_coerce
from sqlalchemy.orm import joinedload

from portal.models import (
    Customer,
    Disposition,
    DispositionCategory,
    Installment,
    Interaction,
    Loan,
    LoanStatus,
    Payment,
    PaymentAllocation,
    PaymentStatus,
    User,
)
from portal.models.base import Money, db, utcnow
from portal.services import business_day, customers, loan_preview, loans, permissions
from portal.services.errors import DomainError, NotFound
from portal.services.money import ZERO
from portal.services.pagination import Page, paginate

PER_PAGE = 25
CURRENT = (LoanStatus.PENDING, LoanStatus.APPROVED, LoanStatus.DISBURSED)
OWED = (Installment.principal_due + Installment.interest_due + Installment.fee_due + Installment.penalty_due
        - Installment.principal_paid - Installment.interest_paid - Installment.fee_paid - Installment.penalty_paid)


@dataclass
class InboxRow:
    loan: Loan
    loans_in_arrears: int   # the customer's active loans with an installment past due
    refusal: str | None     # why the person looking may not approve it (maker-checker, limit)


def _pending(actor: User):
    return permissions.visible_loans(actor).where(Loan.status == LoanStatus.PENDING)


def inbox(*, actor: User, page: int = 1, per_page: int = PER_PAGE) -> Page:
    """Pending applications `actor` may decide, oldest first: three queries whatever the page size."""
    permissions.require(actor, "loan.decide")
    stmt = (_pending(actor)
            .options(joinedload(Loan.customer), joinedload(Loan.created_by), joinedload(Loan.product))
            .order_by(Loan.created_at, Loan.id))
    found = paginate(stmt, page, per_page)
    customer_ids = {loan.customer_id for loan in found.items}
    late = {}
    if customer_ids:
        late = dict(db.session.execute(
            select(Loan.customer_id, func.count())
            .where(Loan.customer_id.in_(customer_ids), Loan.status == LoanStatus.DISBURSED,
                   Loan.oldest_unpaid_due < business_day.today())
            .group_by(Loan.customer_id)).all())
    found.items = [InboxRow(loan, late.get(loan.customer_id, 0), loans.approval_refusal(loan, actor))
                   for loan in found.items]
    return found


@dataclass
class LoanPosition:
    loan: Loan
    outstanding: Decimal
    overdue: Decimal
    days_past_due: int


@dataclass
class RepaymentRecord:
    """Installments paid in full, and how many of those were paid by their due date."""

    paid: int = 0
    on_time: int = 0

    @property
    def on_time_rate(self) -> Decimal | None:
        if not self.paid:
            return None
        return (Decimal(self.on_time * 100) / self.paid).quantize(Decimal("0.1"))


@dataclass
class ContactSummary:
    by_category: dict[str, int] = field(default_factory=dict)
    last: Interaction | None = None

    @property
    def total(self) -> int:
        return sum(self.by_category.values())


@dataclass
class CheckerContext:
    loan: Loan
    customer: Customer
    current_loans: list[LoanPosition]       # the customer's other pending, approved and active loans
    history: dict[str, int]                  # the customer's other loans by status (closed, rejected ...)
    record: RepaymentRecord
    contacts: ContactSummary
    quote: loan_preview.Quote                # the schedule, were it paid out today
    submitted_by: User | None
    terms_set_by: User | None
    refusal: str | None
    today: date

    @property
    def overdue_total(self) -> Decimal:
        return sum((p.overdue for p in self.current_loans), ZERO)


def _local_date(column):
    """The business-day date of a stored UTC timestamp, in SQL."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone(business_day.zone().key, column))
    # SQLite has no time zones: shift by the zone's offset now (East Africa and India keep no DST).
    offset = utcnow().astimezone(business_day.zone()).utcoffset()
    return func.date(column, f"{int(offset.total_seconds() // 60):+d} minutes")


def repayment_record(customer: Customer) -> RepaymentRecord:
    """Of the customer's installments paid in full, how many were paid by their due date: one query.

    An installment's payment date is that of the latest payment still applied to it.
    """
    paid_at = (select(PaymentAllocation.installment_id.label("installment_id"),
                      func.max(Payment.received_at).label("paid_at"))
               .join(Payment, Payment.id == PaymentAllocation.payment_id)
               .join(Installment, Installment.id == PaymentAllocation.installment_id)
               .join(Loan, Loan.id == Installment.loan_id)
               .where(Loan.customer_id == customer.id, Payment.status == PaymentStatus.APPLIED,
                      PaymentAllocation.entry_id == Payment.entry_id)
               .group_by(PaymentAllocation.installment_id).subquery())
    paid, on_time = db.session.execute(
        select(func.count(), func.coalesce(func.sum(case((_local_date(paid_at.c.paid_at) <= Installment.due_date, 1),
                                                         else_=0)), 0))
        .select_from(Installment).join(paid_at, paid_at.c.installment_id == Installment.id)
        .where(OWED == 0)).one()
    return RepaymentRecord(paid, on_time)


def _positions(customer: Customer, loan: Loan, today: date) -> tuple[list[LoanPosition], dict[str, int]]:
    """The customer's other current loans with what they owe and how much is late; the rest counted by status."""
    owed = type_coerce(func.coalesce(func.sum(OWED), 0), Money)
    overdue = type_coerce(func.coalesce(func.sum(case((Installment.due_date < today, OWED), else_=0)), 0), Money)
    rows = db.session.execute(
        select(Loan, owed, overdue).outerjoin(Installment, Installment.loan_id == Loan.id)
        .where(Loan.customer_id == customer.id, Loan.id != loan.id, Loan.status.in_(CURRENT))
        .group_by(Loan.id).order_by(Loan.created_at, Loan.id)).all()
    history = dict(db.session.execute(
        select(Loan.status, func.count()).where(Loan.customer_id == customer.id, Loan.id != loan.id,
                                                Loan.status.not_in(CURRENT))
        .group_by(Loan.status)).all())
    positions = [LoanPosition(other, owed, late, other.days_past_due_on(today)) for other, owed, late in rows]
    return positions, {status.value: count for status, count in history.items()}


def contact_summary(customer: Customer) -> ContactSummary:
    """Calls and visits on the customer's loans, counted by disposition category, and the latest one."""
    counts = dict(db.session.execute(
        select(Disposition.category, func.count())
        .select_from(Interaction).join(Disposition, Disposition.code == Interaction.disposition_code)
        .join(Loan, Loan.id == Interaction.loan_id)
        .where(Loan.customer_id == customer.id, Interaction.deleted_at.is_(None))
        .group_by(Disposition.category)).all())
    last = None
    if counts:
        last = db.session.scalars(
            select(Interaction).join(Loan, Loan.id == Interaction.loan_id)
            .where(Loan.customer_id == customer.id, Interaction.deleted_at.is_(None))
            .options(joinedload(Interaction.disposition), joinedload(Interaction.created_by))
            .order_by(Interaction.created_at.desc(), Interaction.id.desc()).limit(1)).first()
    return ContactSummary({c.value: counts.get(c, 0) for c in DispositionCategory}, last)


def get_for_decision(loan_id: int, *, actor: User) -> Loan:
    """A loan `actor` may decide (visible to them), with its customer and maker loaded."""
    permissions.require(actor, "loan.decide")
    loan = db.session.get(Loan, loan_id, options=[joinedload(Loan.customer), joinedload(Loan.created_by),
                                                  joinedload(Loan.product)])
    if loan is None:
        raise NotFound("Loan not found.")
    customers.ensure_visible(loan.customer, actor)
    return loan


def context(loan: Loan, *, actor: User) -> CheckerContext:
    """What a checker needs on one application, beside the approve and reject buttons."""
    permissions.require(actor, "loan.decide")
    customer = loan.customer
    customers.ensure_visible(customer, actor)
    today = business_day.today()
    current, history = _positions(customer, loan, today)
    terms_set_by = loan.created_by
    if loan.terms_set_by_id not in (None, loan.created_by_id):
        terms_set_by = db.session.get(User, loan.terms_set_by_id)
    return CheckerContext(loan, customer, current, history, repayment_record(customer), contact_summary(customer),
                          loan_preview.quote(loan, today), loan.created_by, terms_set_by,
                          loans.approval_refusal(loan, actor) if loan.status == LoanStatus.PENDING else None, today)


@dataclass
class BulkOutcome:
    loan_id: int
    loan_number: str | None
    approved: bool
    reason: str | None = None


def approve_many(loan_ids: list[int], *, actor: User) -> list[BulkOutcome]:
    """Approve each loan on its own: one refused (maker-checker, limit, decided already, not visible)
    leaves the others approved, and says why."""
    permissions.require(actor, "loan.decide")
    outcomes = []
    for loan_id in dict.fromkeys(loan_ids):
        loan = db.session.get(Loan, loan_id)
        try:
            if loan is None:
                raise NotFound("Loan not found.")
            with db.session.begin_nested():
                loans.approve(loan, actor=actor)
        except DomainError as exc:
            hidden = loan is None or not permissions.can_see_customer(actor, loan.customer)
            outcomes.append(BulkOutcome(loan_id, None if hidden else loan.loan_number, False,
                                        "Not found among the loans you may decide." if hidden else exc.message))
        else:
            outcomes.append(BulkOutcome(loan_id, loan.loan_number, True))
    return outcomes
