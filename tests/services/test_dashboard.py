"""dashboard.tiles_for: each role's numbers, counted over exactly what that role can see."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.models import Customer, KycStatus, Role
from portal.models.base import db, utcnow
from portal.services import dashboard


def _tiles(actor) -> dict[str, int]:
    tiles = dashboard.tiles_for(actor)
    labels = [t.label for t in tiles]
    assert len(labels) == len(set(labels)), labels
    return {t.label: t.value for t in tiles}


def _last_month():
    return utcnow().replace(day=1, hour=12) - timedelta(days=3)


@pytest.fixture
def book(team, other_team, make_user, make_customer):
    """Our collector has 3 (1 pending KYC, 1 from last month); our loan officer created 2 unassigned
    (1 pending); the other team has 2; nobody's: 1 pending."""
    make_customer(assigned_officer=team.collector, kyc_status=KycStatus.PENDING)
    make_customer(assigned_officer=team.collector, created_at=_last_month())
    make_customer(assigned_officer=team.collector, created_by=team.loan_officer)
    make_customer(created_by=team.loan_officer, kyc_status=KycStatus.PENDING)
    make_customer(created_by=team.loan_officer, created_at=_last_month())
    make_customer(assigned_officer=other_team.collector)
    make_customer(assigned_officer=other_team.collector, created_by=other_team.loan_officer)
    make_customer(kyc_status=KycStatus.PENDING)
    make_user(Role.CALLING_AGENT, manager_id=team.manager.id)
    make_user(Role.LOAN_OFFICER, manager_id=team.manager.id, is_active=False)
    make_user(Role.BORROWER, manager_id=team.manager.id)
    return team


def _count(*where) -> int:
    return db.session.scalar(select(func.count()).select_from(Customer).where(*where))


def test_collection_officer_assigned_to_you_equals_their_book(book):
    tiles = _tiles(book.collector)
    assert tiles["Assigned to you"] == 3
    assert tiles["Customers"] == 3
    assert tiles["New this month"] == 2
    assert set(tiles) == {"Assigned to you", "Customers", "New this month"}
    assert dashboard.tiles_for(book.collector)[0].label == "Assigned to you"


def test_collection_officer_with_no_customers_sees_zeros(book, make_user):
    tiles = _tiles(make_user(Role.COLLECTION_OFFICER))
    assert tiles == {"Assigned to you": 0, "Customers": 0, "New this month": 0}


def test_manager_counts_their_teams_customers(book):
    tiles = _tiles(book.manager)
    assert tiles["Customers"] == 5
    assert tiles["New this month"] == 3
    assert tiles["KYC pending"] == 2
    assert tiles["Unassigned"] == 2
    # The manager, the collector, the loan officer and the calling agent: not the inactive one, not the borrower.
    assert tiles["Active staff"] == 4
    assert "Assigned to you" not in tiles


def test_other_manager_counts_only_their_own_team(book, other_team):
    tiles = _tiles(other_team.manager)
    assert (tiles["Customers"], tiles["Unassigned"], tiles["KYC pending"], tiles["Active staff"]) == (2, 0, 0, 3)


def test_admin_counts_everything(book, make_user):
    admin = make_user(Role.ADMIN)
    tiles = _tiles(admin)
    assert tiles["Customers"] == _count()
    assert tiles["Unassigned"] == _count(Customer.assigned_officer_id.is_(None))
    assert tiles["KYC pending"] == _count(Customer.kyc_status == KycStatus.PENDING)
    assert tiles["Unassigned"] >= 3 and tiles["KYC pending"] >= 3


def test_calling_agent_gets_no_unassigned_or_staff_tiles(book, make_user):
    tiles = _tiles(make_user(Role.CALLING_AGENT))
    assert "Unassigned" not in tiles
    assert "Active staff" not in tiles
    assert "KYC pending" not in tiles
    assert tiles["Customers"] == _count()


def test_loan_officer_gets_kyc_pending_but_no_staff_tiles(book):
    tiles = _tiles(book.loan_officer)
    assert tiles["Customers"] == _count()
    assert tiles["KYC pending"] == _count(Customer.kyc_status == KycStatus.PENDING)
    assert "Unassigned" not in tiles and "Active staff" not in tiles


def test_borrower_counts_only_their_own_record(book, make_user, make_customer):
    borrower = make_user(Role.BORROWER)
    make_customer(user=borrower)
    assert _tiles(borrower) == {"Customers": 1, "New this month": 1}
