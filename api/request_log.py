"""Record every API request (003's /api/logs/), with secrets redacted and payloads truncated."""

import json
import re

from flask import Flask, current_app, g, request
from sqlalchemy import insert

from api.errors import api_error_response, current_surface
from portal.models import ApiLog
from portal.models.base import db, utcnow

# Keys whose values are secrets: passwords, tokens, one-time codes, PINs (not pincode, mpesa_code, customer_code).
SECRET_KEY_RE = re.compile(r"pass|token|secret|otp|^code$|pin$|refresh|access|authorization|signature", re.I)
REDACTED = "[redacted]"


def redact(value):
    if isinstance(value, dict):
        return {k: REDACTED if SECRET_KEY_RE.search(str(k)) and not isinstance(v, dict | list) else redact(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def _payload(raw: bytes, content_type: str | None) -> str:
    if content_type and content_type.startswith("multipart/"):
        return "[multipart upload]"
    if not raw:
        return ""
    limit = current_app.config["API_LOG_PAYLOAD_LIMIT"]
    try:
        text = json.dumps(redact(json.loads(raw)), separators=(",", ":"))
    except (ValueError, UnicodeDecodeError):
        # Not JSON: keep nothing that could hold a secret in some other encoding.
        return f"[{len(raw)} bytes of {content_type or 'unknown type'}]"
    return text if len(text) <= limit else text[:limit] + "...[truncated]"


def logged_path() -> str:
    """The path and query with secrets (a webhook's ?secret=, a <secret> in the URL) redacted."""
    path = request.path
    for name, value in (request.view_args or {}).items():
        if SECRET_KEY_RE.search(name) and value:
            path = path.replace(str(value), REDACTED)
    query = "&".join(f"{k}={REDACTED if SECRET_KEY_RE.search(k) else v}" for k, v in request.args.items(multi=True))
    return f"{path}?{query}" if query else path


_INSERT_LOG = insert(ApiLog.__table__)


def commit_with_log() -> None:
    """Have the view's work commit together with the request's log row: one transaction, one write to
    disk. Should that commit fail, the client is answered 500 instead (nothing the view did is kept)."""
    g.commit_with_log = True


def _log_row(response) -> dict:
    user = g.get("api_user")
    body = b"" if response.direct_passthrough else response.get_data()
    return {"user_id": user.id if user is not None else None, "method": request.method,
            "endpoint": logged_path()[:300], "status_code": response.status_code,
            "request_payload": _payload(b"" if request.mimetype.startswith("multipart/")
                                        else request.get_data(cache=True), request.content_type),
            "response_payload": _payload(body, response.content_type), "created_at": utcnow()}


def init_request_log(app: Flask) -> None:
    @app.after_request
    def log_api_request(response):
        with_view = g.pop("commit_with_log", False)
        if request.method == "OPTIONS" or current_surface() is None:
            if with_view:  # nothing to log: the view's work commits alone
                db.session.commit()
            return response
        if with_view and response.status_code < 400:
            try:
                db.session.connection().execute(_INSERT_LOG, _log_row(response))
                db.session.commit()
                return response
            except Exception:
                db.session.rollback()
                app.logger.exception("could not commit the request with its API log row")
                response = api_error_response(500, "The request could not be saved; send it again.")
        elif with_view:  # answered with an error after all: keep nothing of it
            db.session.rollback()
        # Built before the commit expires the user: reloading it afterwards would make the log's own
        # transaction read before it writes, which SQLite refuses ("database is locked") under contention.
        row = _log_row(response)
        db.session.commit()  # end the view's transaction: the log row starts a short one of its own
        try:
            db.session.connection().execute(_INSERT_LOG, row)
            db.session.commit()
        except Exception:
            db.session.rollback()
            app.logger.exception("could not write the API log row")
        return response
