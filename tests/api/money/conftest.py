"""Set-up for the money endpoints' contract tests (000 transactions and loan details, 001 lending,
003 loans): a team of staff, customers at a KYC level, products and loans in a chosen state.

Loans and products are made through the services (as the portal would) and committed, so a
request that fails and rolls back cannot take them with it. Every test ends with the ledger
checked: whatever the API did, each journal entry balances and every cached balance agrees.
"""

from decimal import Decimal
from itertools import count
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from portal.models import Customer, DisbursementChannel, KycLevel, Loan, Payment, Role
from portal.models.base import db as _db
from portal.services import ledger, loans, products, savings
from tests import factories

D = Decimal


@pytest.fixture(autouse=True)
def ledger_stays_balanced(db):
    yield
    db.session.rollback()  # only what the requests (and set-up) committed is checked
    report = ledger.verify()
    assert report.ok, report.breaches


@pytest.fixture
def staff(make_user):
    """An admin; a manager with a loan officer and two collection officers under them; a calling
    agent; a manager of another team, with their own collection officer."""
    manager = make_user(Role.MANAGER)
    outside_manager = make_user(Role.MANAGER)
    return SimpleNamespace(
        admin=make_user(Role.ADMIN),
        manager=manager,
        loan_officer=make_user(Role.LOAN_OFFICER, manager_id=manager.id),
        collector=make_user(Role.COLLECTION_OFFICER, manager_id=manager.id),
        other_collector=make_user(Role.COLLECTION_OFFICER, manager_id=manager.id),
        calling_agent=make_user(Role.CALLING_AGENT),
        outside_manager=outside_manager,
        outside_collector=make_user(Role.COLLECTION_OFFICER, manager_id=outside_manager.id),
    )


@pytest.fixture
def new_customer(staff):
    """A customer of the manager's team (created by its loan officer, assigned to its first collector)."""

    def make(kyc: KycLevel = KycLevel.TIER_2, **kwargs) -> Customer:
        kwargs.setdefault("created_by_id", staff.loan_officer.id)
        kwargs.setdefault("assigned_officer_id", staff.collector.id)
        return factories.CustomerFactory(kyc_level=kyc, **kwargs)
    return make


@pytest.fixture
def outside_customer(staff, new_customer):
    """A customer of the other team: the manager and the team's collectors cannot see them."""
    return new_customer(created_by_id=staff.outside_manager.id, assigned_officer_id=staff.outside_collector.id)


@pytest.fixture
def borrower(make_user, new_customer):
    """A mama_mboga: a borrower login and the customer record linked to it (user_id set)."""
    user = make_user(Role.BORROWER)
    customer = new_customer(kyc=KycLevel.TIER_1, user_id=user.id)
    return SimpleNamespace(user=user, customer=customer)


_product_numbers = count(1)


@pytest.fixture
def make_product(staff):
    """A product through the service. Defaults: interest-free, 12 monthly installments, 1,000 to
    1,000,000, no fee, so what is owed is exactly the principal and each installment a twelfth."""

    def make(**overrides):
        values = {"name": f"Money API product {next(_product_numbers)}", "interest_method": "declining",
                  "annual_rate": "0", "frequency": "monthly", "term_periods": 12, "min_principal": "1000",
                  "max_principal": "1000000", "fee_type": "fixed", "fee_value": "0", "fee_mode": "deducted",
                  "penalty_rate": "0", "grace_days": 0}
        values.update(overrides)
        product = products.create(values, actor=staff.admin)
        _db.session.commit()
        return product
    return make


@pytest.fixture
def product(make_product):
    return make_product()


@pytest.fixture
def one_month_product(make_product):
    """12% a year, one monthly installment: 10,000 lent is 10,100.00 owed (10,000 + 1% interest)."""
    return make_product(annual_rate="12", term_periods=1)


@pytest.fixture
def make_loan(staff, product):
    """A loan applied for by the team's loan officer, then (as asked) approved by the manager
    and disbursed by the loan officer, committed."""

    def make(customer, principal="12000", *, state="disbursed", product=product, creator=None,
             channel=DisbursementChannel.MPESA) -> Loan:
        loan = loans.apply(customer, {"product_id": product.id, "principal": principal},
                           actor=creator or staff.loan_officer)
        if state in ("approved", "disbursed"):
            loans.approve(loan, actor=staff.admin)
        if state == "disbursed":
            loans.disburse(loan, channel, actor=staff.loan_officer)
        elif state == "rejected":
            loans.reject(loan, "Not enough trading history.", actor=staff.admin)
        _db.session.commit()
        return loan
    return make


@pytest.fixture
def fund(staff):
    """Put `amount` into a customer's savings (through the service), committed."""

    def deposit(customer, amount):
        savings.deposit(customer, amount, source="mpesa", actor=staff.loan_officer)
        _db.session.commit()
    return deposit


def savings_balance(customer) -> Decimal:
    _db.session.expire_all()
    return savings.balance_of(customer)


def owed(loan) -> Decimal:
    """What the ledger says the borrower still owes on `loan`."""
    _db.session.expire_all()
    return loans.outstanding(loan)


def payments_with_receipt(receipt: str) -> int:
    return _db.session.scalar(select(func.count()).select_from(Payment).where(Payment.receipt == receipt))
