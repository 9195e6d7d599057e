"""An agent's collection queue: the loans to work today, most urgent first.

A loan is in the queue for the first of these that holds, judged from its latest interaction:
a promise falls due today (or passed unsettled), a promise was broken, a call-back date has come,
or it is in arrears and nobody has worked it today nor has a promise or call-back still ahead.
Working a loan (logging an interaction) is what moves it: the new interaction becomes the latest.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import and_, case, func, not_, or_, select, type_coerce
from sqlalchemy.orm import aliased, selectinload

from portal.models import (
    Customer,
    Installment,
    Interaction,
    Loan,
    LoanStatus,
    PromiseStatus,
    Role,
    User,
)
from portal.models.base import Money, db
from portal.services import permissions
from portal.services.business_day import day_start, today
from portal.services.errors import Forbidden, ValidationFailed
from portal.services.pagination import Page

REASONS = {
    "promise_due": "Promise due",
    "promise_broken": "Promise broken",
    "callback_due": "Call back",
    "new_arrears": "New arrears",
    "overdue": "In arrears",
}
NEW_ARREARS_DAYS = 7
# Days past due per bucket (inclusive); "current" loans are in the queue for a promise or call-back only.
BUCKETS = {"current": (0, 0), "1-30": (1, 30), "31-60": (31, 60), "61-90": (61, 90), "90+": (91, None)}
AGENT_ROLES = (Role.CALLING_AGENT, Role.COLLECTION_OFFICER)


@dataclass
class QueueFilters:
    reason: str | None = None
    bucket: str | None = None
    location: str | None = None
    agent_id: int | None = None  # a manager or admin looking at one agent's queue


@dataclass
class QueueRow:
    loan_id: int
    loan_number: str
    customer_id: int
    customer_name: str
    phone: str | None
    location: str | None
    reason: str
    days_past_due: int
    overdue: Decimal
    principal_outstanding: Decimal
    last_at: object
    last_disposition: str | None
    promise_amount: Decimal | None
    promise_date: date | None
    next_call_date: date | None

    @property
    def reason_label(self) -> str:
        return REASONS[self.reason]


@dataclass
class Queue:
    page: Page
    counts: dict[str, int]
    day: date

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _agent_clause(agent: User):
    """Calling agents work the loans given to them; collection officers their customers' loans."""
    if agent.role == Role.CALLING_AGENT:
        return Loan.collector_id == agent.id
    return Customer.assigned_officer_id == agent.id


def agents_for(actor: User) -> list[User]:
    """The agents whose queues `actor` may look at (a manager's team; every agent for an admin)."""
    stmt = permissions.visible_users(actor).where(User.role.in_(AGENT_ROLES), User.is_active.is_(True))
    return list(db.session.scalars(stmt.order_by(User.first_name, User.last_name, User.id)))


def _scope(actor: User, agent_id: int | None):
    permissions.require(actor, "queue.view")
    if agent_id is not None:
        if not permissions.can(actor, "queue.view_team"):
            raise Forbidden("You can only see your own queue.")
        agent = db.session.scalar(permissions.visible_users(actor).where(User.id == agent_id))
        if agent is None or agent.role not in AGENT_ROLES:
            raise Forbidden("Choose an agent from your team.")
        return _agent_clause(agent)
    if actor.role in AGENT_ROLES:
        return _agent_clause(actor)
    if actor.role == Role.MANAGER:
        team = permissions.team_ids(actor)
        return or_(Loan.collector_id.in_(team), Customer.assigned_officer_id.in_(team))
    return None  # an admin sees every loan


