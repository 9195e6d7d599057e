"""A database that is busy (SQLite's write lock held past the busy timeout) or out of reach answers 503
with Retry-After, in the API surface's error shape or as a portal page, never a 500; a bad statement is
still a bug (500)."""

import sqlite3

import pytest
from sqlalchemy.exc import OperationalError

from portal.errors import BUSY
from portal.services import dashboard, mpesa_inbox
from tests.api.conftest import assert_error

SECRET = "busy-test-secret"


def raising(exc):
    def fail(*args, **kwargs):
        raise exc
    return fail


LOCKED = sqlite3.OperationalError("database is locked")  # as SQLite's BEGIN IMMEDIATE raises it, unwrapped
GONE = OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))


@pytest.mark.parametrize("exc", [LOCKED, OperationalError("INSERT", {}, LOCKED), GONE], ids=["raw", "wrapped", "pg"])
def test_a_busy_database_is_a_503_in_the_surface_shape(app, client, monkeypatch, exc):
    monkeypatch.setitem(app.config, "MPESA_WEBHOOK_SECRET", SECRET)
    monkeypatch.setattr(mpesa_inbox, "accept", raising(exc))

    response = client.post("/repayments/mpesa-webhook", headers={"X-Webhook-Secret": SECRET},
                           json={"phone_number": "0712345678", "amount_paid": 10, "mpesa_code": "QBUSY00001"})

    body = assert_error(response, "001", 503)
    assert response.headers["Retry-After"] == "5" and BUSY in str(body)


def test_a_busy_database_is_a_portal_page_saying_so(client, login_as, monkeypatch):
    login_as()
    monkeypatch.setattr(dashboard, "tiles_for", raising(LOCKED))

    response = client.get("/portal/")

    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert BUSY in response.get_data(as_text=True)


def test_a_bad_statement_on_sqlite_is_still_a_500(client, login_as, monkeypatch):
    login_as()
    monkeypatch.setattr(dashboard, "tiles_for", raising(OperationalError("SELECT", {}, sqlite3.OperationalError(
        "no such column: nonsense"))))

    assert client.get("/portal/").status_code == 500
