"""Loans in the portal: the money-core fixtures (staff, KYC'd customers, products, loans, the ledger
checked after every test) reused from tests/money, plus helpers for HTMX requests."""

import re

import pytest

from tests.money.conftest import (  # noqa: F401  fixtures, registered by being imported here
    START,
    customer,
    ledger_stays_balanced,
    make_customer,
    make_loan,
    make_product,
    product,
    rows,
    staff,
)

HX = {"HX-Request": "true"}


@pytest.fixture
def post(client, csrf_token):
    """POST a form as HTMX does (CSRF token in the header, as base.html sends it)."""

    def send(path: str, data: dict | None = None, *, htmx: bool = True):
        headers = {"X-CSRFToken": csrf_token("/portal/loans/")}
        if htmx:
            headers.update(HX)
        return client.post(path, data=data or {}, headers=headers)
    return send


def text(response) -> str:
    """The response's HTML with whitespace collapsed, for asserting on figures and sentences."""
    return re.sub(r"\s+", " ", response.get_data(as_text=True))
