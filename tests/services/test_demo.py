"""demo.seed: two teams of staff, customers with canonical phones, and an intact audit trail."""

import re
from collections import Counter

import pytest
from sqlalchemy import select

from portal import demo
from portal.models import STAFF_ROLES, Customer, Role, User
from portal.models.base import db
from portal.services import audit, phones, users


@pytest.fixture
def seeded(db):
    return demo.seed(customer_count=20)


def _staff() -> list[User]:
    return list(db.session.scalars(select(User).where(User.role != Role.BORROWER)))


def test_seed_creates_twelve_staff_across_every_staff_role(seeded):
    staff = _staff()
    assert len(staff) == 12
    assert {u.role for u in staff} == set(STAFF_ROLES)
    assert Counter(u.role for u in staff)[Role.ADMIN] == 1


def test_seed_puts_staff_into_two_manager_teams(seeded):
    staff = _staff()
    managers = {u.id for u in staff if u.role == Role.MANAGER}
    assert len(managers) == 2
    juniors = [u for u in staff if u.role not in (Role.ADMIN, Role.MANAGER)]
    assert all(u.manager_id in managers for u in juniors)
    for manager_id in managers:
        team_roles = {u.role for u in juniors if u.manager_id == manager_id}
        assert team_roles == {Role.LOAN_OFFICER, Role.COLLECTION_OFFICER, Role.CALLING_AGENT}


def test_seed_creates_the_requested_customers_plus_the_demo_borrowers(seeded):
    all_customers = list(db.session.scalars(select(Customer)))
    assert len(all_customers) == 21
    borrower = db.session.scalars(select(User).where(User.username == "borrower.demo")).one()
    assert borrower.role == Role.BORROWER
    linked = [c for c in all_customers if c.user_id is not None]
    assert [c.user_id for c in linked] == [borrower.id]


def test_every_seeded_customer_phone_is_e164(seeded):
    numbers = list(db.session.scalars(select(Customer.phone)))
    assert len(numbers) == 21
    for number in numbers:
        assert number is not None and re.fullmatch(r"\+[1-9]\d{7,14}", number), number
        assert phones.normalize(number) == number


def test_seeded_customers_are_assigned_only_to_collection_officers(seeded):
    for customer in db.session.scalars(select(Customer).where(Customer.assigned_officer_id.is_not(None))):
        assert customer.assigned_officer.role == Role.COLLECTION_OFFICER


def test_seed_returns_every_login_and_they_work(seeded):
    assert len(seeded) == 13
    usernames = [username for username, _role in seeded]
    assert "admin" in usernames and "borrower.demo" in usernames
    for username in ("admin", "manager.east", "collector.njeri", "borrower.demo"):
        assert users.authenticate(username, demo.PASSWORD).username == username


def test_audit_chain_is_intact_after_seeding(seeded):
    db.session.expire_all()
    report = audit.verify_chain()
    assert report.ok, report
    assert report.checked >= 13 + 21


def test_every_agent_starts_the_day_with_a_queue():
    from portal.services.agent_queue import QueueFilters, work_queue

    demo.seed(customer_count=200)
    for username in ("caller.achieng", "caller.maina", "collector.njeri", "collector.wafula"):
        agent = db.session.scalar(select(User).where(User.username == username))
        queue = work_queue(agent, QueueFilters())
        assert queue.total >= 3, username
        assert queue.counts["overdue"] + queue.counts["new_arrears"] >= 1, username
