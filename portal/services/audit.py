"""The audit trail: services record every change; `flask audit verify` walks the chain."""

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

from flask import has_request_context, request
from sqlalchemy import inspect, select, text

from portal.models import AuditLog, User
from portal.models.base import db, utcnow

GENESIS = "0" * 64
# Any constant: serializes writers of the chain on PostgreSQL so two rows never share a predecessor.
CHAIN_LOCK_KEY = 0x6D6B6F706F


def snapshot(obj, fields: list[str] | None = None) -> dict:
    """A JSON-ready dict of a model's column values (or just `fields`)."""
    names = fields or [c.key for c in inspect(obj).mapper.column_attrs]
    return {name: _jsonable(getattr(obj, name)) for name in names if name != "password_hash"}


def _jsonable(value):
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _digest(row) -> str:
    """The hash of an audit row (an AuditLog or a plain row with the same columns)."""
    payload = json.dumps(
        [row.prev_hash, row.actor_id, row.action, row.entity_type, row.entity_id,
         row.before, row.after, row.ip_address, row.created_at.isoformat()],
        sort_keys=True, separators=(",", ":"), default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def record(actor: User | None, action: str, entity_type: str, entity_id, *,
           before: dict | None = None, after: dict | None = None) -> AuditLog:
    """Append one audit row chained to the last one."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK_KEY})
    last = db.session.scalar(select(AuditLog.hash).order_by(AuditLog.id.desc()).limit(1))
    row = AuditLog(
        actor_id=actor.id if actor else None,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        before=before,
        after=after,
        ip_address=request.remote_addr if has_request_context() else None,
        created_at=utcnow().replace(microsecond=0),
        prev_hash=last or GENESIS,
    )
    row.hash = _digest(row)
    db.session.add(row)
    db.session.flush()
    return row


@dataclass
class ChainReport:
    checked: int
    broken_id: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_id is None


def verify_chain(batch: int = 5000) -> ChainReport:
    """Walk the trail in id order and report the first row whose link or hash is wrong."""
    columns = select(*AuditLog.__table__.columns)  # plain rows: nothing piles up in the session
    expected_prev, checked, after_id = GENESIS, 0, 0
    while True:
        rows = db.session.execute(columns.where(AuditLog.id > after_id).order_by(AuditLog.id).limit(batch)).all()
        if not rows:
            return ChainReport(checked)
        for row in rows:
            if row.prev_hash != expected_prev:
                return ChainReport(checked, row.id, "does not point at the row before it")
            if _digest(row) != row.hash:
                return ChainReport(checked, row.id, "its contents no longer match its hash")
            expected_prev, checked, after_id = row.hash, checked + 1, row.id
