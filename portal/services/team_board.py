"""A manager's board: what each agent of the team did today or this month, in a fixed number of queries."""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import case, func, select

from portal.models import (
    ContactOutcome,
    Customer,
    Installment,
    Interaction,
    Loan,
    Payment,
    PaymentStatus,
    PromiseStatus,
    Role,
    User,
)
from portal.models.base import Money, db
from portal.services import permissions
from portal.services.agent_queue import agents_for
from portal.services.business_day import day_start, today
from portal.services.errors import ValidationFailed

ZERO = Decimal("0.00")
PERIODS = ("today", "month")


@dataclass
class AgentFigures:
    agent: User
    interactions: int = 0
    right_party: int = 0
    promises_made: int = 0
    promises_settled: int = 0
    promises_kept: int = 0
    collected: Decimal = ZERO
    due: Decimal = ZERO

    @property
    def kept_rate(self) -> Decimal | None:
        """Share of the promises that fell due in the period and were kept in full."""
        if not self.promises_settled:
            return None
        return (Decimal(self.promises_kept * 100) / self.promises_settled).quantize(Decimal("0.1"))

    @property
    def collection_rate(self) -> Decimal | None:
        if not self.due:
            return None
        return (self.collected * 100 / self.due).quantize(Decimal("0.1"))


@dataclass
class Board:
    period: str
    start: date
    end: date  # exclusive
    agents: list[AgentFigures] = field(default_factory=list)

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def totals(self) -> AgentFigures:
        total = AgentFigures(agent=None)
        for row in self.agents:
            for name in ("interactions", "right_party", "promises_made", "promises_settled", "promises_kept",
                         "collected", "due"):
                setattr(total, name, getattr(total, name) + getattr(row, name))
        return total


def period_bounds(period: str, day: date) -> tuple[date, date]:
    if period == "today":
        return day, day + timedelta(days=1)
    start = day.replace(day=1)
    return start, (start + timedelta(days=32)).replace(day=1)


def _owner_column(role: Role):
    """Whose a loan is: calling agents by the loan's collector, officers by the customer's officer."""
    return Loan.collector_id if role == Role.CALLING_AGENT else Customer.assigned_officer_id


def board(actor: User, period: str = "today") -> Board:
    permissions.require(actor, "queue.view_team")
    if period not in PERIODS:
        raise ValidationFailed({"period": ["Choose today or month."]})
    start, end = period_bounds(period, today())
    result = Board(period, start, end)
    agents = agents_for(actor)
    if not agents:
        return result
    figures = {agent.id: AgentFigures(agent) for agent in agents}
    ids = list(figures)
    since, until = day_start(start), day_start(end)

    logged = select(
        Interaction.created_by_id, func.count(),
        func.sum(case((Interaction.contact_outcome == ContactOutcome.RIGHT_PARTY, 1), else_=0)),
        func.sum(case((Interaction.promise_amount.is_not(None), 1), else_=0)),
    ).where(Interaction.created_by_id.in_(ids), Interaction.deleted_at.is_(None),
            Interaction.created_at >= since, Interaction.created_at < until).group_by(Interaction.created_by_id)
    for agent_id, count, right_party, promised in db.session.execute(logged):
        row = figures[agent_id]
        row.interactions, row.right_party, row.promises_made = count, right_party or 0, promised or 0

    settled = select(
        Interaction.created_by_id, func.count(),
        func.sum(case((Interaction.promise_status == PromiseStatus.KEPT, 1), else_=0)),
    ).where(Interaction.created_by_id.in_(ids), Interaction.deleted_at.is_(None),
            Interaction.promise_status.in_([PromiseStatus.KEPT, PromiseStatus.PARTIALLY_KEPT, PromiseStatus.BROKEN]),
            Interaction.promise_date >= start, Interaction.promise_date < end).group_by(Interaction.created_by_id)
    for agent_id, count, kept in db.session.execute(settled):
        figures[agent_id].promises_settled, figures[agent_id].promises_kept = count, kept or 0

    for role in (Role.CALLING_AGENT, Role.COLLECTION_OFFICER):
        owners = [a.id for a in agents if a.role == role]
        if not owners:
            continue
        owner = _owner_column(role)
        collected = (select(owner, func.sum(Payment.amount))
                     .join(Loan, Loan.id == Payment.loan_id).join(Customer, Customer.id == Loan.customer_id)
                     .where(owner.in_(owners), Payment.status == PaymentStatus.APPLIED,
                            Payment.received_at >= since, Payment.received_at < until).group_by(owner))
        for agent_id, amount in db.session.execute(collected):
            figures[agent_id].collected = amount or ZERO
        due = (select(owner, func.sum(Installment.principal_due + Installment.interest_due + Installment.fee_due
                                      + Installment.penalty_due, type_=Money))
               .join(Loan, Loan.id == Installment.loan_id).join(Customer, Customer.id == Loan.customer_id)
               .where(owner.in_(owners), Installment.due_date >= start, Installment.due_date < end)
               .group_by(owner))
        for agent_id, amount in db.session.execute(due):
            figures[agent_id].due = amount or ZERO
    result.agents = list(figures.values())
    return result
