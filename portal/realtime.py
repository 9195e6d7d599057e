"""Real-time notifications over Socket.IO, as 001 documents: namespace /notifications, event
notification:<user_id>.

A client authenticates when it connects, with the portal's session cookie or a 001 access token (the
`token` of the Socket.IO `auth` payload, a `token` query argument, or an `Authorization: Bearer` header),
and joins its own user's room and no other; anyone else is refused. Each process looks again at what
its connections presented every SOCKET_RECHECK_SECONDS, and drops those that no longer hold: a token
expired or signed out (logout, logout-all), a portal sign-in ended by logout-all or a password change,
a user deactivated.

A notification is pushed once the transaction that created it commits: new Notification rows are
collected when they are flushed and emitted from the session's after_commit, so a rolled-back
transaction (or savepoint) pushes nothing.

The server runs in flask-socketio's threading mode, so `flask run`, the test client and gunicorn keep
working unchanged. With REDIS_URL set every process emits through Redis, so a web worker, a job worker
or a CLI command reaches clients connected to whichever process serves /socket.io/.
"""

import logging
import threading
import time
from dataclasses import dataclass

from flask import Flask, current_app, g, has_app_context, request
from flask_socketio import ConnectionRefusedError, Namespace, SocketIO, join_room
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, SessionTransaction

from portal.models import Notification
from portal.models.base import reading
from portal.services.auth import active_sessions, signed_in_staff

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


@dataclass(frozen=True)
class Credential:
    """What a connection presented: its user and token version, and for a token its API session and expiry."""

    user_id: int
    token_version: int
    session_id: str | None = None  # a token's API session; None for the portal's cookie
    expires: float | None = None  # a token's exp, in epoch seconds

    @property
    def token(self) -> tuple[str, int, int] | None:
        """A token's (session id, user id, version), as auth checks them; None for the portal's cookie."""
        return (self.session_id, self.user_id, self.token_version) if self.session_id else None


class NotificationsNamespace(Namespace):
    def __init__(self, namespace: str):
        super().__init__(namespace)
        self.credentials: dict[str, Credential] = {}  # this process's connections, by sid
        self._watching = False  # a thread rechecks them while there are any
        self._lock = threading.Lock()

    def on_connect(self, auth=None):
        credential = _authenticate(auth)
        if credential is None:
            raise ConnectionRefusedError("Authentication required: sign in, or send a 001 access token.")
        join_room(room(credential.user_id), namespace=NAMESPACE)
        self.credentials[request.sid] = credential
        if current_app.config["SOCKET_RECHECK_SECONDS"] > 0:
            self._watch(current_app._get_current_object())

    def on_disconnect(self, reason=None):
        self.credentials.pop(request.sid, None)

    def drop_lapsed(self) -> list[str]:
        """Disconnect this process's connections whose credential no longer holds (in two queries); their
        sids."""
        held = dict(self.credentials)
        tokens = active_sessions([c.token for c in held.values() if c.token])
        portal = signed_in_staff({(c.user_id, c.token_version) for c in held.values() if not c.token})
        now = time.time()

        def holds(c: Credential) -> bool:
            if c.token:
                return c.token in tokens and c.expires > now
            return (c.user_id, c.token_version) in portal
        lapsed = [sid for sid, c in held.items() if not holds(c)]
        for sid in lapsed:
            self.socketio.server.disconnect(sid, namespace=NAMESPACE)
            self.credentials.pop(sid, None)
        return lapsed

    def _watch(self, app: Flask) -> None:
        """Recheck every SOCKET_RECHECK_SECONDS, from now until no connection is left."""
        with self._lock:
            if self._watching:
                return
            self._watching = True
        self.socketio.start_background_task(self._recheck_while_connected, app)

    def _recheck_while_connected(self, app: Flask) -> None:
        while True:
            self.socketio.sleep(app.config["SOCKET_RECHECK_SECONDS"])
            with self._lock:  # a connection added before this look keeps the thread; one after starts another
                if not self.credentials:
                    self._watching = False
                    return
            with app.app_context():
                try:
                    reading()
                    self.drop_lapsed()
                except Exception:  # nothing above this thread would report it; the next round retries
                    log.exception("Socket.IO: could not check the connections' credentials")


def _presented_token(auth) -> str | None:
    if isinstance(auth, dict) and auth.get("token"):
        return str(auth["token"])
    if request.args.get("token"):
        return request.args["token"]
    header = request.headers.get("Authorization", "")
    return header[7:] if header.startswith("Bearer ") else None


def _authenticate(auth) -> Credential | None:
    """What the connecting user presented: a token decides alone (a bad one is refused); else the portal
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
            claims = g.token_claims
            return Credential(g.api_user.id, claims["tv"], claims["sid"], claims["exp"])
        if not current_user.is_authenticated:
            return None
        return Credential(current_user.id, current_user.token_version)


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
