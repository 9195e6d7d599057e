"""A loan's ledger in a real browser: a late loan's penalty entry shows the loan's receivable and its share of
the run's one penalty income posting, so that the entry balances on the page."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def test_a_late_loans_penalty_entry_balances_on_its_page(page, live_server):
    sign_in(page, live_server, "manager.east")
    page.goto(f"{live_server}/portal/loans/?status=disbursed")
    latest = max(page.locator("tr[data-loan]").all(),
                 key=lambda row: int(row.locator('td[data-label="Days late"]').inner_text() or 0))
    latest.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/portal/loans/\d+$"))

    share = page.get_by_test_id("pooled-share").first
    expect(share).to_contain_text("4200 Penalty income")
    expect(share).to_contain_text("this loan's part of one posting of KES")
    entry = share.get_attribute("data-entry")
    debit = page.locator(f'tr[data-entry="{entry}"]').first.locator('td[data-label="Debit"]').inner_text()
    assert debit and share.locator('td[data-label="Credit"]').inner_text() == debit
