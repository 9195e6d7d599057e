"""001's Socket.IO namespace /notifications: who may connect, and `notification:<user_id>` pushed to its
user alone, after the transaction that made it commits and never for one rolled back."""

import time
from types import SimpleNamespace

import pytest
from flask_migrate import upgrade

from portal import create_app, realtime
from portal.models import User
from portal.models.base import db
from portal.realtime import NAMESPACE, payload
from portal.services import auth, notifier
from tests.factories import UserFactory
from tests.queries import statements_sent


def events(client) -> list[dict]:
    return client.get_received(NAMESPACE)


def test_a_connection_without_credentials_is_refused(connect):
    assert not connect().is_connected(NAMESPACE)


def presented(how: str, token: str) -> dict:
    """The test client's arguments that present `token` the way `how` says."""
    return {"auth": {"auth": {"token": token}}, "query": {"query_string": f"token={token}"},
            "header": {"headers": {"Authorization": f"Bearer {token}"}}}[how]


@pytest.mark.parametrize("how", ["auth", "query", "header"])
def test_a_bad_token_is_refused(connect, how):
    assert not connect(**presented(how, "not-a-jwt")).is_connected(NAMESPACE)


def test_a_bad_token_is_refused_even_beside_a_valid_portal_session(client, connect, login_as, alice):
    login_as(user=alice)

    assert not connect(flask_test_client=client, auth={"token": "not-a-jwt"}).is_connected(NAMESPACE)


def test_a_refresh_token_does_not_open_a_socket(app, connect, alice):
    from api import tokens

    with app.test_request_context():
        _, refresh = tokens.issue_pair(alice, "lender")
    db.session.commit()

    assert not connect(auth={"token": refresh}).is_connected(NAMESPACE)


def test_a_revoked_token_is_refused(connect, access_token, alice):
    token = access_token(alice)
    auth.end_all_sessions(alice)
    db.session.commit()

    assert not connect(auth={"token": token}).is_connected(NAMESPACE)


def test_the_default_namespace_is_not_served(app, socketio, access_token, alice):
    client = socketio.test_client(app, auth={"token": access_token(alice)})

    assert not client.is_connected("/")


@pytest.mark.parametrize("how", ["auth", "query", "header"])
def test_a_client_with_a_token_receives_its_users_notification_after_commit(connect, access_token, notify, alice,
                                                                            how):
    client = connect(**presented(how, access_token(alice)))
    assert client.is_connected(NAMESPACE)

    note = notifier.notify(alice, "loan_approved", "Loan approved", "Your loan LN-1 was approved.")
    assert events(client) == []  # flushed, not committed: nothing yet
    db.session.commit()

    received = events(client)
    assert [e["name"] for e in received] == [f"notification:{alice.id}"]
    data = received[0]["args"][0]
    assert data == payload(note)
    assert data["title"] == "Loan approved" and data["type"] == "loan_approved" and data["is_read"] is False


def test_a_rolled_back_notification_is_never_pushed(connect, access_token, alice):
    client = connect(auth={"token": access_token(alice)})

    notifier.notify(alice, "loan_approved", "Loan approved", "Rolled back.")
    db.session.rollback()
    db.session.commit()

    assert events(client) == []


def test_a_notification_in_a_rolled_back_savepoint_is_not_pushed_but_its_neighbours_are(connect, access_token,
                                                                                         alice):
    client = connect(auth={"token": access_token(alice)})

    kept = notifier.notify(alice, "kyc", "Kept", "Before the savepoint.")
    with pytest.raises(RuntimeError), db.session.begin_nested():
        notifier.notify(alice, "loan_approved", "Undone", "Inside a refused operation.")
        raise RuntimeError("refused")
    db.session.commit()

    assert [e["args"][0]["id"] for e in events(client)] == [kept.id]


def test_a_notification_deleted_before_commit_is_not_pushed(connect, access_token, alice):
    client = connect(auth={"token": access_token(alice)})

    note = notifier.notify(alice, "test", "Gone", "Deleted in the same transaction.")
    db.session.delete(note)
    db.session.commit()

    assert events(client) == []


