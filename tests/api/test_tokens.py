"""JWTs across the five surfaces: identity and claims, lifetimes, and 401 for every way a token goes bad."""

from datetime import timedelta

import jwt as pyjwt
import pytest

from portal.models import Role
from tests.api.conftest import PASSWORD, assert_error, bearer, claims_of, expired_copy

ACCESS_LIFETIME = timedelta(minutes=15).total_seconds()
REFRESH_LIFETIME = timedelta(days=7).total_seconds()


def _login(client, surface: str, user) -> dict:
    """Sign in on `surface`'s own token endpoint; return {"access": ..., "refresh": ... or None}."""
    if surface == "000":
        body = client.post("/auth/token", json={"username": user.username, "password": PASSWORD}).get_json()
        return {"access": body["token"], "refresh": None}
    if surface == "001":
        body = client.post("/auth/login", json={"email": user.email, "password": PASSWORD}).get_json()
        return {"access": body["access_token"], "refresh": body["refresh_token"]}
    if surface == "002":
        body = client.post("/api/token/", json={"email": user.email, "password": PASSWORD}).get_json()
        return {"access": body["access"], "refresh": body["refresh"]}
    if surface == "003":
        body = client.post("/api/auth/token/", json={"username": user.username, "password": PASSWORD}).get_json()
        return {"access": body["access"], "refresh": body["refresh"]}
    body = client.post("/v1/auth/login", json={"identifier": user.email, "password": PASSWORD}).get_json()
    return {"access": body["token"], "refresh": body["refreshToken"]}


@pytest.mark.parametrize(("surface", "role", "role_name"), [
    ("000", Role.LOAN_OFFICER, "user"),
    ("000", Role.BORROWER, "client"),
    ("000", Role.ADMIN, "admin"),
    ("001", Role.LOAN_OFFICER, "lender"),
    ("001", Role.BORROWER, "mama_mboga"),
    ("001", Role.ADMIN, "admin"),
    ("002", Role.BORROWER, "member"),
    ("002", Role.LOAN_OFFICER, "loan_officer"),
    ("003", Role.CALLING_AGENT, "calling_agent"),
    ("003", Role.COLLECTION_OFFICER, "collection_officer"),
    ("003", Role.MANAGER, "manager"),
    ("004", Role.BORROWER, "user"),
    ("004", Role.ADMIN, "admin"),
])
def test_identity_is_user_id_and_the_documents_role_name(app, client, make_user, surface, role, role_name):
    user = make_user(role)

    claims = claims_of(app, _login(client, surface, user)["access"])

    assert claims["sub"] == f"user_{user.id}:{role_name}"


@pytest.mark.parametrize("surface", ["000", "001", "002", "003", "004"])
def test_access_token_lives_15_minutes_and_carries_session_and_version(app, client, make_user, surface):
    user = make_user(Role.LOAN_OFFICER)

    claims = claims_of(app, _login(client, surface, user)["access"])

    assert claims["type"] == "access"
    assert claims["exp"] - claims["iat"] == ACCESS_LIFETIME
    assert isinstance(claims["sid"], str) and claims["sid"]
    assert claims["tv"] == user.token_version


@pytest.mark.parametrize("surface", ["001", "002", "003", "004"])
def test_refresh_token_lives_7_days_in_the_same_session(app, client, make_user, surface):
    user = make_user(Role.LOAN_OFFICER)
    pair = _login(client, surface, user)

    access, refresh = claims_of(app, pair["access"]), claims_of(app, pair["refresh"])

    assert refresh["type"] == "refresh"
    assert refresh["exp"] - refresh["iat"] == REFRESH_LIFETIME
    assert refresh["sid"] == access["sid"]
    assert refresh["sub"] == access["sub"]


def test_each_sign_in_starts_its_own_session(app, client, make_user):
    user = make_user(Role.LOAN_OFFICER)

    first, second = _login(client, "001", user), _login(client, "003", user)

    assert claims_of(app, first["access"])["sid"] != claims_of(app, second["access"])["sid"]


