"""Who may do what: role -> actions, and the per-object visibility rules.

The portal and every API surface ask this module; nothing else decides.
"""

from sqlalchemy import or_, select
from sqlalchemy.sql import Select

from portal.models import Customer, Role, User
from portal.models.base import db
from portal.services.errors import Forbidden

A, M, LO, CO, CA, B = (Role.ADMIN, Role.MANAGER, Role.LOAN_OFFICER, Role.COLLECTION_OFFICER,
                       Role.CALLING_AGENT, Role.BORROWER)

ACTIONS: dict[str, frozenset[Role]] = {
    "customer.view": frozenset({A, M, LO, CO, CA, B}),
    "customer.create": frozenset({A, M, LO, CO}),
    "customer.update": frozenset({A, M, LO, CO}),
    "customer.delete": frozenset({A}),
    "customer.assign": frozenset({A, M}),
    # Pick the officer while creating (a collection officer's own customers are theirs already).
    "customer.choose_officer": frozenset({A, M, LO}),
    # Documents and KYC: borrowers for themselves (the visibility rules see to that), staff for their customers.
    "document.upload": frozenset({A, M, LO, CO, B}),
    "kyc.submit": frozenset({A, M, LO, CO, B}),
    "kyc.review": frozenset({A, M}),
    "user.list": frozenset({A, M}),
    "user.create_staff": frozenset({A, M}),
    "apilog.view": frozenset({A}),
    # Money: borrowers act on their own record only (the visibility rules see to that).
    "money.deposit": frozenset({A, M, LO, B}),
    "money.withdraw": frozenset({A, M, LO, B}),
    "product.view": frozenset({A, M, LO, CO, CA, B}),
    "product.manage": frozenset({A, M}),
    "loan.view": frozenset({A, M, LO, CO, CA, B}),
    "loan.apply": frozenset({A, M, LO, B}),
    "loan.edit_pending": frozenset({A, M, LO}),
    "loan.decide": frozenset({A, M}),
    "loan.disburse": frozenset({A, M, LO}),
    "loan.write_off": frozenset({A, M}),
    "repayment.record": frozenset({A, M, LO, CO, B}),
    "repayment.reverse": frozenset({A, M}),
    "repayment.reconcile": frozenset({A, M}),
    "repayment.webhook": frozenset({A, M, LO}),
    # 003: calling agents log calls; collection officers log field visits; managers and admins either.
    "interaction.calling": frozenset({A, M, CA}),
    "interaction.field": frozenset({A, M, CO}),
    "interaction.view": frozenset({A, M, LO, CO, CA}),
    "interaction.edit_any": frozenset({A, M}),
    # Collections workspace: agents work their own queue; managers watch and reassign their team's.
    "queue.view": frozenset({A, M, CO, CA}),
    "queue.view_team": frozenset({A, M}),
    "collections.assign": frozenset({A, M}),
    "audit.view": frozenset({A}),
}

# Roles a manager may create: below themselves, never admin or another manager.
MANAGER_CREATABLE = frozenset({LO, CO, CA, B})


def can(actor: User, action: str) -> bool:
    return actor.is_active and actor.role in ACTIONS[action]


def require(actor: User, action: str) -> None:
    if not can(actor, action):
        raise Forbidden("You do not have permission to perform this action.")


def team_ids(manager: User) -> Select:
    """Ids of a manager and the staff who report to them."""
    return select(User.id).where(or_(User.id == manager.id, User.manager_id == manager.id))


def visible_customers(actor: User) -> Select:
    """A SELECT of the customers `actor` may see (003's rules, extended to every role)."""
    query = select(Customer)
    if actor.role in (A, CA, LO):
        return query
    if actor.role == M:
        team = team_ids(actor)
        return query.where(or_(Customer.assigned_officer_id.in_(team), Customer.created_by_id.in_(team)))
    if actor.role == CO:
        return query.where(Customer.assigned_officer_id == actor.id)
    return query.where(Customer.user_id == actor.id)


def visible_loans(actor: User) -> Select:
    """A SELECT of the loans `actor` may see: those of the customers they may see."""
    from portal.models import Loan

    query = select(Loan)
    if actor.role in (A, CA, LO):
        return query
    return query.where(Loan.customer_id.in_(visible_customers(actor).with_only_columns(Customer.id)))


def can_see_customer(actor: User, customer: Customer) -> bool:
    if actor.role in (A, CA, LO):
        return True
    if actor.role == CO:
        return customer.assigned_officer_id == actor.id
    if actor.role == B:
        return customer.user_id == actor.id
    stmt = visible_customers(actor).where(Customer.id == customer.id).with_only_columns(Customer.id)
    return db.session.scalar(stmt) is not None


def can_create_role(actor: User | None, role: Role) -> bool:
    """Anyone may self-register as a borrower; staff roles need an admin, or a manager for juniors."""
    if role == B:
        return True
    if actor is None or not can(actor, "user.create_staff"):
        return False
    return actor.role == A or role in MANAGER_CREATABLE


def visible_users(actor: User) -> Select:
    query = select(User)
    if actor.role == A:
        return query
    if actor.role == M:
        return query.where(User.id.in_(team_ids(actor)))
    return query.where(User.id == actor.id)
