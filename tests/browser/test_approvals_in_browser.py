"""Clearing the approvals inbox in a real browser: approve one application, reject another with a reason,
and the inbox on a phone-sized screen."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import fits_width, sign_in

pytestmark = pytest.mark.browser


def _open(page, row):
    loan_number = row.get_attribute("data-loan")
    row.get_by_role("button", name="Review").click()
    panel = page.get_by_test_id(f"decision-{loan_number}")
    expect(panel).to_be_visible()
    return loan_number, panel


def test_a_manager_approves_one_application_and_rejects_another(page, live_server):
    sign_in(page, live_server, "manager.east")
    page.get_by_role("link", name="Approvals").click()
    expect(page).to_have_url(re.compile(r"/portal/loans/approvals$"))
    rows = page.locator("tr[data-loan]")
    expect(rows.first).to_be_visible()
    total = int(page.get_by_test_id("inbox-total").inner_text().split()[0])
    page.evaluate("window.__same_page = true")  # survives only if nothing reloads the page

    approved, panel = _open(page, rows.first)
    expect(panel).to_contain_text("Repayment record")
    expect(panel).to_contain_text("Submitted by")
    panel.get_by_role("button", name=f"Approve {approved}").click()
    expect(page.locator(f'tr[data-loan="{approved}"]')).to_have_count(0)
    expect(page.locator("#flashes")).to_contain_text(f"Approved {approved}")
    expect(page.get_by_test_id("inbox-total")).to_contain_text(f"{total - 1} application")

    rejected, panel = _open(page, rows.first)
    panel.get_by_role("button", name="Reject").click()
    reason = panel.get_by_label("Reason")
    expect(reason).to_have_attribute("aria-invalid", "true")  # a reason is required
    page.get_by_test_id(f"decision-{rejected}").get_by_label("Reason").fill("Stock could not be verified on visit")
    page.get_by_test_id(f"decision-{rejected}").get_by_role("button", name="Reject").click()
    expect(page.locator(f'tr[data-loan="{rejected}"]')).to_have_count(0)
    expect(page.locator("#flashes")).to_contain_text(f"Rejected {rejected}")
    expect(page.locator("#flashes")).to_contain_text("Stock could not be verified on visit")
    expect(page.get_by_test_id("inbox-total")).to_contain_text(f"{total - 2} application")
    assert page.evaluate("window.__same_page") is True

    page.goto(f"{live_server}/portal/loans/?q={approved}")
    page.get_by_role("link", name=approved).click()
    expect(page.get_by_test_id("loan-status")).to_have_text("approved")


def test_the_inbox_fits_a_phone_screen(phone, live_server):
    sign_in(phone, live_server, "manager.east")
    phone.goto(f"{live_server}/portal/loans/approvals")
    rows = phone.locator("tr[data-loan]")
    expect(rows.first.locator('td[data-label="Amount"]')).to_be_visible()
    assert fits_width(phone)
    _open(phone, rows.first)
    assert fits_width(phone)
    phone.goto(f"{live_server}/portal/loans/?status=disbursed")  # and a loan's page, receipt and schedule
    phone.locator("tr[data-loan] a").first.click()
    expect(phone.get_by_test_id("receipt")).to_be_visible()
    assert fits_width(phone)
