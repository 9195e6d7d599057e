"""The SQLAlchemy handle, metadata naming convention and shared column helpers."""

from datetime import UTC, datetime
from decimal import Decimal

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import BigInteger, DateTime, MetaData
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


READS_ONLY = "mkopo_reads_only"  # execution option of a transaction that only reads


def reading() -> None:
    """Begin the session's transaction, unless one is open, as one that only reads: on SQLite a plain
    BEGIN, not the write lock that a transaction outside a GET request takes up front (a background
    loop's look)."""
    if not db.session().in_transaction():
        db.session.connection(execution_options={READS_ONLY: True})


def utcnow() -> datetime:
    return datetime.now(UTC)


_CASE_BLIND = {operators.ilike_op: operators.like_op, operators.not_ilike_op: operators.not_like_op}


@compiles(BinaryExpression, "sqlite")
def _sqlite_ilike_as_like(element, compiler, **kw):
    """ILIKE on SQLite as plain LIKE: its LIKE ignores the case of ASCII letters, and its lower() folds
    only those, so `lower(x) LIKE lower(p)` means the same and costs a lower() a row (a search of
    100,000 customers took three times as long)."""
    if (like := _CASE_BLIND.get(element.operator)) is not None:
        element = BinaryExpression(element.left, element.right, like, modifiers=element.modifiers)
    return compiler.visit_binary(element, **kw)


class UTCDateTime(db.TypeDecorator):
    """Timezone-aware timestamps on every backend (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        # PostgreSQL answers in the session's time zone: hand back UTC whatever it is.
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def enum_column(enum_cls, length: int = 20):
    """A string column holding an Enum's values (not names), portable to SQLite and PostgreSQL."""
    return db.Enum(enum_cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


CENT = Decimal("0.01")


class Money(db.TypeDecorator):
    """Money as integer cents in the database and Decimal in Python.

    SQLite keeps Numeric as a float (ten 0.10s summed to 0.9999999999999999); integer
    cents make SQL sums and comparisons exact on every backend. Floats are refused.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, float | bool):
            raise TypeError("money must be Decimal or int, never float")
        cents = Decimal(value) * 100
        if cents != cents.to_integral_value():
            raise ValueError(f"{value} has more than two decimal places")
        return int(cents)

    def process_result_value(self, value, dialect):
        return None if value is None else Decimal(int(value)).scaleb(-2)  # exact: 1234 -> 12.34, 0 -> 0.00