def _candidates(actor: User, filters: QueueFilters, day: date):
    """Every loan in scope with the reason it is in the queue (NULL when it is not), as a subquery."""
    latest = aliased(Interaction)
    latest_id = (select(Interaction.id)
                 .where(Interaction.loan_id == Loan.id, Interaction.deleted_at.is_(None))
                 .order_by(Interaction.created_at.desc(), Interaction.id.desc()).limit(1)
                 .correlate(Loan).scalar_subquery())
    overdue = (select(type_coerce(func.coalesce(func.sum(
        Installment.principal_due + Installment.interest_due + Installment.fee_due + Installment.penalty_due
        - Installment.principal_paid - Installment.interest_paid - Installment.fee_paid - Installment.penalty_paid
    ), 0), Money)).where(Installment.loan_id == Loan.id, Installment.due_date < day).correlate(Loan).scalar_subquery())
    pending = latest.promise_status == PromiseStatus.PENDING
    in_arrears = Loan.oldest_unpaid_due < day
    # Spelled out with IS NOT NULL: a NULL date must read as "nothing ahead", not as SQL's unknown.
    promise_ahead = and_(pending, latest.promise_date.is_not(None), latest.promise_date > day)
    callback_ahead = and_(latest.next_call_date.is_not(None), latest.next_call_date > day)
    worked_today = latest.created_at >= day_start(day)
    untouched = or_(latest.id.is_(None), not_(or_(worked_today, promise_ahead, callback_ahead)))
    reason = case(
        (and_(pending, latest.promise_date <= day), "promise_due"),
        (latest.promise_status == PromiseStatus.BROKEN, "promise_broken"),
        (latest.next_call_date <= day, "callback_due"),
        (and_(in_arrears, untouched, Loan.oldest_unpaid_due >= day - timedelta(days=NEW_ARREARS_DAYS)),
         "new_arrears"),
        (and_(in_arrears, untouched), "overdue"),
    ).label("reason")
    stmt = (select(Loan.id.label("loan_id"), Loan.loan_number, Loan.customer_id, Customer.name.label("customer_name"),
                   Customer.phone, Customer.location, reason, Loan.oldest_unpaid_due, overdue.label("overdue"),
                   Loan.principal_outstanding, latest.created_at.label("last_at"),
                   latest.disposition_code.label("last_disposition"), latest.promise_amount, latest.promise_date,
                   latest.next_call_date)
            .join(Customer, Customer.id == Loan.customer_id)
            .outerjoin(latest, latest.id == latest_id)
            .where(Loan.status == LoanStatus.DISBURSED))
    if (clause := _scope(actor, filters.agent_id)) is not None:
        stmt = stmt.where(clause)
    if filters.location and filters.location.strip():
        stmt = stmt.where(Customer.location.ilike(f"%{filters.location.strip()}%"))
    if filters.bucket:
        if filters.bucket not in BUCKETS:
            raise ValidationFailed({"bucket": [f"Choose one of {', '.join(BUCKETS)}."]})
        low, high = BUCKETS[filters.bucket]
        if high == 0:
            stmt = stmt.where(or_(Loan.oldest_unpaid_due.is_(None), Loan.oldest_unpaid_due >= day))
        else:
            stmt = stmt.where(Loan.oldest_unpaid_due <= day - timedelta(days=low))
            if high is not None:
                stmt = stmt.where(Loan.oldest_unpaid_due >= day - timedelta(days=high))
    return stmt.subquery()


def work_queue(actor: User, filters: QueueFilters, *, page: int = 1, per_page: int = 25) -> Queue:
    """The queue in two queries, whatever the page size: counts per reason, then one page of rows."""
    if filters.reason and filters.reason not in REASONS:
        raise ValidationFailed({"reason": [f"Choose one of {', '.join(REASONS)}."]})
    day = today()
    rows = _candidates(actor, filters, day)
    counts = dict(db.session.execute(
        select(rows.c.reason, func.count()).where(rows.c.reason.is_not(None)).group_by(rows.c.reason)).all())
    counts = {reason: counts.get(reason, 0) for reason in REASONS}
    priority = case({reason: rank for rank, reason in enumerate(REASONS)}, value=rows.c.reason)
    stmt = select(rows).where(rows.c.reason.is_not(None))
    if filters.reason:
        stmt = stmt.where(rows.c.reason == filters.reason)
    page, per_page = max(1, page), min(max(1, per_page), 100)
    stmt = (stmt.order_by(priority, rows.c.oldest_unpaid_due.is_(None), rows.c.oldest_unpaid_due,
                          rows.c.overdue.desc(), rows.c.loan_id)
            .limit(per_page).offset((page - 1) * per_page))
    items = [_row(r, day) for r in db.session.execute(stmt)]
    total = counts[filters.reason] if filters.reason else sum(counts.values())
    return Queue(Page(items, total, page, per_page), counts, day)


def _row(r, day: date) -> QueueRow:
    values = r._asdict()
    due = values.pop("oldest_unpaid_due")
    values["days_past_due"] = max(0, (day - due).days) if due else 0
    return QueueRow(**values)


@dataclass
class LoanContext:
    """What an agent needs on one loan while working it: arrears and the latest interactions."""

    loan: Loan
    overdue_installments: list[Installment]
    next_installment: Installment | None
    interactions: list[Interaction]
    days_past_due: int

    @property
    def overdue_total(self) -> Decimal:
        return sum((i.outstanding for i in self.overdue_installments), Decimal("0.00"))


def loan_context(loan: Loan, *, actor: User, limit: int = 5) -> LoanContext:
    """Called with a loan the actor may see (loans.get_visible); a fixed number of queries."""
    permissions.require(actor, "interaction.view")
    day = today()
    unpaid = [i for i in loan.installments if i.outstanding > 0]
    recent = list(db.session.scalars(
        select(Interaction).where(Interaction.loan_id == loan.id, Interaction.deleted_at.is_(None))
        .options(selectinload(Interaction.disposition), selectinload(Interaction.created_by))
        .order_by(Interaction.created_at.desc(), Interaction.id.desc()).limit(limit)))
    return LoanContext(loan, [i for i in unpaid if i.due_date < day],
                       next((i for i in unpaid if i.due_date >= day), None), recent, loan.days_past_due_on(day))
