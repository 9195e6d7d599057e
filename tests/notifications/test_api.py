"""001's /api/users/notifications/ endpoints: shapes, the caller's own notifications only, bad input refused
in 001's error body, and create-test refused in production."""

import pytest
from sqlalchemy import select

from portal.config import ProductionConfig
from portal.models import Notification, Role
from portal.models.base import db
from tests.api.conftest import assert_error

URL = "/api/users/notifications/"
FIELDS = {"id", "user_id", "type", "title", "message", "is_read", "read_at", "created_at"}


def _exists(note_id: int) -> bool:
    return db.session.scalar(select(Notification.id).where(Notification.id == note_id)) is not None


def test_list_answers_the_callers_notifications_in_001s_envelope(client, api_headers, alice, bob, notify):
    mine = [notify(alice, title=f"Mine {i}") for i in range(3)]
    notify(bob, title="Not mine")

    response = client.get(URL, headers=api_headers(alice))

    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"notifications", "total", "page", "pages", "unread_count"}
    assert (body["total"], body["page"], body["pages"], body["unread_count"]) == (3, 1, 1, 3)
    assert {n["id"] for n in body["notifications"]} == {n.id for n in mine}
    assert all(set(n) == FIELDS and n["user_id"] == alice.id for n in body["notifications"])


def test_list_pages_and_filters_unread(client, api_headers, alice, notify):
    notes = [notify(alice, title=f"N{i}") for i in range(5)]
    headers = api_headers(alice)
    client.put(f"{URL}{notes[0].id}/read", headers=headers)

    paged = client.get(URL, query_string={"page": 2, "per_page": 2}, headers=headers).get_json()
    unread = client.get(URL, query_string={"unread": "true"}, headers=headers).get_json()

    assert (paged["total"], paged["page"], paged["pages"], len(paged["notifications"])) == (5, 2, 3, 2)
    assert unread["total"] == unread["unread_count"] == 4
    assert all(n["is_read"] is False for n in unread["notifications"])


def test_a_borrower_lists_their_own_notifications(client, api_headers, make_user, notify):
    borrower = make_user(Role.BORROWER)
    notify(borrower, title="Payment received", kind="repayment")

    body = client.get(URL, headers=api_headers(borrower, "mama_mboga")).get_json()

    assert [n["title"] for n in body["notifications"]] == ["Payment received"]


@pytest.mark.parametrize("query, field", [
    ({"per_page": 0}, "per_page"), ({"per_page": 101}, "per_page"), ({"page": 0}, "page"),
    ({"page": "two"}, "page"), ({"unread": "maybe"}, "unread"), ({"colour": "red"}, "colour"),
])
def test_list_refuses_bad_query_arguments(client, api_headers, alice, query, field):
    response = client.get(URL, query_string=query, headers=api_headers(alice))

    assert_error(response, "001", 400, field)


@pytest.mark.parametrize("method, path", [
    ("get", URL), ("put", f"{URL}1/read"), ("delete", f"{URL}1"), ("post", f"{URL}create-test"),
])
def test_every_endpoint_needs_a_token(client, method, path):
    assert_error(getattr(client, method)(path), "001", 401)


def test_mark_read_answers_the_notification_read(client, api_headers, alice, notify):
    note = notify(alice)

    response = client.put(f"{URL}{note.id}/read", headers=api_headers(alice))
    again = client.put(f"{URL}{note.id}/read", headers=api_headers(alice))

    assert response.status_code == 200
    body = response.get_json()
    assert body["message"] and body["notification"]["id"] == note.id
    assert body["notification"]["is_read"] is True and body["notification"]["read_at"]
    assert again.status_code == 200
    assert again.get_json()["notification"]["read_at"] == body["notification"]["read_at"]


def test_nobody_marks_or_deletes_another_users_notification(client, api_headers, make_user, bob, notify):
    note = notify(bob)
    admin = make_user(Role.ADMIN)

    assert_error(client.put(f"{URL}{note.id}/read", headers=api_headers(admin)), "001", 404)
    assert_error(client.delete(f"{URL}{note.id}", headers=api_headers(admin)), "001", 404)

    assert _exists(note.id) and db.session.get(Notification, note.id).read_at is None


@pytest.mark.parametrize("method, path", [
    ("put", f"{URL}999999/read"), ("delete", f"{URL}999999"), ("put", f"{URL}abc/read"), ("delete", f"{URL}abc"),
    ("get", f"{URL}1/unknown"),
])
def test_unknown_or_malformed_ids_are_404_in_001s_shape(client, api_headers, alice, method, path):
    assert_error(getattr(client, method)(path, headers=api_headers(alice)), "001", 404)


def test_a_wrong_method_is_405_in_001s_shape(client, api_headers, alice, notify):
    note = notify(alice)

    assert_error(client.post(f"{URL}{note.id}/read", headers=api_headers(alice)), "001", 405)
    assert_error(client.get(f"{URL}create-test", headers=api_headers(alice)), "001", 405)


def test_delete_removes_the_callers_notification(client, api_headers, alice, notify):
    note_id = notify(alice).id

    response = client.delete(f"{URL}{note_id}", headers=api_headers(alice))

    assert response.status_code == 200 and response.get_json() == {"message": "Notification deleted."}
    assert not _exists(note_id)
    assert_error(client.delete(f"{URL}{note_id}", headers=api_headers(alice)), "001", 404)


def test_create_test_sends_the_caller_a_notification(client, api_headers, alice):
    response = client.post(f"{URL}create-test", json={"title": "Ping", "message": "Hello"}, headers=api_headers(alice))
    default = client.post(f"{URL}create-test", headers=api_headers(alice))

    assert response.status_code == 201
    note = response.get_json()["notification"]
    assert set(note) == FIELDS
    assert (note["user_id"], note["type"], note["title"], note["message"]) == (alice.id, "test", "Ping", "Hello")
    assert default.status_code == 201 and default.get_json()["notification"]["title"] == "Test notification"


@pytest.mark.parametrize("body, field", [
    ({"title": "x" * 161}, "title"), ({"message": "y" * 2001}, "message"), ({"title": 12}, "title"),
    ({"message": ["a"]}, "message"),
])
def test_create_test_refuses_bad_input(client, api_headers, alice, body, field):
    response = client.post(f"{URL}create-test", json=body, headers=api_headers(alice))

    assert_error(response, "001", 400, field)
    assert client.get(URL, headers=api_headers(alice)).get_json()["total"] == 0


def test_create_test_refuses_invalid_json(client, api_headers, alice):
    response = client.post(f"{URL}create-test", data="{not json", content_type="application/json",
                           headers=api_headers(alice))

    assert_error(response, "001", 400)


def test_create_test_is_refused_in_production(app, client, api_headers, monkeypatch, alice):
    assert ProductionConfig.ENV_NAME == "production"
    monkeypatch.setitem(app.config, "ENV_NAME", "production")

    response = client.post(f"{URL}create-test", json={"title": "Ping"}, headers=api_headers(alice))

    body = assert_error(response, "001", 403)
    assert "production" in body["message"]
    assert client.get(URL, headers=api_headers(alice)).get_json()["total"] == 0


def test_the_endpoints_are_in_the_openapi_schema(client):
    paths = client.get("/api/schema/").get_json()["paths"]

    assert {"get"} <= set(paths[URL]) and "put" in paths[f"{URL}{{notification_id}}/read"]
    assert "delete" in paths[f"{URL}{{notification_id}}"] and "post" in paths[f"{URL}create-test"]
