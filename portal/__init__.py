"""Mkopo: the staff portal and the JSON API, built by one application factory."""

import logging
from pathlib import Path

from flask import Flask, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

from portal.config import load_config


def create_app(config: dict | None = None) -> Flask:
    overrides = config or {}
    app = Flask(__name__)
    app.config.from_object(load_config(overrides.get("MKOPO_ENV") or ("testing" if overrides.get("TESTING") else None)))
    app.config.update(overrides)
    _init_logging()

    from portal import cli, extensions, models, realtime
    from portal.errors import register_error_handlers
    from portal.services import mpesa_inbox

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # A database file drops no connections: no liveness query before every checkout.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**app.config["SQLALCHEMY_ENGINE_OPTIONS"], "pool_pre_ping": False}
    extensions.db.init_app(app)
    with app.app_context():
        if extensions.db.engine.dialect.name == "sqlite":
            _configure_sqlite(extensions.db.engine)
    extensions.migrate.init_app(app, extensions.db, directory=str(Path(app.root_path).parent / "migrations"),
                                render_as_batch=True, compare_type=True)
    extensions.csrf.init_app(app)
    extensions.htmx.init_app(app)
    extensions.limiter.init_app(app)
    extensions.jwt.init_app(app)
    _init_login(app)
    realtime.init_app(app)  # Socket.IO: /notifications, pushed after commit
    mpesa_inbox.init_app(app)  # M-Pesa receipts accepted by a request are booked after it commits

    from portal.blueprints import register_blueprints

    register_blueprints(app)

    from api import register_api
    from api.errors import api_error_response

    extensions.api.init_app(app)
    register_api(app, extensions.api)
    register_error_handlers(app, api_error_response)
    cli.register(app)
    app.shell_context_processor(lambda: {"db": extensions.db, "models": models})
    return app


def _init_logging() -> None:
    """Mkopo's own INFO lines (notifier deliveries, audit) go to the server log."""
    log = logging.getLogger("mkopo")
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)


def _init_login(app: Flask) -> None:
    from portal.extensions import login_manager
    from portal.models import User
    from portal.models.base import db
    from portal.services.auth import holds_portal_session

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def load_user(session_id: str):
        # The id carries the token version: logout-all and password changes end portal sessions too.
        user_id, _, version = session_id.partition(":")
        if not user_id.isdigit() or not version.isdigit():
            return None
        user = db.session.get(User, int(user_id))
        return user if holds_portal_session(user, int(version)) else None

    @login_manager.unauthorized_handler
    def unauthorized():
        from flask import flash, request, url_for

        from portal.htmx import hx_redirect

        flash(login_manager.login_message, login_manager.login_message_category)
        return hx_redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))


def _configure_sqlite(engine: Engine) -> None:
    """Foreign keys on, WAL, and SQLAlchemy (not pysqlite) in charge of BEGIN, so savepoints work."""
    from portal.models.base import READS_ONLY

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        # SQLite ignores SELECT ... FOR UPDATE: a transaction that may write (any but a GET request's, or
        # one begun by `reading`) takes the write lock up front, so its reads cannot go stale under a
        # concurrent writer (no lost updates).
        reading = connection.get_execution_options().get(READS_ONLY) or (
            has_request_context() and request.method in ("GET", "HEAD", "OPTIONS"))
        # Straight to the driver: SQLAlchemy's statement machinery cost more than the BEGIN itself.
        connection.connection.driver_connection.execute("BEGIN" if reading else "BEGIN IMMEDIATE")
