"""Real-time notifications over Socket.IO, as 001 documents: namespace /notifications, event
notification:<user_id>.

A client authenticates when it connects, with the portal's session cookie or a 001 access token (the
`token` of the Socket.IO `auth` payload, a `token` query argument, or an `Authorization: Bearer` header),
and joins its own user's room and no other; anyone else is refused. A notification is pushed once the
transaction that created it commits: new Notification rows are collected when they are flushed and
emitted from the session's after_commit, so a rolled-back transaction (or savepoint) pushes nothing.

The server runs in flask-socketio's threading mode, so `flask run`, the test client and gunicorn keep
working unchanged. With REDIS_URL set every process emits through Redis, so a web worker, a job worker
or a CLI command reaches clients connected to whichever process serves /socket.io/.
"""

import logging

from flask import Flask, current_app, g, has_app_context, request
from flask_socketio import ConnectionRefusedError, Namespace, SocketIO, join_room
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, SessionTransaction

from portal.models import Notification

NAMESPACE = "/notifications"
_PENDING = "mkopo.new_notifications"
log = logging.getLogger("mkopo.realtime")


def event_name(user_id: int) -> str:
    return f"notification:{user_id}"


def room(user_id: int) -> str:
    return f"user:{user_id}"


def payload(note: Notification) -> dict:
    """The event's data: the notification in 001's field names (as GET /api/users/notifications/ lists it)."""
    return {"id": note.id, "user_id": note.user_id, "type": note.kind, "title": note.title, "message": note.message,
            "is_read": note.read_at is not None, "read_at": note.read_at.isoformat() if note.read_at else None,
            "created_at": note.created_at.isoformat() if note.created_at else None}


def init_app(app: Flask) -> SocketIO:
    """Give `app` its own Socket.IO server (app.extensions["socketio"]) and the session hooks that feed it.

    One server per app, not a module-level SocketIO: flask-socketio's object holds a single server, and
    tests build several apps in one process.
    """
    # The test client cannot run over a queue, and tests are one process anyway.
    queue = None if app.testing else app.config.get("REDIS_URL")
    socketio = SocketIO(app, async_mode="threading", message_queue=queue, namespaces=[NAMESPACE])
    socketio.on_namespace(NotificationsNamespace(NAMESPACE))
    if not event.contains(Session, "after_flush", _collect_new):
        event.listen(Session, "after_flush", _collect_new)
        event.listen(Session, "after_commit", _emit_committed)
        event.listen(Session, "after_transaction_end", _forget_at_end)
    return socketio


class NotificationsNamespace(Namespace):
    def on_connect(self, auth=None):
        user_id = _authenticated_user_id(auth)
        if user_id is None:
            raise ConnectionRefusedError("Authentication required: sign in, or send a 001 access token.")
        join_room(room(user_id), namespace=NAMESPACE)


def _presented_token(auth) -> str | None:
    if isinstance(auth, dict) and auth.get("token"):
        return str(auth["token"])
    if request.args.get("token"):
        return request.args["token"]
    header = request.headers.get("Authorization", "")
    return header[7:] if header.startswith("Bearer ") else None


def _authenticated_user_id(auth) -> int | None:
    """The connecting user's id: a presented token decides alone (a bad one is refused); else the portal
    session. Checked in a fresh app context, so nothing cached in `g` (flask-login's user) carries over."""
    from flask_login import current_user

    from api import tokens
    from portal.services.errors import AuthFailed

    token = _presented_token(auth)
    with current_app.app_context():
        if token is not None:
            try:
                tokens.verify_token(token, "access")
            except AuthFailed:
                return None
            return g.api_user.id
        return current_user.id if current_user.is_authenticated else None


def _collect_new(session: Session, _flush_context) -> None:
    # The payload is taken now: after commit the row is expired and may not be loaded again.
    new = [(note, payload(note)) for note in session.new if isinstance(note, Notification)]
    if new:
        session.info.setdefault(_PENDING, []).extend(new)


def _emit_committed(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending or not has_app_context():
        return
    socketio = current_app.extensions.get("socketio")
    if socketio is None:
        return
    for note, data in pending:
        state = inspect(note)
        if not state.persistent or state.was_deleted:  # undone by a rolled-back savepoint, or deleted since
            continue
        try:
            socketio.emit(event_name(data["user_id"]), data, namespace=NAMESPACE, to=room(data["user_id"]))
        except Exception:  # the row is committed; a push that fails must not fail the request
            log.exception("could not push notification %s", data["id"])


def _forget_at_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended: committed (and emitted) or rolled back
        session.info.pop(_PENDING, None)
