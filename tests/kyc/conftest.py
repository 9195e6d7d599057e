"""KYC fixtures: a team of staff and an outsider, customers under them, a borrower with a login, real (tiny)
PNG and PDF bytes, and helpers to upload and submit documents through the service."""

import io
import struct
import zlib
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from portal.models import AuditLog, Notification, Role
from portal.models.base import db
from portal.services import kyc
from tests import factories


def _png(width: int = 2, height: int = 2) -> bytes:
    """A real PNG (browsers draw it), a few dozen bytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\x0b\x5d\x4b" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


PNG = _png()
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
       b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 100]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 64
TODAY = date.today()
NEXT_YEAR = TODAY + timedelta(days=365)


@pytest.fixture
def staff(make_user):
    """An admin; a manager with a loan officer, a collection officer and a calling agent; an outside team."""
    manager, outside = make_user(Role.MANAGER), make_user(Role.MANAGER)
    return SimpleNamespace(
        admin=make_user(Role.ADMIN), manager=manager, outside_manager=outside,
        loan_officer=make_user(Role.LOAN_OFFICER, manager_id=manager.id),
        collector=make_user(Role.COLLECTION_OFFICER, manager_id=manager.id),
        other_collector=make_user(Role.COLLECTION_OFFICER, manager_id=outside.id),
        caller=make_user(Role.CALLING_AGENT, manager_id=manager.id))


@pytest.fixture
def make_customer(staff):
    """A customer of the team (created by its loan officer, assigned to its collector)."""

    def make(**kwargs):
        kwargs.setdefault("created_by_id", staff.loan_officer.id)
        kwargs.setdefault("assigned_officer_id", staff.collector.id)
        return factories.CustomerFactory(**kwargs)
    return make


@pytest.fixture
def customer(make_customer):
    return make_customer(national_id="30111222")


@pytest.fixture
def borrower(make_user, make_customer):
    """A borrower login and the customer record that is them."""
    user = make_user(Role.BORROWER)
    return SimpleNamespace(user=user, customer=make_customer(user_id=user.id, national_id="28555666"))


@pytest.fixture
def upload():
    """Upload a KYC document through the service: upload(customer, actor, kind=..., number=..., ...)."""

    def send(customer, actor, kind: str = "national_id", number: str | None = "30111222", data: bytes = PNG,
             filename: str = "scan.png", issued=date(2020, 1, 1), expires=None, submit_now: bool = False):
        return kyc.upload(customer, doc_type=kind, filename=filename, content=io.BytesIO(data),
                          document_number=number, issue_date=issued, expiry_date=expires, actor=actor,
                          submit_now=submit_now)
    return send


@pytest.fixture
def submitted(upload, staff):
    """A customer's ID and selfie uploaded by the team's collector and sent for review."""

    def submit(customer, *, actor=None, id_number: str | None = None, expires=NEXT_YEAR, **extra):
        actor = actor or staff.collector
        upload(customer, actor, number=id_number or customer.national_id or "30999888", expires=expires, **extra)
        upload(customer, actor, kind="selfie", number=None, data=PNG, filename="me.png")
        submission = kyc.submit(customer, actor=actor)
        db.session.commit()
        return submission
    return submit


def audit_rows(action: str) -> list[AuditLog]:
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


def notifications(user) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user.id)
                                   .order_by(Notification.id)))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))
