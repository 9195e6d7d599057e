"""Every API request writes an ApiLog row; GET /api/logs/ (admin only) lists them newest first, secrets redacted."""

import json
import time

import pytest
from flask_migrate import upgrade
from hypothesis import given, settings
from hypothesis import strategies as st

from api import request_log
from portal import create_app
from portal.models import ApiLog, Role
from portal.models.base import db as _db
from tests.api.conftest import PASSWORD, assert_error, bearer, code_from_notification

REDACTED = "[redacted]"
WRONG_PASSWORD = "Wrong-pass-1"
LOG_FIELDS = {"id", "user", "method", "endpoint", "request_payload", "response_payload", "status_code", "created_at"}


def _rows(db) -> list[ApiLog]:
    return list(db.session.scalars(db.select(ApiLog).order_by(ApiLog.id)))


def _logs(client, admin_headers, endpoint=None) -> list[dict]:
    response = client.get("/api/logs/", headers=admin_headers)
    assert response.status_code == 200
    return [row for row in response.get_json() if endpoint is None or row["endpoint"] == endpoint]


# -- every API request is logged -------------------------------------------------------------------------

def test_authenticated_request_is_logged_with_its_user_and_status(db, client, make_user, api_headers):
    user = make_user(Role.CALLING_AGENT)

    client.get("/api/customers/?page=1", headers=api_headers(user))

    row = _rows(db)[-1]
    assert (row.method, row.endpoint, row.status_code, row.user_id) == ("GET", "/api/customers/?page=1", 200, user.id)


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/auth/me", 401),
    ("POST", "/auth/token", 400),
    ("POST", "/api/token/", 400),
    ("GET", "/api/v1/no-such-app/", 404),
    ("GET", "/v1/no-such-thing", 404),
    ("GET", "/api/auth/token/", 405),
])
def test_refused_and_unrouted_api_requests_are_logged_too(db, client, method, path, status):
    client.open(path, method=method, json={} if method == "POST" else None)

    row = _rows(db)[-1]
    assert (row.method, row.endpoint, row.status_code, row.user_id) == (method, path, status, None)


def test_portal_pages_are_not_logged(db, client):
    client.get("/login")

    assert _rows(db) == []


# -- GET /api/logs/ --------------------------------------------------------------------------------------

def test_logs_are_a_bare_array_newest_first(client, make_user, api_headers, admin_headers):
    headers = api_headers(make_user(Role.CALLING_AGENT))
    client.get("/api/customers/", headers=headers)
    client.get("/auth/me", headers=headers)

    logs = _logs(client, admin_headers)

    assert isinstance(logs, list) and len(logs) >= 2
    assert all(set(row) == LOG_FIELDS for row in logs)
    assert [row["id"] for row in logs] == sorted((row["id"] for row in logs), reverse=True)
    assert [row["endpoint"] for row in logs[:2]] == ["/auth/me", "/api/customers/"]


def test_log_row_holds_the_documented_fields(client, make_user, api_headers, admin_headers):
    user = make_user(Role.CALLING_AGENT)
    client.get("/api/customers/", headers=api_headers(user))

    row = _logs(client, admin_headers, "/api/customers/")[0]

    assert (row["user"], row["method"], row["status_code"]) == (user.id, "GET", 200)
    assert row["request_payload"] == ""
    assert json.loads(row["response_payload"]) == []
    assert row["created_at"]


@pytest.mark.parametrize("role", [r for r in Role if r != Role.ADMIN])
def test_only_admins_read_the_logs(client, make_user, api_headers, role):
    assert_error(client.get("/api/logs/", headers=api_headers(make_user(role))), "003", 403)


def test_logs_without_token_are_401(client):
    assert_error(client.get("/api/logs/"), "003", 401)


# -- secrets are redacted --------------------------------------------------------------------------------

def _only_row(client, admin_headers, endpoint) -> dict:
    rows = _logs(client, admin_headers, endpoint)
    assert rows, f"no log row for {endpoint}"
    return rows[0]


def _assert_redacted(row: dict, request_keys=(), response_keys=(), secrets=()):
    request = json.loads(row["request_payload"]) if row["request_payload"] else {}
    response = json.loads(row["response_payload"]) if row["response_payload"] else {}
    for key in request_keys:
        assert request[key] == REDACTED, (key, request)
    for key in response_keys:
        assert response[key] == REDACTED, (key, response)
    for secret in secrets:
        assert secret not in row["request_payload"] and secret not in row["response_payload"], secret


