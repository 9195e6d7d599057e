"""Error responses: HTML pages for the portal, each API surface's own JSON shape for the API.

flask-smorest's own handler is switched off (portal.extensions.MkopoApi) so that
this one dispatcher decides, by the surface the request was routed to.
"""

import sqlite3

from flask import Flask, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from portal.htmx import hx_redirect, is_htmx
from portal.models.base import db
from portal.services.errors import DomainError

TITLES = {
    400: "Bad request", 401: "Sign in needed", 403: "Not allowed", 404: "Page not found",
    405: "Method not allowed", 409: "Conflict", 413: "Too large", 422: "Could not process",
    429: "Too many attempts", 500: "Something went wrong", 503: "Busy",
}
BUSY = "The system is busy. Try again in a moment: what you sent may not have been saved."
RETRY_AFTER_SECONDS = 5


def register_error_handlers(app: Flask, api_error_response) -> None:
    """`api_error_response(status, message, errors)` returns a response, or None outside the API."""

    def html(status: int, message: str):
        if is_htmx():  # shown in the page's message area (see htmx-config in base.html)
            return render_template("errors/_inline.html", message=message), status
        return render_template("errors/error.html", status=status, title=TITLES.get(status, "Error"),
                               message=message), status

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        db.session.rollback()
        return api_error_response(exc.status, exc.message, exc.errors, exc.code) or html(exc.status, exc.message)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        db.session.rollback()
        message = "Your form expired or was sent from elsewhere. Reload the page and try again."
        if is_htmx():
            return hx_redirect(request.referrer or "/") if request.method == "GET" else html(400, message)
        return html(400, message)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        db.session.rollback()
        status = exc.code or 500
        messages = (getattr(exc, "data", None) or {}).get("messages")  # webargs' parse errors
        errors = _flatten_webargs(messages) if messages else {}
        message = "Invalid input data" if errors else (exc.description or TITLES.get(status, "Error"))
        response = api_error_response(status, message, errors, None)
        if response is not None:
            if valid_methods := getattr(exc, "valid_methods", None):
                response.headers["Allow"] = ", ".join(valid_methods)
            return response
        return html(status, "We have been told and will look into it." if status == 500 else exc.description)

    @app.errorhandler(OperationalError)
    @app.errorhandler(sqlite3.OperationalError)  # raised by SQLite's BEGIN IMMEDIATE, which no wrapper sees
    def database_unavailable(exc: Exception):
        if not _busy_or_unreachable(exc):
            return unexpected(exc)
        app.logger.warning("database busy or unreachable on %s %s", request.method, request.path, exc_info=exc)
        try:
            db.session.rollback()
        except Exception:  # the connection itself may be gone: the pool replaces it
            db.session.invalidate()
        response = make_response(http_error(ServiceUnavailable(BUSY)))
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        return http_error(InternalServerError())


# PostgreSQL's error classes that say "not now" rather than "never": connection lost, serialization
# failure or deadlock, insufficient resources, operator intervention (a statement timeout, a shutdown);
# and a lock not available.
_TRANSIENT_CLASSES = ("08", "40", "53", "57")
_LOCK_NOT_AVAILABLE = "55P03"
_SQLITE_BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _busy_or_unreachable(exc: Exception) -> bool:
    """A database that is overloaded or out of reach (a 503, worth retrying), not a bug (a 500)."""
    original = getattr(exc, "orig", exc)
    if isinstance(original, sqlite3.OperationalError):  # SQLite also reports a bad statement so
        code = getattr(original, "sqlite_errorcode", None)
        return (code & 0xFF) in _SQLITE_BUSY if code is not None else str(original).startswith(
            ("database is locked", "database table is locked"))
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate is None:  # psycopg names none when the connection itself failed
        return True
    return sqlstate.startswith(_TRANSIENT_CLASSES) or sqlstate == _LOCK_NOT_AVAILABLE


def _flatten_webargs(messages: dict) -> dict[str, list[str]]:
    """webargs nests errors by location ({"json": {"name": [...]}}); clients want fields."""
    flat: dict[str, list[str]] = {}
    for location_errors in messages.values():
        if not isinstance(location_errors, dict):
            flat.setdefault("_schema", []).extend(location_errors)
            continue
        for field, errs in location_errors.items():
            flat[field] = errs if isinstance(errs, list) and all(isinstance(e, str) for e in errs) \
                else [str(errs)]
    return flat