@pytest.mark.parametrize("surface", ["000", "001", "002", "003", "004"])
def test_a_token_from_any_surface_works_on_the_others(client, make_user, surface):
    user = make_user(Role.LOAN_OFFICER)
    access = _login(client, surface, user)["access"]

    assert client.get("/auth/me", headers=bearer(access)).status_code == 200
    assert client.get("/api/customers/", headers=bearer(access)).status_code == 200


# Every endpoint that needs a token: (surface, method, path); {id} is a customer the caller may see.
PROTECTED = [
    ("000", "POST", "/users"),
    ("001", "GET", "/auth/me"),
    ("001", "POST", "/auth/logout"),
    ("001", "POST", "/auth/logout-all"),
    ("001", "POST", "/auth/verify-email"),
    ("001", "POST", "/auth/verify-phone"),
    ("001", "PUT", "/api/users/change-password"),
    ("001", "GET", "/customers/"),
    ("001", "POST", "/customers/"),
    ("001", "GET", "/customers/my_customers"),
    ("001", "GET", "/customers/{id}"),
    ("001", "PATCH", "/customers/{id}"),
    ("001", "DELETE", "/customers/{id}"),
    ("003", "GET", "/api/users/"),
    ("003", "GET", "/api/customers/"),
    ("003", "POST", "/api/customers/"),
    ("003", "POST", "/api/customers/create/"),
    ("003", "GET", "/api/customers/{id}/"),
    ("003", "PUT", "/api/customers/{id}/"),
    ("003", "PATCH", "/api/customers/{id}/"),
    ("003", "DELETE", "/api/customers/{id}/"),
    ("003", "GET", "/api/logs/"),
    ("004", "GET", "/v1/users/profile"),
    ("004", "PUT", "/v1/users/profile"),
    ("004", "POST", "/v1/users/change-password"),
]
PROTECTED_IDS = [f"{method} {path}" for _, method, path in PROTECTED]


@pytest.fixture
def caller(make_user, make_customer):
    """An admin (allowed everywhere) and a customer, so only the token decides the answer."""
    user = make_user(Role.ADMIN, phone="+254711000111")
    return user, make_customer(created_by_id=user.id)


def _call(client, method, path, customer, headers=None):
    kwargs = {"json": {"name": "Wanjiku Kamau"}} if method in ("POST", "PUT", "PATCH") else {}
    return client.open(path.format(id=customer.id), method=method, headers=headers or {}, **kwargs)


@pytest.mark.parametrize(("surface", "method", "path"), PROTECTED, ids=PROTECTED_IDS)
def test_missing_token_is_401(client, caller, surface, method, path):
    assert_error(_call(client, method, path, caller[1]), surface, 401)


@pytest.mark.parametrize(("surface", "method", "path"), PROTECTED, ids=PROTECTED_IDS)
@pytest.mark.parametrize("header", ["Bearer", "Bearer not-a-jwt", "Token abc.def.ghi", "Basic dXNlcjpwYXNz"])
def test_malformed_authorization_is_401(client, caller, surface, method, path, header):
    response = _call(client, method, path, caller[1], {"Authorization": header})

    assert_error(response, surface, 401)


@pytest.mark.parametrize(("surface", "method", "path"), PROTECTED, ids=PROTECTED_IDS)
def test_expired_token_is_401(app, client, api_headers, caller, surface, method, path):
    token = api_headers(caller[0])["Authorization"][7:]

    response = _call(client, method, path, caller[1], bearer(expired_copy(app, token)))

    assert_error(response, surface, 401)


@pytest.mark.parametrize(("surface", "method", "path"), PROTECTED, ids=PROTECTED_IDS)
def test_token_signed_with_another_key_is_401(app, client, caller, surface, method, path, api_headers):
    claims = claims_of(app, api_headers(caller[0])["Authorization"][7:])
    forged = pyjwt.encode(claims, "someone-elses-secret-" + "z" * 32, algorithm="HS256")

    assert_error(_call(client, method, path, caller[1], bearer(forged)), surface, 401)