@pytest.mark.parametrize(("path", "body", "request_keys", "response_keys"), [
    ("/auth/token", lambda u: {"username": u.username, "password": PASSWORD}, ["password"], ["token"]),
    ("/auth/login", lambda u: {"email": u.email, "password": PASSWORD}, ["password"],
     ["access_token", "refresh_token"]),
    ("/api/token/", lambda u: {"email": u.email, "password": PASSWORD}, ["password"], ["access", "refresh"]),
    ("/api/auth/token/", lambda u: {"username": u.username, "password": PASSWORD}, ["password"],
     ["access", "refresh"]),
    ("/v1/auth/login", lambda u: {"identifier": u.email, "password": PASSWORD, "pin": "4321"},
     ["password", "pin"], ["token", "refreshToken"]),
])
def test_sign_in_logs_neither_password_nor_tokens(client, make_user, admin_headers, path, body, request_keys,
                                                  response_keys):
    user = make_user(Role.LOAN_OFFICER)
    answer = client.post(path, json=body(user)).get_json()

    row = _only_row(client, admin_headers, path)

    tokens = [answer[key] for key in response_keys]
    _assert_redacted(row, request_keys, response_keys, secrets=[PASSWORD, "4321", *tokens])


def test_register_logs_no_password(client, admin_headers):
    client.post("/v1/auth/register", json={"primaryEmail": "new@example.com", "password": "SecurePass123!",
                                           "pin": "9876"})

    row = _only_row(client, admin_headers, "/v1/auth/register")

    _assert_redacted(row, ["password", "pin"], ["token", "refreshToken"], secrets=["SecurePass123!", "9876"])


def test_refresh_logs_no_tokens(client, make_user, admin_headers, login_001, login_003):
    user = make_user(Role.LOAN_OFFICER)
    refresh_001, refresh_003 = login_001(user)["refresh_token"], login_003(user)["refresh"]
    rotated = client.post("/auth/refresh-token", json={"refresh_token": refresh_001}).get_json()
    access_003 = client.post("/api/auth/token/refresh/", json={"refresh": refresh_003}).get_json()["access"]

    _assert_redacted(_only_row(client, admin_headers, "/auth/refresh-token"), ["refresh_token"],
                     ["access_token", "refresh_token"],
                     secrets=[refresh_001, rotated["access_token"], rotated["refresh_token"]])
    _assert_redacted(_only_row(client, admin_headers, "/api/auth/token/refresh/"), ["refresh"], ["access"],
                     secrets=[refresh_003, access_003])


def test_change_password_logs_no_passwords_or_tokens(client, make_user, api_headers, admin_headers):
    user = make_user(Role.LOAN_OFFICER)
    answer = client.put("/api/users/change-password", headers=api_headers(user),
                        json={"current_password": PASSWORD, "new_password": "Fresh-pass-42"}).get_json()

    row = _only_row(client, admin_headers, "/api/users/change-password")

    _assert_redacted(row, ["current_password", "new_password"], ["access_token", "refresh_token"],
                     secrets=[PASSWORD, "Fresh-pass-42", answer["access_token"], answer["refresh_token"]])


def test_reset_password_logs_neither_token_nor_password(client, make_user, admin_headers):
    user = make_user(Role.BORROWER)
    client.post("/auth/forgot-password", json={"email": user.email})
    token = code_from_notification(user, "reset_password")
    client.post("/auth/reset-password", json={"token": token, "new_password": "Fresh-pass-42"})

    row = _only_row(client, admin_headers, "/auth/reset-password")

    _assert_redacted(row, ["token", "new_password"], secrets=[token, "Fresh-pass-42"])


def test_verification_code_is_not_logged(client, make_user, api_headers, admin_headers):
    user = make_user(Role.BORROWER)
    headers = api_headers(user)
    client.post("/auth/verify-email", json={}, headers=headers)
    code = code_from_notification(user, "verify_email")
    client.post("/auth/verify-email", json={"code": code}, headers=headers)

    row = _only_row(client, admin_headers, "/auth/verify-email")

    _assert_redacted(row, ["code"], secrets=[f'"{code}"'])


def test_secrets_nested_in_objects_are_redacted(client, admin_headers):
    client.post("/v1/auth/login", json={"identifier": "x@example.com", "password": WRONG_PASSWORD,
                                        "device": {"pin": "1357", "otp": "246810"}})

    row = _only_row(client, admin_headers, "/v1/auth/login")

    assert json.loads(row["request_payload"])["device"] == {"pin": REDACTED, "otp": REDACTED}


def test_a_secret_past_the_truncation_point_is_not_logged(app, client, admin_headers):
    limit = app.config["API_LOG_PAYLOAD_LIMIT"]
    client.post("/v1/auth/login", json={"identifier": "x" * limit, "password": WRONG_PASSWORD})

    payload = _only_row(client, admin_headers, "/v1/auth/login")["request_payload"]

    assert payload == json.dumps({"identifier": "x" * limit}, separators=(",", ":"))[:limit] + request_log.TRUNCATED
    assert WRONG_PASSWORD not in payload


