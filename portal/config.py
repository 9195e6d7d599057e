"""Configuration read from the environment, one class per MKOPO_ENV."""

import os
import secrets
from datetime import timedelta
from pathlib import Path

INSECURE_SECRETS = {"", "dev", "change-me", "secret"}


def instance_dir() -> Path:
    path = Path(os.environ.get("MKOPO_INSTANCE_DIR", Path(__file__).resolve().parent.parent / "instance"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def persistent_secret(instance: Path) -> str:
    """Return the secret kept in instance/, creating it on first run."""
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


class Config:
    ENV_NAME = "development"
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    REDIS_URL = os.environ.get("REDIS_URL") or None

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = timedelta(days=14)
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session that holds it

    JWT_ACCESS_TOKEN_EXPIRES = timedelta(minutes=15)
    JWT_REFRESH_TOKEN_EXPIRES = timedelta(days=7)
    JWT_TOKEN_LOCATION = ["headers"]
    JWT_ERROR_MESSAGE_KEY = "message"

    # werkzeug's scrypt; tests swap in a cheap method so fixtures stay fast.
    PASSWORD_HASH_METHOD = "scrypt"
    ONE_TIME_CODE_TTL = timedelta(minutes=15)
    API_LOG_PAYLOAD_LIMIT = 4096
    # A request's log row that does not commit with its work is written by a thread of the process, with
    # the others of this many seconds in one INSERT and one commit (0: at once, in a transaction of its own).
    API_LOG_FLUSH_SECONDS = float(os.environ.get("API_LOG_FLUSH_SECONDS", "0.5"))
    LOGIN_RATE_LIMIT = "5 per minute"
    API_AUTH_RATE_LIMIT = "10 per minute"

    # Largest principal a customer may borrow at each KYC level (None: no ceiling).
    KYC_LOAN_LIMITS = {"tier_0": "10000", "tier_1": "50000", "tier_2": "500000", "tier_3": None}
    # KYC level a loan needs before it is paid out: each tier and the principal above which it is needed.
    # Checked again at disbursement, since a customer's level can change after the application.
    KYC_DISBURSE_TIERS = {"tier_2": "50000", "tier_3": "500000"}
    # Largest principal each role may approve (None: any amount). Roles absent here may not approve.
    APPROVAL_LIMITS = {"manager": "500000", "admin": None}

    # Shared secret a payment gateway presents to the M-Pesa webhooks (header X-Webhook-Secret or
    # ?secret=); without it only a staff token may post payments.
    MPESA_WEBHOOK_SECRET = os.environ.get("MPESA_WEBHOOK_SECRET") or None

    # M-Pesa Daraja. MPESA_MODE=simulator (default) answers locally and calls our own callbacks;
    # MPESA_MODE=daraja talks to MPESA_BASE_URL with these credentials.
    MPESA_MODE = os.environ.get("MPESA_MODE", "simulator")
    MPESA_BASE_URL = os.environ.get("MPESA_BASE_URL", "https://sandbox.safaricom.co.ke")
    MPESA_CONSUMER_KEY = os.environ.get("MPESA_CONSUMER_KEY")
    MPESA_CONSUMER_SECRET = os.environ.get("MPESA_CONSUMER_SECRET")
    MPESA_SHORTCODE = os.environ.get("MPESA_SHORTCODE", "174379")
    MPESA_PASSKEY = os.environ.get("MPESA_PASSKEY")
    MPESA_INITIATOR_NAME = os.environ.get("MPESA_INITIATOR_NAME")
    MPESA_SECURITY_CREDENTIAL = os.environ.get("MPESA_SECURITY_CREDENTIAL")
    MPESA_CALLBACK_BASE_URL = os.environ.get("MPESA_CALLBACK_BASE_URL", "http://127.0.0.1:5000")
    MPESA_CALLBACK_SECRET = os.environ.get("MPESA_CALLBACK_SECRET") or None

    # Bulk CSV uploads (003): files past these limits are refused whole, with a message saying which.
    BULK_UPLOAD_MAX_BYTES = 20 * 1024 * 1024
    BULK_UPLOAD_MAX_ROWS = 100_000
    # Rows the portal imports per request, so a large file moves a progress bar instead of one long wait.
    BULK_UPLOAD_CHUNK_ROWS = 5_000

    # Largest customer document (KYC scans and the like) accepted, checked on the bytes received.
    DOCUMENT_MAX_BYTES = 5 * 1024 * 1024

    # Background jobs (long PDF statements): "thread" runs them in this process, "rq" hands them to
    # `flask jobs worker` through Redis (REDIS_URL), "eager" runs them at once in the caller (tests).
    JOB_BACKEND = os.environ.get("JOB_BACKEND", "thread")
    JOB_THREADS = int(os.environ.get("JOB_THREADS", "1"))
    JOB_QUEUE = "mkopo"
    # PostgreSQL: how many connections `flask loans accrue` (and `flask daily`) run the penalty batches on,
    # each batch committed on its own. SQLite takes one writer at a time: one transaction there.
    ACCRUE_WORKERS = int(os.environ.get("ACCRUE_WORKERS", "2"))
    # Who books the M-Pesa receipts web requests accept: "thread", a booker thread in each web process;
    # "process", a `flask payments book --follow` beside them, so web workers only accept (production).
    MPESA_BOOKER = os.environ.get("MPESA_BOOKER", "thread")
    # The booker process books in the lulls between notifications, and while they keep coming at least
    # this often: how late a payment may be booked during a rush, so that answering M-Pesa comes first.
    MPESA_BOOKER_MAX_WAIT = float(os.environ.get("MPESA_BOOKER_MAX_WAIT", "5"))
    # Statements up to this many table rows render inside the request; longer ones go to a job.
    STATEMENT_INLINE_MAX_ROWS = 60

    # How often each process looks again at what its Socket.IO connections presented, and drops those
    # whose token expired or was signed out, or whose user was deactivated (0: never; tests ask directly).
    SOCKET_RECHECK_SECONDS = float(os.environ.get("SOCKET_RECHECK_SECONDS", "30"))

    # Where times are shown as a clock time (000's "time" and "date"); stored times are UTC.
    DISPLAY_TIMEZONE = os.environ.get("MKOPO_TIMEZONE", "Africa/Nairobi")

    API_TITLE = "Mkopo API"
    API_VERSION = "1.0"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api"
    OPENAPI_JSON_PATH = "schema/"
    OPENAPI_SWAGGER_UI_PATH = "docs/"
    OPENAPI_SWAGGER_UI_URL = "/static/vendor/swagger-ui/"
    OPENAPI_REDOC_PATH = "redoc/"
    OPENAPI_REDOC_URL = "/static/vendor/redoc/redoc.standalone.js"

    def __init__(self) -> None:
        instance = instance_dir()
        self.INSTANCE_PATH = str(instance)
        # Uploaded files, by content hash: outside static/, served only through authorized views.
        self.UPLOAD_FOLDER = str(instance / "uploads")
        self.SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'mkopo.db'}"
        self.SECRET_KEY = os.environ.get("SECRET_KEY") or persistent_secret(instance)
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL or "memory://"


class DevelopmentConfig(Config):
    pass


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True

    def __init__(self) -> None:
        secret = os.environ.get("SECRET_KEY", "")
        if secret in INSECURE_SECRETS or len(secret) < 32:
            raise RuntimeError("MKOPO_ENV=production needs SECRET_KEY set to a random value of 32+ characters")
        super().__init__()


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    JOB_BACKEND = "eager"
    API_LOG_FLUSH_SECONDS = 0.0
    ACCRUE_WORKERS = 1  # a test's rows are in its own transaction, which other connections do not see
    SOCKET_RECHECK_SECONDS = 0.0


CONFIGS = {"development": DevelopmentConfig, "production": ProductionConfig, "testing": TestingConfig}


def load_config(env_name: str | None = None) -> Config:
    name = env_name or os.environ.get("MKOPO_ENV", "development")
    if name not in CONFIGS:
        raise RuntimeError(f"MKOPO_ENV must be one of {', '.join(CONFIGS)}, not {name!r}")
    return CONFIGS[name]()
