"""Credential endpoints allow 10 failed attempts per minute per client address, then 429 in the surface's shape."""

import pytest

from portal.models import Role
from tests.api.conftest import PASSWORD, assert_error

LIMIT = 10
WRONG = "Wrong-pass-1"
OTHER_ADDRESS = {"REMOTE_ADDR": "203.0.113.7"}

# (surface, path, a failing body): every endpoint where an anonymous caller tries credentials or account names.
FAILING = [
    ("000", "/auth/token", {"username": "nobody", "password": WRONG}),
    ("001", "/auth/login", {"email": "nobody@example.com", "password": WRONG}),
    ("001", "/auth/forgot-password", {}),
    ("001", "/auth/reset-password", {"token": "guessed-token", "new_password": "Fresh-pass-42"}),
    ("001", "/auth/register", {"username": "x", "password": "short"}),
    ("002", "/api/token/", {"email": "nobody@example.com", "password": WRONG}),
    ("003", "/api/auth/token/", {"username": "nobody", "password": WRONG}),
    ("003", "/api/users/register/", {"username": "x", "password": "short"}),
    ("004", "/v1/auth/login", {"identifier": "nobody@example.com", "password": WRONG}),
    ("004", "/v1/auth/register", {"primaryEmail": "bad", "password": "short"}),
]
FAILING_IDS = [path for _, path, _ in FAILING]


def _fail(client, path, body, times, **kwargs):
    return [client.post(path, json=body, **kwargs).status_code for _ in range(times)]


@pytest.mark.parametrize(("surface", "path", "body"), FAILING, ids=FAILING_IDS)
def test_eleventh_failure_in_a_minute_is_429_in_the_surface_shape(client, surface, path, body):
    statuses = _fail(client, path, body, LIMIT)

    assert 429 not in statuses
    assert_error(client.post(path, json=body), surface, 429)


@pytest.mark.parametrize(("surface", "path", "body"), FAILING, ids=FAILING_IDS)
def test_limit_is_per_client_address(client, surface, path, body):
    _fail(client, path, body, LIMIT + 1)

    assert client.post(path, json=body, environ_base=OTHER_ADDRESS).status_code != 429


LOGINS = [
    ("000", "/auth/token", lambda u, pw: {"username": u.username, "password": pw}),
    ("001", "/auth/login", lambda u, pw: {"email": u.email, "password": pw}),
    ("002", "/api/token/", lambda u, pw: {"email": u.email, "password": pw}),
    ("003", "/api/auth/token/", lambda u, pw: {"username": u.username, "password": pw}),
    ("004", "/v1/auth/login", lambda u, pw: {"identifier": u.email, "password": pw}),
]
LOGIN_IDS = [path for _, path, _ in LOGINS]


@pytest.mark.parametrize(("surface", "path", "body"), LOGINS, ids=LOGIN_IDS)
def test_blocked_address_is_refused_even_with_the_right_password(client, make_user, surface, path, body):
    user = make_user(Role.LOAN_OFFICER)
    _fail(client, path, body(user, WRONG), LIMIT)

    assert_error(client.post(path, json=body(user, PASSWORD)), surface, 429)


@pytest.mark.parametrize(("surface", "path", "body"), LOGINS, ids=LOGIN_IDS)
def test_successful_logins_are_not_counted(client, make_user, surface, path, body):
    user = make_user(Role.LOAN_OFFICER)

    statuses = [client.post(path, json=body(user, PASSWORD)).status_code for _ in range(LIMIT + 5)]

    assert set(statuses) == {200}


@pytest.mark.parametrize(("surface", "path", "body"), LOGINS, ids=LOGIN_IDS)
def test_failures_below_the_limit_leave_sign_in_open(client, make_user, surface, path, body):
    user = make_user(Role.LOAN_OFFICER)
    _fail(client, path, body(user, WRONG), LIMIT - 1)

    assert client.post(path, json=body(user, PASSWORD)).status_code == 200
