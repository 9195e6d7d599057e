"""The reconciliation queue in a real browser: a manager assigns the demo's payment held in suspense to a loan,
and its row leaves without the page reloading."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

HELD = "SDEMO00001"  # the demo's M-Pesa payment from an unknown number


def test_a_manager_assigns_a_payment_held_in_suspense_to_a_loan(page, live_server):
    sign_in(page, live_server, "manager.east")
    page.goto(f"{live_server}/portal/loans/?status=disbursed")
    loan_number = page.locator("tr[data-loan]").first.get_attribute("data-loan")
    page.get_by_role("link", name="Reconciliation").click()
    expect(page).to_have_url(re.compile(r"/portal/payments/reconciliation$"))
    row = page.locator(f'tr[data-receipt="{HELD}"]')
    expect(row).to_contain_text("1,500.00")
    page.evaluate("window.__same_page = true")  # survives only if nothing reloads the page

    loan_field = row.get_by_label(f"Loan number for {HELD}")
    loan_field.fill("LN00000000")
    row.get_by_role("button", name="Assign").click()
    expect(loan_field).to_have_attribute("aria-invalid", "true")
    expect(row).to_contain_text("There is no loan LN00000000")

    loan_field.fill(loan_number)
    row.get_by_role("button", name="Assign").click()
    expect(row.get_by_test_id("confirm")).to_contain_text(loan_number)
    row.get_by_role("button", name="Confirm").click()

    expect(page.locator(f'tr[data-receipt="{HELD}"]')).to_have_count(0)
    expect(page.locator("#flashes")).to_contain_text(f"Assigned 1,500.00 (M-Pesa {HELD}) to {loan_number}")
    assert page.evaluate("window.__same_page") is True
