"""Clearing the KYC queue in a real browser: documents shown inline, approve one submission with a tier, reject
another with a reason, and the queue on a phone-sized screen."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import fits_width, sign_in

pytestmark = pytest.mark.browser


def _open(page, row):
    page.wait_for_load_state()  # htmx wires the Review buttons once the page has loaded: a click before does nothing
    code = row.get_attribute("data-customer")
    row.get_by_role("button", name="Review").click()
    panel = page.get_by_test_id(f"review-{code}")
    expect(panel).to_be_visible()
    return code, panel


def _total(page) -> int:
    return int(page.get_by_test_id("kyc-total").inner_text().split()[0].replace(",", ""))


def test_a_manager_approves_a_kyc_submission_with_a_tier_and_rejects_another(page, live_server):
    sign_in(page, live_server, "manager.east")
    page.get_by_role("link", name="KYC", exact=True).click()
    expect(page).to_have_url(re.compile(r"/portal/kyc/$"))
    rows = page.locator("tr[data-submission]")
    expect(rows.first).to_be_visible()
    total = _total(page)
    expect(page.locator("tr[data-submission]", has_text="ID number held by another customer")).to_have_count(1)
    page.evaluate("window.__same_page = true")  # survives only if nothing reloads the page

    clean = page.locator('tr[data-submission][data-flags="0"]')  # the flagged one is left for the phone test
    code, panel = _open(page, clean.first)
    image = panel.locator("img.kyc-preview").first
    expect(image).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    expect(panel).to_contain_text("National ID")
    history = panel.get_by_role("link", name="Earlier KYC decisions").get_attribute("href")
    panel.get_by_role("button", name="Approve").click()  # nothing chosen: told why, in place
    expect(panel).to_contain_text("Choose the tier")
    panel = page.get_by_test_id(f"review-{code}")
    panel.get_by_label(re.compile(r"^Tier 2")).check()
    panel.get_by_label(re.compile(r"^National ID")).check()
    panel.get_by_label("Notes").first.fill("ID matches the record")
    panel.get_by_role("button", name="Approve").click()
    expect(page.locator(f'tr[data-customer="{code}"]')).to_have_count(0)
    expect(page.locator("#flashes")).to_contain_text("at KYC tier 2")
    expect(page.get_by_test_id("kyc-total")).to_contain_text(f"{total - 1} submission")

    rejected, panel = _open(page, clean.first)
    panel.get_by_label("Reason").fill("The selfie does not match the ID photo")
    panel.get_by_role("button", name="Reject").click()
    expect(page.locator(f'tr[data-customer="{rejected}"]')).to_have_count(0)
    expect(page.locator("#flashes")).to_contain_text("The selfie does not match the ID photo")
    expect(page.get_by_test_id("kyc-total")).to_contain_text(f"{total - 2} submission")
    assert page.evaluate("window.__same_page") is True

    page.goto(f"{live_server}{history}")
    expect(page.get_by_test_id("kyc-status")).to_have_text("verified, tier 2")


def test_the_kyc_queue_fits_a_phone_screen(phone, live_server):
    sign_in(phone, live_server, "manager.west")
    phone.goto(f"{live_server}/portal/kyc/")
    rows = phone.locator("tr[data-submission]")
    expect(rows.first.locator('td[data-label="Submitted"]')).to_be_visible()
    assert fits_width(phone)
    _, panel = _open(phone, phone.locator("tr[data-submission]", has_text="ID number held by another customer"))
    expect(panel.locator("figure").first).to_be_visible()
    expect(panel.get_by_test_id("flags")).to_be_visible()
    assert fits_width(phone)
