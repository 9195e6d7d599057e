"""Shared set-up for the money-core tests: a team of staff, KYC'd customers, products and loans.

Every money test ends with the ledger checked (`ledger.verify()`), unless it asks for the
`tampers_ledger` fixture because breaking the ledger is what it tests.
"""

from datetime import date
from decimal import Decimal
from itertools import count
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from portal.models import DisbursementChannel, KycLevel, Role
from portal.models.base import db as _db
from portal.services import ledger, loans, products
from tests import factories

# Disbursement day used throughout: the first monthly installment falls due on 15 Feb 2025.
START = date(2025, 1, 15)
D = Decimal


@pytest.fixture
def tampers_ledger():
    """Requested by tests that break the ledger on purpose: skips the end-of-test verify."""
    return True


@pytest.fixture(autouse=True)
def ledger_stays_balanced(request, db):
    yield
    if "tampers_ledger" not in request.fixturenames:
        report = ledger.verify()
        assert report.ok, report.breaches


@pytest.fixture
def staff(make_user):
    """An admin; a manager with a loan officer and a collection officer under them; an outside manager."""
    manager = make_user(Role.MANAGER)
    return SimpleNamespace(
        admin=make_user(Role.ADMIN),
        manager=manager,
        loan_officer=make_user(Role.LOAN_OFFICER, manager_id=manager.id),
        collector=make_user(Role.COLLECTION_OFFICER, manager_id=manager.id),
        outside_manager=make_user(Role.MANAGER),
    )


@pytest.fixture
def make_customer(staff):
    """A customer created by the team's loan officer and assigned to its collector (so the manager sees them)."""

    def make(kyc: KycLevel = KycLevel.TIER_2, **kwargs):
        kwargs.setdefault("created_by_id", staff.loan_officer.id)
        kwargs.setdefault("assigned_officer_id", staff.collector.id)
        return factories.CustomerFactory(kyc_level=kyc, **kwargs)
    return make


@pytest.fixture
def customer(make_customer):
    return make_customer(phone="+254712345678")


_product_numbers = count(1)


@pytest.fixture
def make_product(staff):
    """A product through the products service: 10.5% declining, 12 monthly, 1,000 to 1,000,000, no fee."""

    def make(**overrides):
        values = {"name": f"Product {next(_product_numbers)}", "interest_method": "declining",
                  "annual_rate": "10.5", "frequency": "monthly", "term_periods": 12,
                  "min_principal": "1000", "max_principal": "1000000", "fee_type": "fixed", "fee_value": "0",
                  "fee_mode": "deducted", "penalty_rate": "0", "grace_days": 0}
        values.update(overrides)
        return products.create(values, actor=staff.admin)
    return make


@pytest.fixture
def product(make_product):
    return make_product()


@pytest.fixture
def make_loan(staff, product):
    """Apply (loan officer), approve (manager) and disburse (loan officer) a loan, stopping where asked."""

    def make(customer, principal="50000", *, product=product, channel=DisbursementChannel.MPESA, on=START,
             approve=True, disburse=True):
        loan = loans.apply(customer, {"product_id": product.id, "principal": principal}, actor=staff.loan_officer)
        if approve:
            loans.approve(loan, actor=staff.manager)
        if approve and disburse:
            loans.disburse(loan, channel, actor=staff.loan_officer, on=on)
        return loan
    return make


@pytest.fixture
def rows():
    """How many rows of `model` match the conditions."""

    def count_rows(model, *where) -> int:
        return _db.session.scalar(select(func.count()).select_from(model).where(*where))
    return count_rows
