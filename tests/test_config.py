"""Configuration from the environment, and an app that starts without touching the database."""

import subprocess
import sys

import pytest

from portal import create_app
from portal.config import load_config


def test_production_refuses_to_start_without_a_real_secret(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        load_config("production")
    monkeypatch.setenv("SECRET_KEY", "change-me")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        load_config("production")


def test_production_with_a_strong_secret_uses_secure_cookies(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s" * 48)
    config = load_config("production")
    assert config.SESSION_COOKIE_SECURE and config.REMEMBER_COOKIE_SECURE
    assert config.SESSION_COOKIE_HTTPONLY and config.SESSION_COOKIE_SAMESITE == "Lax"


def test_development_generates_a_secret_once_and_keeps_it(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("MKOPO_INSTANCE_DIR", str(tmp_path))
    first, second = load_config("development").SECRET_KEY, load_config("development").SECRET_KEY
    assert first == second and len(first) >= 40
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_default_database_is_sqlite_under_the_instance_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("MKOPO_INSTANCE_DIR", str(tmp_path))
    url = load_config("development").SQLALCHEMY_DATABASE_URI
    assert url == f"sqlite:///{tmp_path / 'mkopo.db'}"


def test_unknown_environment_name_is_refused():
    with pytest.raises(RuntimeError, match="MKOPO_ENV"):
        load_config("staging")


def test_importing_wsgi_needs_no_database_or_network(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "MKOPO_INSTANCE_DIR": str(tmp_path),
           "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"}
    result = subprocess.run([sys.executable, "-c", "import wsgi; print(wsgi.app.name)"], env=env,
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "portal"


def test_sqlite_connections_enforce_foreign_keys_and_use_wal(tmp_path):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}",
                      "SECRET_KEY": "k" * 40})
    from portal.models.base import db

    with app.app_context(), db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    with app.app_context():
        db.engine.dispose()
