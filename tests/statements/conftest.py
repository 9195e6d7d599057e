"""Set-up for the statement tests: a team of staff, a customer, a 10.5% declining 12-month product,
loans through the real services, and PDF text extraction.

Like the money tests, every test ends with the ledger checked: a statement reads the ledger, and
the data it reads must be the ledger a real run would hold.
"""

import io
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
from pypdf import PdfReader

from portal.models import DisbursementChannel, KycLevel, Role
from portal.services import ledger, loans, products
from tests import factories

START = date(2025, 1, 15)  # disbursement day: the first monthly installment falls due on 15 Feb 2025
D = Decimal


@pytest.fixture(autouse=True)
def ledger_stays_balanced(db):
    yield
    report = ledger.verify()
    assert report.ok, report.breaches


@pytest.fixture
def staff(make_user):
    """An admin; a manager with a loan officer and two collection officers under them."""
    manager = make_user(Role.MANAGER)
    return SimpleNamespace(
        admin=make_user(Role.ADMIN),
        manager=manager,
        loan_officer=make_user(Role.LOAN_OFFICER, manager_id=manager.id),
        collector=make_user(Role.COLLECTION_OFFICER, manager_id=manager.id),
        other_collector=make_user(Role.COLLECTION_OFFICER, manager_id=manager.id),
    )


@pytest.fixture
def make_customer(staff):
    def make(**kwargs):
        kwargs.setdefault("created_by_id", staff.loan_officer.id)
        kwargs.setdefault("assigned_officer_id", staff.collector.id)
        return factories.CustomerFactory(kyc_level=KycLevel.TIER_2, **kwargs)
    return make


@pytest.fixture
def customer(make_customer):
    return make_customer(name="Wanjiru Kamau", phone="+254712345678")


@pytest.fixture
def product(staff):
    return products.create({
        "name": "Biashara 12", "interest_method": "declining", "annual_rate": "10.5", "frequency": "monthly",
        "term_periods": 12, "min_principal": "1000", "max_principal": "1000000", "fee_type": "fixed",
        "fee_value": "0", "fee_mode": "deducted", "penalty_rate": "0", "grace_days": 0}, actor=staff.admin)


@pytest.fixture
def make_loan(staff, product):
    """Apply, approve and disburse a loan through the services."""

    def make(customer, principal="50000", *, channel=DisbursementChannel.MPESA, on=START, disburse=True):
        loan = loans.apply(customer, {"product_id": product.id, "principal": principal}, actor=staff.loan_officer)
        loans.approve(loan, actor=staff.manager)
        if disburse:
            loans.disburse(loan, channel, actor=staff.loan_officer, on=on)
        return loan
    return make


@pytest.fixture
def loan(make_loan, customer):
    return make_loan(customer)


def pdf_text(data: bytes) -> str:
    """All the text of a PDF, pages joined, whitespace runs made single spaces."""
    assert data.startswith(b"%PDF-"), data[:20]
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


@pytest.fixture
def pdf():
    return SimpleNamespace(text=pdf_text, reader=lambda data: PdfReader(io.BytesIO(data)))
