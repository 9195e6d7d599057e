"""Set-up for the statement tests: the money-core fixtures (staff, KYC'd customers, products, loans through the
real services) reused from tests/money, a second collection officer, and PDF text extraction.

Like the money tests, every test ends with the ledger checked: a statement reads the ledger, and
the data it reads must be the ledger a real run would hold.
"""

import io
from types import SimpleNamespace

import pytest
from pypdf import PdfReader

from portal.models import Role
from tests.money import conftest as money

# The money-core fixtures, registered here by being bound to their names (the ledger check is autouse).
ledger_stays_balanced = money.ledger_stays_balanced
staff = money.staff
make_customer = money.make_customer
make_product = money.make_product
make_loan = money.make_loan


@pytest.fixture
def other_collector(make_user, staff):
    """A collection officer of the same team who is not the customer's."""
    return make_user(Role.COLLECTION_OFFICER, manager_id=staff.manager.id)


@pytest.fixture
def customer(make_customer):
    return make_customer(name="Wanjiru Kamau", phone="+254712345678")


@pytest.fixture
def product(make_product):
    """10.5% declining, 12 monthly installments: the first falls due on 15 Feb 2025 for a loan paid out on START."""
    return make_product(name="Biashara 12")


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
