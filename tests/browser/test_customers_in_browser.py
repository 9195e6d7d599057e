"""Real-browser runs through the portal: sign in, search, open; create with an error then fix it."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import fits_width, sign_in

pytestmark = pytest.mark.browser


def test_sign_in_search_a_customer_and_open_them(page, live_server):
    sign_in(page, live_server, "officer.kamau")
    expect(page.get_by_test_id("tile-customers")).to_have_text("121")
    page.get_by_role("link", name="Customers", exact=True).click()
    page.wait_for_load_state()  # htmx wires the search box once the page has loaded: typing earlier searches nothing
    page.get_by_label("Search customers").fill("0722 000 111")  # the demo borrower's phone, typed locally
    expect(page.get_by_test_id("result-count")).to_have_text(re.compile(r"^\s*1 customer\s"))  # not "121 customers"
    expect(page).to_have_url(re.compile(r"q=0722"))  # active search keeps the URL shareable
    page.get_by_role("link", name="Wanjiku Demo").click()
    expect(page.get_by_role("heading", name=re.compile("Wanjiku Demo"))).to_be_visible()
    expect(page.get_by_text("+254 722 000111")).to_be_visible()


def test_create_customer_with_invalid_phone_then_fix_it(page, live_server):
    sign_in(page, live_server, "officer.akinyi")
    page.goto(f"{live_server}/portal/customers/new")
    page.get_by_label("Full name").fill("Neema Browser")
    page.get_by_label("Phone").fill("12345")
    page.get_by_role("button", name="Create customer").click()
    phone = page.get_by_label("Phone")
    expect(phone).to_have_attribute("aria-invalid", "true")
    expect(phone).to_be_focused()  # on a phone the error would otherwise be off-screen
    expect(page.locator("#phone-error")).to_contain_text("phone number")
    phone.fill("0733 123 456")
    page.get_by_role("button", name="Create customer").click()
    expect(page.get_by_role("heading", name=re.compile("Neema Browser"))).to_be_visible()
    expect(page.get_by_text("created.")).to_be_visible()


def test_phone_sized_screen_shows_the_customer_list_as_cards(phone, live_server):
    sign_in(phone, live_server, "caller.achieng")
    phone.goto(f"{live_server}/portal/customers/")
    first_row = phone.locator("table.table-stack tbody tr").first
    expect(first_row.locator('td[data-label="Phone"]')).to_be_visible()
    assert fits_width(phone)
