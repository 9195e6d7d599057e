"""What a customer's page shows beyond the profile: loans with schedules and arrears, payments, and the
collection timeline. Each read runs a fixed number of queries however many rows there are."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import contains_eager, joinedload

from portal.models import Customer, Installment, Interaction, Loan, Payment, User
from portal.models.base import db
from portal.services import customers, loan_book, loans, permissions, repayments
from portal.services.pagination import Page, paginate

LOANS_PER_PAGE = 10
ROWS_PER_PAGE = 25


@dataclass
class LoanPosition:
    loan: Loan
    schedule: list[tuple[Installment, str]]  # each installment with its state: paid, partial, overdue, pending
    outstanding: Decimal  # what the schedule says is still owed
    overdue: Decimal      # of which past its due date
    days_past_due: int


def loan_positions(customer: Customer, *, actor: User, today: date, page: int = 1) -> Page:
    """The customer's loans, newest first, with their installments loaded and arrears worked out."""
    customers.ensure_visible(customer, actor)
    found = loans.search(loans.LoanFilters(customer_id=customer.id), actor=actor, page=page,
                         per_page=LOANS_PER_PAGE)
    found.items = [_position(loan, today) for loan in found.items]
    return found


def _position(loan: Loan, today: date) -> LoanPosition:
    states, overdue = loan_book.schedule(loan, today)
    return LoanPosition(loan, states, loan.outstanding_balance, overdue, loan.days_past_due_on(today))


def payments(customer: Customer, *, actor: User, page: int = 1) -> Page:
    """Payments from the customer or on their loans, newest first."""
    permissions.require(actor, "loan.view")
    customers.ensure_visible(customer, actor)
    own_loans = select(Loan.id).where(Loan.customer_id == customer.id)
    stmt = (repayments.visible_payments(actor)
            .where(or_(Payment.customer_id == customer.id, Payment.loan_id.in_(own_loans)))
            .options(joinedload(Payment.loan)))
    return paginate(stmt, page, ROWS_PER_PAGE)


@dataclass
class TimelineEntry:
    interaction: Interaction
    author: User | None


def timeline(customer: Customer, *, actor: User, page: int = 1) -> Page:
    """Calls and visits on the customer's loans, newest first, each with its author (deleted ones stay hidden)."""
    permissions.require(actor, "interaction.view")
    customers.ensure_visible(customer, actor)
    stmt = (select(Interaction).join(Interaction.loan)
            .where(Loan.customer_id == customer.id, Interaction.deleted_at.is_(None))
            .options(contains_eager(Interaction.loan), joinedload(Interaction.disposition))
            .order_by(Interaction.created_at.desc(), Interaction.id.desc()))
    found = paginate(stmt, page, ROWS_PER_PAGE)
    author_ids = {i.created_by_id for i in found.items if i.created_by_id is not None}
    authors = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(author_ids)))} if author_ids else {}
    found.items = [TimelineEntry(i, authors.get(i.created_by_id)) for i in found.items]
    return found
