"""The notification badge in a real browser: a notification sent to the signed-in user (through 001's
create-test, as a second device of that user would) changes the badge without reloading, over Socket.IO;
with the socket blocked, the badge's 30-second polling picks it up instead. Then the centre: mark read,
and delete after confirming."""

import re

import pytest
from playwright.sync_api import expect

from portal import demo
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser
USER = "officer.mutua"


def _send_notification(page, base_url: str, title: str) -> None:
    """POST /api/users/notifications/create-test with the user's own 001 token."""
    login = page.request.post(f"{base_url}/auth/login", data={"username": USER, "password": demo.PASSWORD})
    assert login.ok, login.text()
    token = login.json()["access_token"]
    sent = page.request.post(f"{base_url}/api/users/notifications/create-test", data={"title": title},
                             headers={"Authorization": f"Bearer {token}"})
    assert sent.status == 201, sent.text()


def _unread(page) -> int:
    count = page.get_by_test_id("unread-count")
    expect(count).to_have_attribute("data-count", re.compile(r"^\d+$"))
    return int(count.get_attribute("data-count"))


def test_the_badge_changes_live_when_a_notification_arrives(page, live_server):
    sign_in(page, live_server, USER)
    badge = page.get_by_test_id("notification-badge")
    expect(badge).to_have_attribute("data-live", "true")  # the socket is connected
    before = _unread(page)
    page.evaluate("window.__same_page = true")  # survives only if nothing reloads the page

    _send_notification(page, live_server, "Live over the socket")

    expect(page.get_by_test_id("unread-count")).to_have_attribute("data-count", str(before + 1))
    expect(page.get_by_test_id("unread-count")).to_be_visible()
    assert page.evaluate("window.__same_page") is True

    badge.click()  # the centre: the new notification on top; one more arrives while it is open
    expect(page).to_have_url(re.compile(r"/portal/notifications/$"))
    items = page.get_by_test_id("notifications").locator("li")
    expect(items.first).to_contain_text("Live over the socket")
    expect(badge).to_have_attribute("data-live", "true")
    _send_notification(page, live_server, "While the centre is open")
    expect(items.first).to_contain_text("While the centre is open")
    expect(page.get_by_test_id("unread-count")).to_have_attribute("data-count", str(before + 2))

    items.first.get_by_role("button", name="Mark “While the centre is open” read").click()
    expect(page.get_by_test_id("unread-count")).to_have_attribute("data-count", str(before + 1))
    expect(items.first).to_have_attribute("data-unread", "false")

    page.once("dialog", lambda dialog: dialog.accept())
    items.first.get_by_role("button", name="Delete “While the centre is open”").click()
    expect(page.get_by_test_id("notifications")).not_to_contain_text("While the centre is open")

    page.get_by_role("button", name="Mark all read").click()
    expect(page.get_by_test_id("unread-count")).to_have_attribute("data-count", "0")
    expect(page.get_by_test_id("unread-count")).to_be_hidden()

    page.set_viewport_size({"width": 390, "height": 800})
    expect(badge).to_be_visible()  # on a phone the bell stays outside the collapsed menu


def test_without_the_socket_the_badge_polls_every_30_seconds(page, live_server):
    page.route(re.compile(r"/socket\.io/\?EIO="), lambda route: route.abort())  # the socket, not its script
    page.clock.install()
    sign_in(page, live_server, USER)
    badge = page.get_by_test_id("notification-badge")
    before = _unread(page)
    expect(badge).to_have_attribute("data-live", "false")

    _send_notification(page, live_server, "Picked up by polling")
    page.wait_for_timeout(500)
    assert _unread(page) == before  # no socket: nothing yet

    page.clock.run_for(31_000)
    expect(page.get_by_test_id("unread-count")).to_have_attribute("data-count", str(before + 1))