def test_a_secret_the_truncation_point_cuts_through_is_redacted_before_it_is_cut(app, client, admin_headers):
    limit = app.config["API_LOG_PAYLOAD_LIMIT"]
    body = {"identifier": "x" * (limit - 30), "password": WRONG_PASSWORD}  # the cut falls in the password
    client.post("/v1/auth/login", json=body)

    payload = _only_row(client, admin_headers, "/v1/auth/login")["request_payload"]

    redacted = json.dumps({**body, "password": REDACTED}, separators=(",", ":"))
    assert payload == redacted[:limit] + request_log.TRUNCATED and payload[:-len(request_log.TRUNCATED)].endswith('"[')


KEYS = st.sampled_from(["password", "pin", "pincode", "code", "customer_code", "refresh", "name"]) | st.text(max_size=8)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=6) | st.dictionaries(KEYS, children, max_size=6),
    max_leaves=40)


@settings(max_examples=300, deadline=None)
@given(value=JSON_VALUES, limit=st.integers(min_value=0, max_value=400))
def test_a_payload_is_redacted_then_cut_at_the_limit_whatever_its_shape(value, limit):
    whole = json.dumps(request_log.redact(value), separators=(",", ":"))

    for cut in {limit, len(whole), max(len(whole) - 1, 0)}:  # and a payload of exactly the limit, and one more
        logged = request_log.redacted_json(value, cut)

        assert logged == (whole if len(whole) <= cut else whole[:cut] + request_log.TRUNCATED)


def test_non_json_body_is_not_logged_verbatim(client, admin_headers):
    client.post("/auth/login", data="password=Hunter2-secret", content_type="application/x-www-form-urlencoded")

    row = _only_row(client, admin_headers, "/auth/login")

    assert "Hunter2-secret" not in row["request_payload"]


def test_authorization_header_is_not_logged(client, make_user, api_headers, admin_headers):
    headers = api_headers(make_user(Role.CALLING_AGENT))
    client.get("/api/customers/", headers=headers)

    row = _only_row(client, admin_headers, "/api/customers/")

    token = headers["Authorization"][7:]
    assert token not in json.dumps(row)


def test_logs_listing_hides_the_tokens_it_lists(client, make_user, login_001, admin_headers):
    pair = login_001(make_user(Role.LOAN_OFFICER))

    listing = client.get("/api/logs/", headers=admin_headers).get_data(as_text=True)

    assert pair["access_token"] not in listing and pair["refresh_token"] not in listing
    assert PASSWORD not in listing


def test_pagination_params_page_the_logs(client, make_user, api_headers, admin_headers):
    headers = bearer(api_headers(make_user(Role.CALLING_AGENT))["Authorization"][7:])
    for _ in range(3):
        client.get("/api/customers/", headers=headers)

    response = client.get("/api/logs/?page_size=2&total=true", headers=admin_headers)

    assert len(response.get_json()) == 2
    assert int(response.headers["X-Total-Count"]) >= 3
    assert response.headers["Link"] == '</api/logs/?page_size=2&total=true&page=2>; rel="next"'


# -- outside tests, a process writes its log rows in batches ----------------------------------------------

def _buffered_app(tmp_path, seconds: float):
    """An app on its own database file, as served: the writer thread's session must see committed rows."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'logs.db'}", "SECRET_KEY": "b" * 40,
                      "API_LOG_FLUSH_SECONDS": seconds})
    with app.app_context():
        upgrade()
    return app


def _logged(app) -> list[tuple]:
    with app.app_context():
        rows = _db.session.execute(_db.select(ApiLog.method, ApiLog.endpoint, ApiLog.status_code)
                                   .order_by(ApiLog.id)).all()
        _db.session.remove()
    return [tuple(row) for row in rows]


def test_rows_wait_for_the_writer_and_go_in_together(tmp_path):
    app = _buffered_app(tmp_path, seconds=3600)
    client = app.test_client()

    client.get("/api/customers/")
    client.get("/api/customers/?page=2")

    assert _logged(app) == []  # not yet: the writer has not woken
    request_log.flush(app)  # as before the database is closed, say
    assert _logged(app) == [("GET", "/api/customers/", 401), ("GET", "/api/customers/?page=2", 401)]


def test_the_writer_thread_writes_them_on_its_own(tmp_path):
    app = _buffered_app(tmp_path, seconds=0.05)

    app.test_client().get("/api/customers/")

    for _ in range(100):
        if _logged(app):
            break
        time.sleep(0.05)
    assert _logged(app) == [("GET", "/api/customers/", 401)]
