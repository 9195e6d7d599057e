"""003 /api/auth/token/ ({access, refresh}) and /api/auth/token/refresh/ ({access}, no rotation)."""

import pytest

from portal.models import Role
from tests.api.conftest import PASSWORD, assert_error, assert_invalid, bearer, claims_of, expired_copy


def test_token_returns_exactly_access_and_refresh(app, client, make_user):
    user = make_user(Role.CALLING_AGENT)

    response = client.post("/api/auth/token/", json={"username": user.username, "password": PASSWORD})

    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"access", "refresh"}
    assert claims_of(app, body["access"])["type"] == "access"
    assert claims_of(app, body["refresh"])["type"] == "refresh"


def test_wrong_password_is_401_in_003_shape(client, make_user):
    user = make_user(Role.CALLING_AGENT)

    response = client.post("/api/auth/token/", json={"username": user.username, "password": "Wrong-pass-1"})

    assert_error(response, "003", 401)


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(client, make_user):
    user = make_user(Role.CALLING_AGENT)

    wrong = client.post("/api/auth/token/", json={"username": user.username, "password": "Wrong-pass-1"})
    unknown = client.post("/api/auth/token/", json={"username": "nobody-here", "password": "Wrong-pass-1"})

    assert (unknown.status_code, unknown.get_json()) == (wrong.status_code, wrong.get_json())


@pytest.mark.parametrize(("payload", "fields"), [
    ({}, ("username", "password")),
    ({"username": "someone"}, ("password",)),
    ({"password": PASSWORD}, ("username",)),
])
def test_missing_credentials_are_400_with_field_errors(client, payload, fields):
    assert_invalid(client.post("/api/auth/token/", json=payload), "003", *fields)


def test_refresh_returns_only_a_new_access_token(app, client, make_user, login_003):
    pair = login_003(make_user(Role.CALLING_AGENT))

    response = client.post("/api/auth/token/refresh/", json={"refresh": pair["refresh"]})

    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"access"}
    assert claims_of(app, body["access"])["sid"] == claims_of(app, pair["access"])["sid"]
    assert client.get("/api/customers/", headers=bearer(body["access"])).status_code == 200


def test_refresh_does_not_rotate_the_refresh_token(client, make_user, login_003):
    pair = login_003(make_user(Role.CALLING_AGENT))

    first = client.post("/api/auth/token/refresh/", json={"refresh": pair["refresh"]})
    second = client.post("/api/auth/token/refresh/", json={"refresh": pair["refresh"]})

    assert first.status_code == second.status_code == 200
    assert client.get("/api/customers/", headers=bearer(pair["access"])).status_code == 200


def test_refresh_without_the_field_is_400(client):
    assert_invalid(client.post("/api/auth/token/refresh/", json={}), "003", "refresh")


@pytest.mark.parametrize("token", ["", "not-a-jwt"])
def test_refresh_with_an_unusable_token_is_401(client, token):
    assert_error(client.post("/api/auth/token/refresh/", json={"refresh": token}), "003", 401)


def test_refresh_with_an_access_token_is_401(client, make_user, login_003):
    pair = login_003(make_user(Role.CALLING_AGENT))

    assert_error(client.post("/api/auth/token/refresh/", json={"refresh": pair["access"]}), "003", 401)


def test_expired_refresh_token_is_401(app, client, make_user, login_003):
    pair = login_003(make_user(Role.CALLING_AGENT))

    response = client.post("/api/auth/token/refresh/", json={"refresh": expired_copy(app, pair["refresh"])})

    assert_error(response, "003", 401)


@pytest.mark.parametrize("ending", ["/auth/logout", "/auth/logout-all"])
def test_refresh_after_the_session_ended_is_401(client, make_user, login_003, ending):
    pair = login_003(make_user(Role.CALLING_AGENT))
    assert client.post(ending, headers=bearer(pair["access"])).status_code == 200

    assert_error(client.post("/api/auth/token/refresh/", json={"refresh": pair["refresh"]}), "003", 401)


def test_refresh_after_a_password_change_is_401(client, make_user, login_003):
    pair = login_003(make_user(Role.CALLING_AGENT))
    client.put("/api/users/change-password", headers=bearer(pair["access"]),
               json={"current_password": PASSWORD, "new_password": "Fresh-pass-42"})

    assert_error(client.post("/api/auth/token/refresh/", json={"refresh": pair["refresh"]}), "003", 401)
