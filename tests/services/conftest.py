"""Helpers shared by the service tests: customers placed under given staff, audit rows."""

from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from portal.models import AuditLog, Customer, Role
from tests import factories


@pytest.fixture
def make_customer(db):
    """A customer inserted directly (no service rules), e.g. make_customer(assigned_officer=co)."""

    def make(assigned_officer=None, created_by=None, user=None, **kwargs):
        if assigned_officer is not None:
            kwargs["assigned_officer_id"] = assigned_officer.id
        if created_by is not None:
            kwargs["created_by_id"] = created_by.id
        if user is not None:
            kwargs["user_id"] = user.id
        return factories.CustomerFactory(**kwargs)
    return make


def _make_team(make_user) -> SimpleNamespace:
    manager = make_user(Role.MANAGER)
    return SimpleNamespace(manager=manager,
                           collector=make_user(Role.COLLECTION_OFFICER, manager_id=manager.id),
                           loan_officer=make_user(Role.LOAN_OFFICER, manager_id=manager.id))


@pytest.fixture
def team(make_user):
    """A manager with a collection officer and a loan officer reporting to them."""
    return _make_team(make_user)


@pytest.fixture
def other_team(make_user):
    """A second, unrelated team."""
    return _make_team(make_user)


@pytest.fixture
def audit_rows(db):
    """The audit rows matching action (and entity id), oldest first."""

    def rows(action: str | None = None, entity_id=None) -> list[AuditLog]:
        stmt = select(AuditLog).order_by(AuditLog.id)
        if action is not None:
            stmt = stmt.where(AuditLog.action == action)
        if entity_id is not None:
            stmt = stmt.where(AuditLog.entity_id == str(entity_id))
        return list(db.session.scalars(stmt))
    return rows


@pytest.fixture
def customer_count(db):
    def count() -> int:
        return db.session.scalar(select(func.count()).select_from(Customer))
    return count
