"""Collections fixtures: two teams of agents and active loans with arrears set exactly."""

from datetime import timedelta
from decimal import Decimal
from itertools import count
from types import SimpleNamespace

import pytest

from portal.models import Frequency, Installment, Interaction, InteractionKind, InterestMethod, Loan, LoanStatus, Role
from portal.models.base import db, utcnow
from portal.services.business_day import today
from tests.factories import CustomerFactory

_numbers = count(1)


@pytest.fixture
def teams(make_user):
    """Team A (manager, caller, officer) and team B (manager, caller, officer), plus an admin."""
    out = SimpleNamespace(admin=make_user(Role.ADMIN))
    for name in ("a", "b"):
        manager = make_user(Role.MANAGER, first_name=f"Manager {name.upper()}")
        setattr(out, f"manager_{name}", manager)
        setattr(out, f"caller_{name}", make_user(Role.CALLING_AGENT, manager_id=manager.id,
                                                 first_name=f"Caller {name.upper()}"))
        setattr(out, f"officer_{name}", make_user(Role.COLLECTION_OFFICER, manager_id=manager.id,
                                                  first_name=f"Officer {name.upper()}"))
    return out


@pytest.fixture
def make_loan():
    """An active loan whose oldest unpaid installment fell due `dpd` days ago with `overdue` owed on it."""

    def make(*, officer=None, caller=None, dpd: int = 0, overdue: str = "1000.00", location: str = "Nairobi",
             status: LoanStatus = LoanStatus.DISBURSED, balance: str = "10000.00", **customer):
        customer = CustomerFactory(assigned_officer_id=officer.id if officer else None, location=location,
                                   **customer)
        day = today()
        loan = Loan(loan_number=f"LNQ{next(_numbers):06d}", customer_id=customer.id, principal=Decimal("10000.00"),
                    annual_rate=Decimal("12"), interest_method=InterestMethod.FLAT, frequency=Frequency.MONTHLY,
                    term_periods=2, application_date=day - timedelta(days=90), status=status,
                    collector_id=caller.id if caller else None, principal_outstanding=Decimal(balance),
                    oldest_unpaid_due=day - timedelta(days=dpd) if dpd else day + timedelta(days=10))
        loan.installments = [
            Installment(number=1, due_date=loan.oldest_unpaid_due, principal_due=Decimal(overdue),
                        interest_due=Decimal("0.00")),
            Installment(number=2, due_date=max(loan.oldest_unpaid_due, day) + timedelta(days=30),
                        principal_due=Decimal("10000.00") - Decimal(overdue), interest_due=Decimal("0.00"))]
        db.session.add(loan)
        db.session.commit()
        return loan
    return make


@pytest.fixture
def log():
    """Record an interaction directly, `days_ago` back (the service only logs for now)."""

    def record(loan, author, *, days_ago: int = 1, disposition: str = "called", **values):
        interaction = Interaction(loan_id=loan.id, kind=InteractionKind.CALLING, created_by_id=author.id,
                                  disposition_code=disposition, created_at=utcnow() - timedelta(days=days_ago),
                                  **values)
        db.session.add(interaction)
        db.session.commit()
        return interaction
    return record