def test_a_client_never_receives_another_users_notification(connect, access_token, alice, bob, notify):
    alices = connect(auth={"token": access_token(alice)})
    bobs = connect(auth={"token": access_token(bob)})
    bobs.emit("join", {"room": f"user:{alice.id}"}, namespace=NAMESPACE)  # no such event: rooms are the server's

    notify(alice, title="For Alice")

    assert [e["name"] for e in events(alices)] == [f"notification:{alice.id}"]
    assert events(bobs) == []


def test_the_portal_session_cookie_authenticates_a_socket(client, connect, login_as, alice, notify):
    login_as(user=alice)
    socket = connect(flask_test_client=client)
    assert socket.is_connected(NAMESPACE)

    notify(alice, title="Via the portal")

    assert [e["args"][0]["title"] for e in events(socket)] == ["Via the portal"]


def test_a_signed_out_portal_client_is_refused(client, connect):
    client.get("/login")

    assert not connect(flask_test_client=client).is_connected(NAMESPACE)


def test_each_portal_socket_is_its_own_user(app, client, connect, login_as, alice, bob, notify):
    login_as(user=alice)
    alices = connect(flask_test_client=client)
    bobs_client = app.test_client()
    with bobs_client.session_transaction() as session:
        session["_user_id"] = bob.get_id()
        session["_fresh"] = True
    bobs = connect(flask_test_client=bobs_client)

    notify(bob, title="For Bob")

    assert events(alices) == []
    assert [e["name"] for e in events(bobs)] == [f"notification:{bob.id}"]


def test_create_test_over_the_api_is_pushed_to_the_callers_socket(client, connect, api_headers, access_token, alice):
    socket = connect(auth={"token": access_token(alice)})

    response = client.post("/api/users/notifications/create-test", json={"title": "Ping"}, headers=api_headers(alice))

    assert response.status_code == 201
    received = events(socket)
    assert [e["name"] for e in received] == [f"notification:{alice.id}"]
    assert received[0]["args"][0] == response.get_json()["notification"]  # one shape: the API's and the push's


def test_a_refused_api_request_pushes_nothing(app, client, connect, api_headers, access_token, alice, monkeypatch):
    socket = connect(auth={"token": access_token(alice)})
    monkeypatch.setitem(app.config, "ENV_NAME", "production")

    assert client.post("/api/users/notifications/create-test", json={}, headers=api_headers(alice)).status_code == 403
    assert events(socket) == []


def test_a_portal_action_does_not_push_but_tells_the_badge(client, connect, login_as, post, alice, notify):
    note = notify(alice)
    login_as(user=alice)
    socket = connect(flask_test_client=client)

    response = post(f"/portal/notifications/{note.id}/read")

    assert response.status_code == 200 and "notifications-changed" in response.headers["HX-Trigger"]
    assert events(socket) == []


def test_a_socket_from_another_site_is_refused_before_any_session(client):
    # A cross-site page cannot open a socket that rides on the portal's cookie (engine.io checks the Origin).
    response = client.get("/socket.io/?EIO=4&transport=polling", headers={"Origin": "https://evil.example"})

    assert response.status_code == 400 and b"Not an accepted origin" in response.data


# --- a connection outlives nothing it presented ------------------------------------------------------------


def namespace(socketio):
    return socketio.server.namespace_handlers[NAMESPACE]


def test_sockets_whose_token_was_signed_out_are_dropped_at_the_next_check(socketio, connect, access_token, alice,
                                                                           bob, notify):
    alices, bobs = connect(auth={"token": access_token(alice)}), connect(auth={"token": access_token(bob)})
    auth.end_all_sessions(alice)  # 001's logout-all
    db.session.commit()

    assert namespace(socketio).drop_lapsed() and not alices.is_connected(NAMESPACE)
    assert bobs.is_connected(NAMESPACE)
    notify(bob, title="Still here")
    assert [e["args"][0]["title"] for e in events(bobs)] == ["Still here"]


