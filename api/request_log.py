"""Record every API request (003's /api/logs/), with secrets redacted and payloads truncated."""

import json
import re

from flask import Flask, current_app, g, request

from api.errors import current_surface
from portal.models import ApiLog
from portal.models.base import db

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


def init_request_log(app: Flask) -> None:
    @app.after_request
    def log_api_request(response):
        if request.method == "OPTIONS" or current_surface() is None:
            return response
        user = g.get("api_user")
        db.session.commit()  # end the view's transaction: the log row starts a short one of its own
        body = b"" if response.direct_passthrough else response.get_data()
        db.session.add(ApiLog(
            user_id=user.id if user is not None else None, method=request.method,
            endpoint=logged_path()[:300], status_code=response.status_code,
            request_payload=_payload(b"" if request.mimetype.startswith("multipart/")
                                     else request.get_data(cache=True), request.content_type),
            response_payload=_payload(body, response.content_type)))
        try:
            db.session.commit()
        except Exception:
            db.session.rollback()
            app.logger.exception("could not write the API log row")
        return response
