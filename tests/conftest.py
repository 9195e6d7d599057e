"""Fixtures: one migrated database per run, each test inside a transaction that is rolled back.

MKOPO_TEST_DATABASE_URL picks PostgreSQL (make test sets it from TEST_DATABASE_URL);
otherwise a fresh SQLite file in a temporary directory.
"""

import os
import re

import pytest
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from portal import create_app
from portal.extensions import limiter
from portal.models import Role
from portal.models.base import db as _db
from tests import factories
from tests.pages import HX


def _fresh_postgres(url: str) -> str:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    url = os.environ.get("MKOPO_TEST_DATABASE_URL")
    if url:
        return _fresh_postgres(url)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


class FreshContextClient(FlaskClient):
    """Each request gets its own app context, so its own session and `g`, as in production.

    (Flask would otherwise reuse the test's app context, leaking `g` between requests.)
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        _db.session.expire_all()  # the test's objects reload what the request changed
        return response


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    os.environ.setdefault("MKOPO_INSTANCE_DIR", str(tmp_path_factory.mktemp("instance")))
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "test-secret-" + "x" * 32,
                      "JWT_SECRET_KEY": "test-jwt-secret-" + "y" * 32, "SERVER_NAME": "localhost"})
    app.test_client_class = FreshContextClient
    # The M-Pesa simulator's callbacks wait here until a test delivers them (`mpesa_callbacks`).
    app.extensions["mpesa_delivery"] = lambda path, payload: MPESA_OUTBOX.append((path, payload))
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        _db.engine.dispose()


MPESA_OUTBOX: list[tuple[str, dict]] = []


@pytest.fixture
def mpesa_callbacks(client):
    """Deliver the simulator's queued callbacks through the app, as Safaricom's servers would."""
    MPESA_OUTBOX.clear()

    def deliver():
        from portal.services import daraja

        with client.application.app_context():
            secret = daraja.callback_secret()
        sent = [client.post(f"/mpesa/daraja/{secret}{path}", json=payload) for path, payload in MPESA_OUTBOX]
        MPESA_OUTBOX.clear()
        return sent
    return deliver


@pytest.fixture(autouse=True)
def db(app):
    """The app's db, with this test's work rolled back afterwards (commits become savepoints).

    Flask-SQLAlchemy binds sessions to `db.engines[None]`, so that entry is pointed at one
    connection holding an outer transaction; every session (the test's and each request's)
    joins it through a savepoint.
    """
    with app.app_context():
        engines = _db.engines
        engine = engines[None]
        connection = engine.connect()
        outer = connection.begin()
        original = _db.session
        engines[None] = connection
        _db.session = _db._make_scoped_session({"join_transaction_mode": "create_savepoint"})
        limiter.reset()
        try:
            yield _db
        finally:
            _db.session.remove()
            _db.session = original
            engines[None] = engine
            outer.rollback()
            connection.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_user(db):
    def make(role: Role = Role.LOAN_OFFICER, **kwargs):
        return factories.UserFactory(role=role, **kwargs)
    return make


@pytest.fixture
def login_as(client, make_user):
    """Sign a portal session in as a new user of `role` (or as `user`), and return that user."""

    def login(role: Role = Role.LOAN_OFFICER, user=None, **kwargs):
        user = user or make_user(role, **kwargs)
        with client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
        return user
    return login


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|"X-CSRFToken": "([^"]+)"')


@pytest.fixture
def csrf_token(client):
    """Fetch a page and return the CSRF token it carries for this client's session."""

    def token(path: str = "/login") -> str:
        html = client.get(path).get_data(as_text=True)
        match = CSRF_RE.search(html)
        assert match, f"no CSRF token on {path}"
        return match.group(1) or match.group(2)
    return token


@pytest.fixture
def post(client, csrf_token):
    """POST a portal form as HTMX does (the CSRF token in the header, as base.html sends it); htmx=False for a
    plain browser post."""

    def send(path: str, data: dict | None = None, *, htmx: bool = True, **kwargs):
        headers = {"X-CSRFToken": csrf_token("/portal/")}
        if htmx:
            headers.update(HX)
        return client.post(path, data=data or {}, headers=headers, **kwargs)
    return send


@pytest.fixture
def api_headers(app):
    """Authorization headers with a fresh access token for `user`."""
    from api import tokens

    def headers(user, role_name: str | None = None) -> dict:
        with app.test_request_context():
            access, _ = tokens.issue_pair(user, role_name or user.role.value)
        return {"Authorization": f"Bearer {access}"}
    return headers