@pytest.mark.parametrize(("surface", "method", "path"), PROTECTED, ids=PROTECTED_IDS)
def test_refresh_token_in_place_of_access_token_is_401(client, caller, login_001, surface, method, path):
    refresh = login_001(caller[0])["refresh_token"]

    assert_error(_call(client, method, path, caller[1], bearer(refresh)), surface, 401)


@pytest.mark.parametrize(("surface", "method", "path"), PROTECTED, ids=PROTECTED_IDS)
def test_token_revoked_by_logout_is_401(client, api_headers, caller, surface, method, path):
    headers = api_headers(caller[0])
    assert client.post("/auth/logout", headers=headers).status_code == 200

    assert_error(_call(client, method, path, caller[1], headers), surface, 401)


@pytest.mark.parametrize(("surface", "method", "path"), PROTECTED, ids=PROTECTED_IDS)
def test_token_revoked_by_logout_all_from_another_session_is_401(client, api_headers, caller, surface, method, path):
    headers, other_session = api_headers(caller[0]), api_headers(caller[0])
    assert client.post("/auth/logout-all", headers=other_session).status_code == 200

    assert_error(_call(client, method, path, caller[1], headers), surface, 401)


@pytest.mark.parametrize(("surface", "method", "path"), PROTECTED, ids=PROTECTED_IDS)
def test_token_issued_before_a_password_change_is_401(client, api_headers, caller, surface, method, path):
    headers = api_headers(caller[0])
    changed = client.put("/api/users/change-password", headers=api_headers(caller[0]),
                         json={"current_password": PASSWORD, "new_password": "Fresh-pass-42"})
    assert changed.status_code == 200

    assert_error(_call(client, method, path, caller[1], headers), surface, 401)


@pytest.mark.parametrize(("surface", "method", "path"), PROTECTED, ids=PROTECTED_IDS)
def test_token_of_a_deactivated_user_is_401(db, client, api_headers, caller, surface, method, path):
    headers = api_headers(caller[0])
    caller[0].is_active = False
    db.session.flush()

    assert_error(_call(client, method, path, caller[1], headers), surface, 401)


def test_logout_ends_only_this_session(client, make_user, api_headers):
    user = make_user(Role.LOAN_OFFICER)
    this, other = api_headers(user), api_headers(user)

    client.post("/auth/logout", headers=this)

    assert client.get("/auth/me", headers=this).status_code == 401
    assert client.get("/auth/me", headers=other).status_code == 200


def test_logout_all_ends_sessions_of_every_surface_but_not_other_users(client, make_user, api_headers):
    user, someone_else = make_user(Role.LOAN_OFFICER), make_user(Role.LOAN_OFFICER)
    sessions = [_login(client, surface, user)["access"] for surface in ("000", "001", "002", "003", "004")]
    bystander = api_headers(someone_else)

    assert client.post("/auth/logout-all", headers=bearer(sessions[0])).status_code == 200

    for access in sessions:
        assert client.get("/api/customers/", headers=bearer(access)).status_code == 401
    assert client.get("/api/customers/", headers=bystander).status_code == 200


def test_signing_in_again_after_logout_all_works(client, make_user):
    user = make_user(Role.LOAN_OFFICER)
    client.post("/auth/logout-all", headers=bearer(_login(client, "001", user)["access"]))

    fresh = _login(client, "001", user)["access"]

    assert client.get("/auth/me", headers=bearer(fresh)).status_code == 200


def test_expiry_follows_the_configured_access_lifetime(app, client, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "JWT_ACCESS_TOKEN_EXPIRES", timedelta(seconds=-1))
    user = make_user(Role.LOAN_OFFICER)

    body = client.post("/auth/login", json={"username": user.username, "password": PASSWORD}).get_json()

    assert_error(client.get("/auth/me", headers=bearer(body["access_token"])), "001", 401)
