"""Helpers for the API contract tests: each surface's error body, tokens, sign-ins.

Surfaces are named by their document number: 000 microfinance, 001 SokoCredit,
002 ChamaHub, 003 RepaySync, 004 Vault5.
"""

from datetime import timedelta

import pytest
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token

from portal.models import Customer, Notification, Role
from portal.models.base import db
from tests import factories

PASSWORD = factories.PASSWORD
SURFACES = ("000", "001", "002", "003", "004")
VALIDATION_STATUS = {"000": 400, "001": 400, "002": 400, "003": 400, "004": 422}
VAULT5_CODES = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED",
                422: "VALIDATION_ERROR", 429: "RATE_LIMITED"}
# The key that carries the message in the error bodies of 000, 001 and 002.
MESSAGE_KEY = {"000": "error", "001": "message", "002": "detail"}


def _field_errors(errors, fields) -> None:
    assert isinstance(errors, dict), errors
    for field in fields:
        assert field in errors, f"no error for {field!r} in {errors}"
    for field, messages in errors.items():
        assert isinstance(messages, list) and messages, (field, messages)
        assert all(isinstance(m, str) and m for m in messages), (field, messages)


def assert_error(response, surface: str, status: int, *fields: str) -> dict:
    """Check status and that the body is `surface`'s documented error shape; return the body.

    `fields` are the fields the body must name as invalid.
    """
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.is_json, response.get_data(as_text=True)[:300]
    body = response.get_json()
    if surface in MESSAGE_KEY:
        key = MESSAGE_KEY[surface]
        assert set(body) <= {key, "errors"}, body
        assert isinstance(body[key], str) and body[key], body
        if fields:
            _field_errors(body.get("errors"), fields)
    elif surface == "003":
        if fields:
            assert set(body) == {"errors"}, body
            _field_errors(body["errors"], fields)
        else:
            assert set(body) == {"error"}, body
            assert isinstance(body["error"], str) and body["error"], body
    elif surface == "004":
        assert set(body) == {"success", "error"}, body
        assert body["success"] is False, body
        error = body["error"]
        assert set(error) <= {"code", "message", "details"}, error
        assert isinstance(error["message"], str) and error["message"], error
        assert isinstance(error["code"], str) and error["code"], error
        if status in VAULT5_CODES:
            assert error["code"] == VAULT5_CODES[status], error
        if fields:
            _field_errors(error.get("details"), fields)
    else:
        raise AssertionError(f"unknown surface {surface}")
    return body


def assert_invalid(response, surface: str, *fields: str) -> dict:
    """Invalid input: 400 everywhere, 422 VALIDATION_ERROR in 004, in the surface's shape."""
    return assert_error(response, surface, VALIDATION_STATUS[surface], *fields)


def error_fields(body: dict, surface: str) -> set[str]:
    """The field names an error body marks as invalid."""
    if surface == "004":
        return set(body["error"].get("details", {}))
    return set(body.get("errors", {}))


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def claims_of(app, token: str) -> dict:
    with app.test_request_context():
        return decode_token(token)


def expired_copy(app, token: str) -> str:
    """A token with the same identity, session and version as `token`, already expired."""
    claims = claims_of(app, token)
    extra = {"sid": claims["sid"], "tv": claims["tv"]}
    with app.test_request_context():
        if claims["type"] == "refresh":
            return create_refresh_token(identity=claims["sub"], additional_claims={**extra, "jti": claims["jti"]},
                                        expires_delta=timedelta(seconds=-1))
        return create_access_token(identity=claims["sub"], additional_claims=extra,
                                   expires_delta=timedelta(seconds=-1))


def notifications_for(user) -> list[Notification]:
    return list(db.session.scalars(db.select(Notification).where(Notification.user_id == user.id)
                                   .order_by(Notification.id)))


def code_from_notification(user, kind: str) -> str:
    """The code or token in the newest notification of `kind` ("Your code is <code>. ...")."""
    notes = [n for n in notifications_for(user) if n.kind == kind]
    assert notes, f"no {kind} notification for {user}"
    message = notes[-1].message
    assert message.startswith("Your code is "), message
    return message.removeprefix("Your code is ").split(". ", 1)[0]


@pytest.fixture
def login_001(client):
    """Sign in through 001's /auth/login and return its JSON body."""

    def login(user, password: str = PASSWORD) -> dict:
        response = client.post("/auth/login", json={"username": user.username, "password": password})
        assert response.status_code == 200, response.get_json()
        return response.get_json()
    return login


@pytest.fixture
def login_003(client):
    """Sign in through 003's /api/auth/token/ and return {access, refresh}."""

    def login(user, password: str = PASSWORD) -> dict:
        response = client.post("/api/auth/token/", json={"username": user.username, "password": password})
        assert response.status_code == 200, response.get_json()
        return response.get_json()
    return login


@pytest.fixture
def make_customer(db):
    def make(**kwargs) -> Customer:
        return factories.CustomerFactory(**kwargs)
    return make


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMIN)


@pytest.fixture
def admin_headers(admin, api_headers):
    return api_headers(admin)


def customer_visible_to(make_user, make_customer, role: Role):
    """A user of `role` and a customer that user may see under the visibility rules."""
    user = make_user(role)
    if role == Role.COLLECTION_OFFICER:
        customer = make_customer(assigned_officer_id=user.id)
    elif role == Role.BORROWER:
        customer = make_customer(user_id=user.id)
    else:
        customer = make_customer(created_by_id=user.id)
    return user, customer
