"""Record every API request (003's /api/logs/), with secrets redacted and payloads truncated."""

import atexit
import json
import re
import threading
import time
from collections.abc import Iterator
from functools import lru_cache

from flask import Flask, current_app, g, request
from sqlalchemy import insert, inspect

from api.errors import current_surface
from portal.background import per_process
from portal.models import ApiLog
from portal.models.base import db, utcnow

# Keys whose values are secrets: passwords, tokens, one-time codes, PINs (not pincode, mpesa_code, customer_code).
SECRET_KEY_RE = re.compile(r"pass|token|secret|otp|^code$|pin$|refresh|access|authorization|signature", re.I)
REDACTED = "[redacted]"
TRUNCATED = "...[truncated]"
_ENCODE = json.JSONEncoder(separators=(",", ":")).encode  # json.dumps(value, separators=(",", ":"))


@lru_cache(maxsize=1024)
def is_secret(key: str) -> bool:
    """Whether a field named `key` holds a secret (cached: payloads repeat the same few keys)."""
    return SECRET_KEY_RE.search(key) is not None


def redact(value):
    if isinstance(value, dict):
        return {k: REDACTED if is_secret(k) and not isinstance(v, dict | list) else redact(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def _encoded(value) -> Iterator[str]:
    """The compact JSON of redact(value) (a payload as json.loads reads it) in pieces, an item or a key and
    its value at a time, so that nothing past what the log keeps is redacted or encoded."""
    if isinstance(value, list):
        yield "["
        for i, item in enumerate(value):
            if i:
                yield ","
            yield from _encoded(item)
        yield "]"
    elif isinstance(value, dict) and any(isinstance(item, dict | list) for item in value.values()):
        yield "{"
        for i, (key, item) in enumerate(value.items()):
            yield f"{',' if i else ''}{_ENCODE(key)}:"
            yield from _encoded(REDACTED if is_secret(key) and not isinstance(item, dict | list) else item)
        yield "}"
    elif isinstance(value, dict) and any(map(is_secret, value)):
        yield _ENCODE(redact(value))
    else:  # a scalar, or an object of scalars and no secrets: encoded whole by json's C encoder
        yield _ENCODE(value)


def redacted_json(value, limit: int) -> str:
    """json.dumps(redact(value), separators=(",", ":")), cut after `limit` characters."""
    pieces, size = [], 0
    for piece in _encoded(value):
        pieces.append(piece)
        size += len(piece)
        if size > limit:
            return "".join(pieces)[:limit] + TRUNCATED
    return "".join(pieces)


def _payload(raw: bytes, content_type: str | None) -> str:
    if content_type and content_type.startswith("multipart/"):
        return "[multipart upload]"
    if not raw:
        return ""
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        # Not JSON: keep nothing that could hold a secret in some other encoding.
        return f"[{len(raw)} bytes of {content_type or 'unknown type'}]"
    return redacted_json(value, current_app.config["API_LOG_PAYLOAD_LIMIT"])


def logged_path() -> str:
    """The path and query with secrets (a webhook's ?secret=, a <secret> in the URL) redacted."""
    path = request.path
    for name, value in (request.view_args or {}).items():
        if is_secret(name) and value:
            path = path.replace(str(value), REDACTED)
    query = "&".join(f"{k}={REDACTED if is_secret(k) else v}" for k, v in request.args.items(multi=True))
    return f"{path}?{query}" if query else path


_INSERT_LOG = insert(ApiLog.__table__)


def _log_row(response) -> dict:
    user = g.get("api_user")
    body = b"" if response.direct_passthrough else response.get_data()
    # The id from the identity map's key: a view that committed has expired the user, and reading its
    # attributes would load it again, in a transaction of its own (on SQLite, a write lock, for a read).
    return {"user_id": inspect(user).identity[0] if user is not None else None, "method": request.method,
            "endpoint": logged_path()[:300], "status_code": response.status_code,
            "request_payload": _payload(b"" if request.mimetype.startswith("multipart/")
                                        else request.get_data(cache=True), request.content_type),
            "response_payload": _payload(body, response.content_type), "created_at": utcnow()}


def leave_out() -> None:
    """Leave this request out of the log if a gateway made it (no user) and it succeeds: what it is for is
    kept where it belongs (an M-Pesa notification accepted is its receipt row: code, amount, phone,
    reference, when), and at a payment gateway's volume a log row each would double the writes. A person's
    request is always logged: who did it is on no other record."""
    g.api_log_left_out = True


def init_request_log(app: Flask) -> None:
    @app.after_request
    def log_api_request(response):
        if request.method == "OPTIONS" or current_surface() is None:
            return response
        left_out = g.get("api_log_left_out") and g.get("api_user") is None and response.status_code < 400
        row = None if left_out else _log_row(response)
        if db.session().in_transaction():  # a view that wrote has committed already; one that read ends here
            db.session.commit()
        if row is None:
            return response
        if app.config["API_LOG_FLUSH_SECONDS"] > 0:
            _writer(app).add(row)
        else:
            _write(app, [row])
        return response


def _write(app: Flask, rows: list[dict]) -> None:
    """The rows in one INSERT and one commit, a transaction of their own."""
    try:
        db.session.connection().execute(_INSERT_LOG, rows)
        db.session.commit()
    except Exception:
        db.session.rollback()
        app.logger.exception("could not write %d API log rows", len(rows))


class _Writer:
    """A thread that writes the rows added, every API_LOG_FLUSH_SECONDS: a commit (a disk sync) per
    request was most of a quick read's cost, and two workers took turns at SQLite's write lock for it.
    What is waiting is written when the process exits; a process killed outright loses that much."""

    def __init__(self, app: Flask):
        self.app = app
        self.rows: list[dict] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._loop, name="mkopo-api-log", daemon=True).start()
        atexit.register(self.flush)

    def add(self, row: dict) -> None:
        with self.lock:
            self.rows.append(row)

    def flush(self) -> None:
        with self.lock:
            rows, self.rows = self.rows, []
        if rows:
            with self.app.app_context():
                _write(self.app, rows)

    def _loop(self) -> None:
        while True:
            time.sleep(self.app.config["API_LOG_FLUSH_SECONDS"])
            self.flush()


_WRITER = "mkopo.api_log_writer"


def _writer(app: Flask) -> _Writer:
    return per_process(app, _WRITER, _Writer)


def flush(app: Flask) -> None:
    """Write the rows `app`'s writer holds now (before its database goes away, say), not at exit."""
    if (writer := app.extensions.get(_WRITER)) is not None:
        writer.flush()