def test_a_socket_is_dropped_once_its_token_expires(socketio, connect, access_token, alice, monkeypatch):
    socket = connect(auth={"token": access_token(alice)})
    assert namespace(socketio).drop_lapsed() == [] and socket.is_connected(NAMESPACE)
    expires = next(iter(namespace(socketio).credentials.values())).expires

    monkeypatch.setattr(realtime, "time", SimpleNamespace(time=lambda: expires))

    assert len(namespace(socketio).drop_lapsed()) == 1 and not socket.is_connected(NAMESPACE)


def test_a_portal_socket_is_dropped_once_its_user_is_deactivated(socketio, client, connect, login_as, alice):
    login_as(user=alice)
    socket = connect(flask_test_client=client)
    assert namespace(socketio).drop_lapsed() == [] and socket.is_connected(NAMESPACE)

    alice.is_active = False
    db.session.commit()

    assert len(namespace(socketio).drop_lapsed()) == 1 and not socket.is_connected(NAMESPACE)
    assert namespace(socketio).credentials == {}


def test_a_portal_socket_is_dropped_once_its_sign_in_is_ended_elsewhere(socketio, client, connect, login_as,
                                                                         access_token, alice, bob):
    login_as(user=alice)
    alices = connect(flask_test_client=client)
    bobs = connect(auth={"token": access_token(bob)})

    auth.end_all_sessions(alice)  # logout-all from another device; a password change does the same
    db.session.commit()

    assert namespace(socketio).drop_lapsed() and not alices.is_connected(NAMESPACE)
    assert bobs.is_connected(NAMESPACE)


def test_checking_the_connections_costs_two_queries_however_many(socketio, client, connect, login_as, access_token,
                                                                  alice, bob):
    login_as(user=alice)
    connect(flask_test_client=client)
    check = namespace(socketio).drop_lapsed
    few = statements_sent(check)
    for _ in range(5):
        connect(auth={"token": access_token(bob)})
        connect(auth={"token": access_token(alice)})

    assert len(few) == 1 and len(statements_sent(check)) == 2  # the portal's users; the tokens' sessions


def test_a_process_rechecks_its_sockets_while_any_are_connected(tmp_path):
    """SOCKET_RECHECK_SECONDS on, as served: on its own database file, which the checking thread reads."""
    from api import tokens

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'sockets.db'}", "SECRET_KEY": "s" * 40,
                      "SOCKET_RECHECK_SECONDS": 0.05})
    with app.app_context():
        upgrade()
        user = UserFactory()
        with app.test_request_context():
            token, _ = tokens.issue_pair(user, "lender")
        db.session.commit()
        user_id = user.id
    socketio = app.extensions["socketio"]
    socket = socketio.test_client(app, namespace=NAMESPACE, auth={"token": token})
    assert socket.is_connected(NAMESPACE)

    with app.app_context():
        auth.end_all_sessions(db.session.get(User, user_id))
        db.session.commit()
    for _ in range(100):
        if not socket.is_connected(NAMESPACE) and not namespace(socketio)._watching:
            break
        time.sleep(0.02)

    assert not socket.is_connected(NAMESPACE)
    assert not namespace(socketio)._watching  # no connection left: the thread ended
    with app.app_context():
        user = db.session.get(User, user_id)
        with app.test_request_context():
            token, _ = tokens.issue_pair(user, "lender")
        db.session.commit()
    again = socketio.test_client(app, namespace=NAMESPACE, auth={"token": token})
    assert again.is_connected(NAMESPACE) and namespace(socketio)._watching  # a new connection: a new thread
    again.disconnect(NAMESPACE)
    for _ in range(100):
        if not namespace(socketio)._watching:
            break
        time.sleep(0.02)
    assert not namespace(socketio)._watching
    with app.app_context():
        db.engine.dispose()
