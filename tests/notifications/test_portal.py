"""The notifications centre and the navbar badge: the signed-in user's notifications only, mark read, mark all
read and delete (asked to confirm), each telling the badge to refresh; the badge polls as a fallback."""

import pytest
from sqlalchemy import select

from portal.models import Notification, Role
from portal.models.base import db
from tests.pages import HX, text


def test_the_centre_lists_the_signed_in_users_notifications(client, login_as, alice, bob, notify):
    notify(alice, title="Loan LN-7 approved", message="Approved by the manager.")
    notify(bob, title="Bob's news")
    login_as(user=alice)

    response = client.get("/portal/notifications/")

    body = text(response)
    assert response.status_code == 200
    assert "Loan LN-7 approved" in body and "Approved by the manager." in body
    assert "Bob's news" not in body
    assert 'data-testid="unread-total">1<' in body
    assert 'hx-confirm="Delete the notification “Loan LN-7 approved”?"' in body


def test_the_centre_needs_a_signed_in_user(client):
    response = client.get("/portal/notifications/")

    assert response.status_code in (302, 303) and "/login" in response.headers["Location"]


def test_the_unread_filter_shows_only_unread(client, login_as, alice, notify):
    notify(alice, title="Still new")
    read = notify(alice, title="Seen already")
    read.read_at = read.created_at
    db.session.commit()
    login_as(user=alice)

    body = text(client.get("/portal/notifications/?show=unread", headers=HX))

    assert "Still new" in body and "Seen already" not in body
    assert "<html" not in body  # the fragment only, for an HTMX swap


def test_mark_read_updates_the_list_and_tells_the_badge(client, login_as, post, alice, notify):
    note = notify(alice, title="Read me")
    login_as(user=alice)

    response = post(f"/portal/notifications/{note.id}/read")

    assert response.status_code == 200
    assert "notifications-changed" in response.headers["HX-Trigger"]
    assert f'id="notification-{note.id}" data-unread="false"' in text(response)
    assert db.session.get(Notification, note.id).read_at is not None


def test_mark_read_without_htmx_goes_back_to_the_page_it_was_on(client, login_as, post, alice, notify):
    note = notify(alice)
    login_as(user=alice)

    response = post(f"/portal/notifications/{note.id}/read", {"show": "unread"}, htmx=False)

    assert response.status_code == 303
    assert response.headers["Location"].endswith("/portal/notifications/?show=unread")


def test_mark_all_read_marks_only_the_users_own(client, login_as, post, alice, bob, notify):
    notify(alice), notify(alice)
    theirs = notify(bob)
    login_as(user=alice)

    response = post("/portal/notifications/read-all")

    assert response.status_code == 200 and "notifications-changed" in response.headers["HX-Trigger"]
    assert 'data-testid="unread-total">0<' in text(response)
    assert db.session.get(Notification, theirs.id).read_at is None


def test_delete_removes_the_notification(client, login_as, post, alice, notify):
    note_id = notify(alice, title="Delete me").id
    login_as(user=alice)

    response = post(f"/portal/notifications/{note_id}/delete")

    assert response.status_code == 200 and "Delete me" not in text(response)
    assert db.session.scalar(select(Notification).where(Notification.id == note_id)) is None


@pytest.mark.parametrize("action", ["read", "delete"])
def test_another_users_notification_cannot_be_touched(client, login_as, post, make_user, bob, notify, action):
    note = notify(bob)
    login_as(user=make_user(Role.ADMIN))

    assert post(f"/portal/notifications/{note.id}/{action}").status_code == 404
    kept = db.session.get(Notification, note.id)
    assert kept is not None and kept.read_at is None


def test_actions_need_the_csrf_token(client, login_as, alice, notify):
    note = notify(alice)
    login_as(user=alice)

    assert client.post(f"/portal/notifications/{note.id}/delete", headers=HX).status_code == 400
    assert db.session.get(Notification, note.id) is not None


def test_the_badge_counts_unread_notifications(client, login_as, alice, bob, notify):
    notify(alice), notify(alice), notify(bob)
    login_as(user=alice)

    response = client.get("/portal/notifications/badge", headers=HX)

    assert response.status_code == 200 and 'data-count="2"' in text(response)
    assert "no-store" in response.headers["Cache-Control"]


def test_every_page_has_the_live_badge_with_a_polling_fallback(client, login_as, alice):
    login_as(user=alice)

    body = text(client.get("/portal/"))

    assert 'id="notification-badge"' in body and f'data-user-id="{alice.id}"' in body
    assert 'hx-trigger="load, every 30s [!window.mkopoNotificationsLive], notifications-changed from:body"' in body
    assert "vendor/socket.io/socket.io.min.js" in body and "js/notifications.js" in body


def test_the_vendored_socket_io_client_is_served_locally(client):
    response = client.get("/static/vendor/socket.io/socket.io.min.js")

    assert response.status_code == 200 and b"Socket.IO v4." in response.data[:200]
    response.close()
