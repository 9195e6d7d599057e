"""001 /auth/forgot-password, /auth/reset-password and PUT /api/users/change-password."""

import pytest

from portal.models import Role
from tests.api.conftest import (
    PASSWORD,
    assert_error,
    assert_invalid,
    bearer,
    code_from_notification,
    notifications_for,
)

NEW_PASSWORD = "Fresh-pass-42"


@pytest.fixture
def borrower(make_user):
    return make_user(Role.BORROWER, phone="+254712000999")


# -- /auth/forgot-password -------------------------------------------------------------------------------

def test_forgot_password_answers_the_same_whether_or_not_the_account_exists(client, borrower):
    known = client.post("/auth/forgot-password", json={"email": borrower.email})
    unknown = client.post("/auth/forgot-password", json={"email": "nobody@example.com"})

    assert known.status_code == unknown.status_code == 200
    assert known.get_json() == unknown.get_json()
    assert set(known.get_json()) == {"message"}


@pytest.mark.parametrize("key", ["email", "phone", "identifier"])
def test_forgot_password_sends_the_reset_token_as_a_notification_only(client, borrower, key):
    value = {"email": borrower.email, "phone": "0712 000 999", "identifier": borrower.username}[key]

    response = client.post("/auth/forgot-password", json={key: value})

    token = code_from_notification(borrower, "reset_password")
    assert len(token) >= 20
    assert token not in response.get_data(as_text=True)


def test_forgot_password_for_an_unknown_account_notifies_no_one(client, borrower):
    client.post("/auth/forgot-password", json={"email": "nobody@example.com"})

    assert notifications_for(borrower) == []


def test_forgot_password_without_email_or_phone_is_400(client):
    assert_invalid(client.post("/auth/forgot-password", json={}), "001", "email")


# -- /auth/reset-password --------------------------------------------------------------------------------

def _reset_token(client, user) -> str:
    client.post("/auth/forgot-password", json={"email": user.email})
    return code_from_notification(user, "reset_password")


def test_reset_password_sets_the_new_password(client, borrower):
    token = _reset_token(client, borrower)

    response = client.post("/auth/reset-password", json={"token": token, "new_password": NEW_PASSWORD})

    assert response.status_code == 200
    assert set(response.get_json()) == {"message"}
    login = {"email": borrower.email}
    assert client.post("/auth/login", json={**login, "password": NEW_PASSWORD}).status_code == 200
    assert_error(client.post("/auth/login", json={**login, "password": PASSWORD}), "001", 401)


def test_reset_password_ends_every_existing_session(client, borrower, login_001):
    before = login_001(borrower)
    token = _reset_token(client, borrower)

    client.post("/auth/reset-password", json={"token": token, "new_password": NEW_PASSWORD})

    assert_error(client.get("/auth/me", headers=bearer(before["access_token"])), "001", 401)
    assert_error(client.post("/auth/refresh-token", json={"refresh_token": before["refresh_token"]}), "001", 401)


def test_reset_token_works_once(client, borrower):
    token = _reset_token(client, borrower)
    client.post("/auth/reset-password", json={"token": token, "new_password": NEW_PASSWORD})

    again = client.post("/auth/reset-password", json={"token": token, "new_password": "Another-pass-7"})

    assert_invalid(again, "001", "token")


def test_only_the_newest_reset_token_works(client, borrower):
    old = _reset_token(client, borrower)
    _reset_token(client, borrower)

    assert_invalid(client.post("/auth/reset-password", json={"token": old, "new_password": NEW_PASSWORD}),
                   "001", "token")


@pytest.mark.parametrize("token", ["", "not-a-real-token"])
def test_reset_with_an_unknown_token_is_400(client, token):
    assert_invalid(client.post("/auth/reset-password", json={"token": token, "new_password": NEW_PASSWORD}),
                   "001", "token")


@pytest.mark.parametrize(("payload", "field"), [
    ({"new_password": NEW_PASSWORD}, "token"),
    ({"token": "anything"}, "new_password"),
])
def test_reset_with_a_missing_field_is_400(client, payload, field):
    assert_invalid(client.post("/auth/reset-password", json=payload), "001", field)


def test_weak_new_password_is_400_and_keeps_the_token_usable(client, borrower):
    token = _reset_token(client, borrower)

    weak = client.post("/auth/reset-password", json={"token": token, "new_password": "short"})

    assert_invalid(weak, "001", "new_password")
    assert client.post("/auth/reset-password", json={"token": token, "new_password": NEW_PASSWORD}).status_code == 200


# -- PUT /api/users/change-password ----------------------------------------------------------------------

def _change(client, pair, current=PASSWORD, new=NEW_PASSWORD):
    return client.put("/api/users/change-password", headers=bearer(pair["access_token"]),
                      json={"current_password": current, "new_password": new})


def test_change_password_returns_fresh_tokens_that_work(client, borrower, login_001):
    response = _change(client, login_001(borrower))

    assert response.status_code == 200
    body = response.get_json()
    assert {"message", "access_token", "refresh_token", "token_type", "expires_in", "user"} <= set(body)
    assert client.get("/auth/me", headers=bearer(body["access_token"])).status_code == 200
    assert client.post("/auth/refresh-token", json={"refresh_token": body["refresh_token"]}).status_code == 200


def test_change_password_kills_the_old_tokens_of_every_session(client, borrower, login_001):
    this, other = login_001(borrower), login_001(borrower)

    _change(client, this)

    for pair in (this, other):
        assert_error(client.get("/auth/me", headers=bearer(pair["access_token"])), "001", 401)
        assert_error(client.post("/auth/refresh-token", json={"refresh_token": pair["refresh_token"]}), "001", 401)


def test_changed_password_is_the_one_that_signs_in(client, borrower, login_001):
    _change(client, login_001(borrower))

    assert client.post("/auth/login", json={"email": borrower.email, "password": NEW_PASSWORD}).status_code == 200
    assert_error(client.post("/auth/login", json={"email": borrower.email, "password": PASSWORD}), "001", 401)


def test_wrong_current_password_is_400_and_keeps_the_session(client, borrower, login_001):
    pair = login_001(borrower)

    assert_invalid(_change(client, pair, current="Not-my-pass-1"), "001", "current_password")
    assert client.get("/auth/me", headers=bearer(pair["access_token"])).status_code == 200


def test_weak_new_password_is_400(client, borrower, login_001):
    assert_invalid(_change(client, login_001(borrower), new="12345678"), "001", "new_password")


@pytest.mark.parametrize("missing", ["current_password", "new_password"])
def test_change_password_with_a_missing_field_is_400(client, borrower, login_001, missing):
    payload = {k: v for k, v in {"current_password": PASSWORD, "new_password": NEW_PASSWORD}.items() if k != missing}
    headers = bearer(login_001(borrower)["access_token"])

    assert_invalid(client.put("/api/users/change-password", json=payload, headers=headers), "001", missing)
