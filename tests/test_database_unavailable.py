"""A database that is busy (SQLite's write lock held past the busy timeout) or out of reach answers 503
with Retry-After, in the API surface's error shape or as a portal page, never a 500; a bad statement, or
a fault that retrying would not cure, is still a 500."""

import sqlite3

import psycopg
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


def locked(tmp_path_factory) -> sqlite3.OperationalError:
    """What SQLite's BEGIN IMMEDIATE raises, unwrapped, when another connection holds the write lock."""
    path = tmp_path_factory.mktemp("locked") / "x.db"
    holder, waiter = (sqlite3.connect(path, isolation_level=None, timeout=0) for _ in range(2))
    holder.execute("BEGIN IMMEDIATE")
    try:
        waiter.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        return exc
    finally:
        holder.close()
        waiter.close()
    raise AssertionError("the second writer was let in")


LOCKED = sqlite3.OperationalError("database is locked")  # a driver that gives no error code
GONE = OperationalError("SELECT 1", {}, psycopg.OperationalError("server closed the connection unexpectedly"))
TIMED_OUT = OperationalError("SELECT 1", {}, psycopg.errors.QueryCanceled("canceling statement due to timeout"))


@pytest.fixture(params=["raw", "wrapped", "no code", "pg gone", "pg timeout"])
def busy(request, tmp_path_factory):
    real = locked(tmp_path_factory)
    return {"raw": real, "wrapped": OperationalError("INSERT", {}, real), "no code": LOCKED, "pg gone": GONE,
            "pg timeout": TIMED_OUT}[request.param]


def test_sqlite_reports_the_lock_as_busy(tmp_path_factory):
    assert locked(tmp_path_factory).sqlite_errorcode == sqlite3.SQLITE_BUSY
def test_a_busy_database_is_a_503_in_the_surface_shape(app, client, monkeypatch, busy):
    monkeypatch.setitem(app.config, "MPESA_WEBHOOK_SECRET", SECRET)
    monkeypatch.setattr(mpesa_inbox, "accept", raising(busy))

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


@pytest.mark.parametrize("orig", [sqlite3.OperationalError("no such column: locked_at"),
                                  psycopg.errors.StatementTooComplex("stack depth limit exceeded")])
def test_a_bad_statement_is_still_a_500(client, login_as, monkeypatch, orig):
    login_as()
    monkeypatch.setattr(dashboard, "tiles_for", raising(OperationalError("SELECT", {}, orig)))

    assert client.get("/portal/").status_code == 500
