"""Working the queue in a real browser: open a loan inline, log a promise to pay, watch the row move."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import fits_width, sign_in

pytestmark = pytest.mark.browser


def test_a_calling_agent_works_the_queue_without_a_page_reload(page, live_server):
    sign_in(page, live_server, "caller.achieng")
    expect(page).to_have_url(re.compile(r"/portal/collections/$"))
    rows = page.locator("tr[data-loan]")
    expect(rows.first).to_be_visible()
    total_before = int(page.get_by_test_id("queue-total").inner_text().split()[0])
    row = rows.first
    loan_number = row.get_attribute("data-loan")
    page.evaluate("window.__same_page = true")  # survives only if nothing reloads the page
    row.locator("a.fw-semibold").click()
    panel = page.get_by_test_id(f"panel-{loan_number}")
    expect(panel.get_by_role("link", name=re.compile("^Call "))).to_be_visible()
    panel.get_by_label("Outcome").select_option("promise_to_pay")
    panel.get_by_label("Who answered").select_option("right_party")
    panel.get_by_role("button", name="Save").click()
    expect(panel.locator("#promise_amount-error")).to_contain_text("needs an amount and a date")
    tomorrow = page.evaluate("new Date(Date.now() + 2 * 864e5).toISOString().slice(0, 10)")
    panel.get_by_label("Promised amount").fill("1500")
    panel.get_by_label("Promised by").fill(tomorrow)
    panel.get_by_role("button", name="Save").click()
    expect(page.locator(f'tr[data-loan="{loan_number}"]')).to_have_count(0)
    expect(page.get_by_test_id("queue-total")).to_contain_text(f"{total_before - 1} loan")
    expect(page.locator("#flashes")).to_contain_text(f"Promise to pay” on {loan_number}")
    assert page.evaluate("window.__same_page") is True


def test_the_queue_fits_a_phone_screen(phone, live_server):
    sign_in(phone, live_server, "collector.njeri")
    first = phone.locator("tr[data-loan]").first
    expect(first.locator('td[data-label="Phone"] a')).to_have_attribute("href", re.compile(r"^tel:\+254"))
    assert fits_width(phone)


def test_a_manager_sees_the_team_board(page, live_server):
    sign_in(page, live_server, "manager.east")
    page.get_by_role("link", name="Team board").click()
    board = page.get_by_test_id("team-board")
    expect(board).to_contain_text("Sharon Achieng")
    page.get_by_role("link", name="This month").click()
    expect(page).to_have_url(re.compile(r"period=month"))
    expect(board.locator("tfoot")).to_contain_text("Team")


