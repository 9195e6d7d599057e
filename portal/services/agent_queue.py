"""An agent's collection queue: the loans to work today, most urgent first.

A loan is in the queue for the first of these that holds, judged from its latest interaction:
a promise falls due today (or passed unsettled), a promise was broken, a call-back date has come,
or it is in arrears and nobody has worked it today nor has a promise or call-back still ahead.
Working a loan (logging an interaction) is what moves it: the new interaction becomes the latest.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import and_, case, func, not_, or_, select, true, type_coerce
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
RANK = {reason: rank for rank, reason in enumerate(REASONS)}
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


def _latest_interaction(stmt):
    """Join each loan's latest live interaction onto `stmt` (outer): LATERAL on PostgreSQL, where a
    correlated id lookup becomes a hash join over every interaction; that lookup on SQLite, which has
    no LATERAL and plans it per loan through the (loan_id, created_at) index."""
    newest_first = (Interaction.created_at.desc(), Interaction.id.desc())
    live = (Interaction.loan_id == Loan.id, Interaction.deleted_at.is_(None))
    if db.session.get_bind().dialect.name == "postgresql":
        lateral = select(Interaction).where(*live).order_by(*newest_first).limit(1).lateral("latest")
        return stmt.outerjoin(lateral, true()), aliased(Interaction, lateral)
    latest = aliased(Interaction, name="latest")
    latest_id = select(Interaction.id).where(*live).order_by(*newest_first).limit(1).correlate(Loan).scalar_subquery()
    return stmt.outerjoin(latest, latest.id == latest_id), latest


def _reason(latest, day: date):
    """Why a loan is in the queue today (NULL when it is not), from its latest interaction."""
    pending = latest.promise_status == PromiseStatus.PENDING
    in_arrears = Loan.oldest_unpaid_due < day
    # Spelled out with IS NOT NULL: a NULL date must read as "nothing ahead", not as SQL's unknown.
    promise_ahead = and_(pending, latest.promise_date.is_not(None), latest.promise_date > day)
    callback_ahead = and_(latest.next_call_date.is_not(None), latest.next_call_date > day)
    worked_today = latest.created_at >= day_start(day)
    untouched = or_(latest.id.is_(None), not_(or_(worked_today, promise_ahead, callback_ahead)))
    return case(
        (and_(pending, latest.promise_date <= day), "promise_due"),
        (latest.promise_status == PromiseStatus.BROKEN, "promise_broken"),
        (latest.next_call_date <= day, "callback_due"),
        (and_(in_arrears, untouched, Loan.oldest_unpaid_due >= day - timedelta(days=NEW_ARREARS_DAYS)),
         "new_arrears"),
        (and_(in_arrears, untouched), "overdue"),
    ).label("reason")


def _queued(actor: User, filters: QueueFilters, day: date) -> list:
    """(loan_id, reason, oldest_unpaid_due, principal_outstanding) of every loan in scope that is in the queue."""
    stmt, latest = _latest_interaction(
        select(Loan.id).join(Customer, Customer.id == Loan.customer_id).where(Loan.status == LoanStatus.DISBURSED))
    reason = _reason(latest, day)
    stmt = stmt.add_columns(reason, Loan.oldest_unpaid_due, Loan.principal_outstanding)
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
    return db.session.execute(stmt.where(reason.is_not(None))).all()


def _page_rows(loan_ids: list[int], day: date) -> dict[int, QueueRow]:
    """What the queue shows of the loans on one page, with the amount overdue summed for those alone."""
    overdue = (select(type_coerce(func.coalesce(func.sum(
        Installment.principal_due + Installment.interest_due + Installment.fee_due + Installment.penalty_due
        - Installment.principal_paid - Installment.interest_paid - Installment.fee_paid - Installment.penalty_paid
    ), 0), Money)).where(Installment.loan_id == Loan.id, Installment.due_date < day).correlate(Loan).scalar_subquery())
    stmt, latest = _latest_interaction(
        select(Loan.id.label("loan_id"), Loan.loan_number, Loan.customer_id, Customer.name.label("customer_name"),
               Customer.phone, Customer.location).join(Customer, Customer.id == Loan.customer_id))
    stmt = stmt.add_columns(
        _reason(latest, day), Loan.oldest_unpaid_due, overdue.label("overdue"), Loan.principal_outstanding,
        latest.created_at.label("last_at"), latest.disposition_code.label("last_disposition"),
        latest.promise_amount, latest.promise_date, latest.next_call_date).where(Loan.id.in_(loan_ids))
    return {r.loan_id: _row(r, day) for r in db.session.execute(stmt)}


def work_queue(actor: User, filters: QueueFilters, *, page: int = 1, per_page: int = 25) -> Queue:
    """The queue in two queries, whatever the page size: every queued loan's sort keys (the counts and
    the order come from them), then what is shown of one page of loans."""
    if filters.reason and filters.reason not in REASONS:
        raise ValidationFailed({"reason": [f"Choose one of {', '.join(REASONS)}."]})
    day = today()
    queued = _queued(actor, filters, day)
    counts = Counter(row.reason for row in queued)
    counts = {reason: counts.get(reason, 0) for reason in REASONS}
    chosen = [row for row in queued if not filters.reason or row.reason == filters.reason]
    # Most urgent reason; then longest overdue; then the largest balance.
    chosen.sort(key=lambda r: (RANK[r.reason], r.oldest_unpaid_due is None, r.oldest_unpaid_due or date.max,
                               -r.principal_outstanding, r.id))
    page, per_page = max(1, page), min(max(1, per_page), 100)
    ids = [row.id for row in chosen[(page - 1) * per_page:page * per_page]]
    shown = _page_rows(ids, day) if ids else {}
    return Queue(Page([shown[i] for i in ids if i in shown], len(chosen), page, per_page), counts, day)


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
