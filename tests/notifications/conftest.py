"""Notification fixtures: users with notifications made through the notifier (as the services make them),
and Socket.IO test clients on the app's /notifications namespace, disconnected after each test."""

import pytest

from portal.models import Role
from portal.models.base import db
from portal.realtime import NAMESPACE
from portal.services import notifier


@pytest.fixture
def notify():
    """Send `user` a notification and commit it, as a service's caller would."""

    def send(user, title: str = "Loan approved", message: str = "Your loan was approved.", kind: str = "loan_approved"):
        note = notifier.notify(user, kind, title, message)
        db.session.commit()
        return note
    return send


@pytest.fixture
def alice(make_user):
    return make_user(Role.LOAN_OFFICER, first_name="Alice")


@pytest.fixture
def bob(make_user):
    return make_user(Role.LOAN_OFFICER, first_name="Bob")


@pytest.fixture
def socketio(app):
    return app.extensions["socketio"]


@pytest.fixture
def connect(app, socketio):
    """A Socket.IO test client on /notifications (auth=, query_string=, headers=, flask_test_client=)."""
    made = []

    def make(**kwargs):
        client = socketio.test_client(app, namespace=NAMESPACE, **kwargs)
        made.append(client)
        return client
    yield make
    for client in made:
        if client.is_connected(NAMESPACE):
            client.disconnect(NAMESPACE)


@pytest.fixture
def access_token(app):
    """A 001 access token for `user` (a new API session)."""
    from api import tokens

    def token(user) -> str:
        with app.test_request_context():
            access, _ = tokens.issue_pair(user, "lender")
        db.session.commit()
        return access
    return token
