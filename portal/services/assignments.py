"""Who works what: managers hand loans to calling agents and customers to collection officers."""

from portal.models import Customer, Loan, LoanStatus, Role, User
from portal.models.base import db
from portal.services import audit, customers, permissions
from portal.services.errors import NotFound, ValidationFailed

MAX_BATCH = 500


def _agent(agent_id, role: Role, actor: User, field: str) -> User:
    agent = db.session.scalar(permissions.visible_users(actor).where(User.id == agent_id)) if agent_id else None
    if agent is None or agent.role != role or not agent.is_active:
        what = "calling agent" if role == Role.CALLING_AGENT else "collection officer"
        raise ValidationFailed({field: [f"Choose an active {what} from your team."]})
    return agent


def _ids(raw_ids, field: str) -> list[int]:
    ids = sorted({int(i) for i in raw_ids})
    if not ids:
        raise ValidationFailed({field: ["Select at least one."]})
    if len(ids) > MAX_BATCH:
        raise ValidationFailed({field: [f"Reassign at most {MAX_BATCH} at a time."]})
    return ids


def assign_loans(loan_ids, agent_id, *, actor: User) -> int:
    """Give active loans to a calling agent of the actor's team; every change gets an audit row."""
    permissions.require(actor, "collections.assign")
    agent = _agent(agent_id, Role.CALLING_AGENT, actor, "agent_id")
    ids = _ids(loan_ids, "loan_ids")
    found = list(db.session.scalars(permissions.visible_loans(actor).where(Loan.id.in_(ids))
                                    .with_for_update()))
    if len(found) != len(ids):
        raise NotFound("Some of the selected loans are not yours to reassign.")
    if inactive := [loan.loan_number for loan in found if loan.status != LoanStatus.DISBURSED]:
        raise ValidationFailed({"loan_ids": [f"Only active loans are worked; not {', '.join(inactive)}."]})
    changed = 0
    for loan in found:
        if loan.collector_id != agent.id:
            audit.record(actor, "loan.assign_collector", "loan", loan.id, before={"collector_id": loan.collector_id},
                         after={"collector_id": agent.id})
            loan.collector_id = agent.id
            changed += 1
    db.session.flush()
    return changed


def assign_customers(customer_ids, officer_id, *, actor: User) -> int:
    """Give customers to a collection officer, through the customers service's own assignment rules."""
    permissions.require(actor, "collections.assign")
    officer = _agent(officer_id, Role.COLLECTION_OFFICER, actor, "officer_id")
    ids = _ids(customer_ids, "customer_ids")
    found = list(db.session.scalars(permissions.visible_customers(actor).where(Customer.id.in_(ids))))
    if len(found) != len(ids):
        raise NotFound("Some of the selected customers are not yours to reassign.")
    changed = 0
    for customer in found:
        if customer.assigned_officer_id != officer.id:
            customers.update(customer, {"assigned_officer_id": officer.id}, actor=actor)
            changed += 1
    return changed
