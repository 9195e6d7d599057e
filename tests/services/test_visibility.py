"""Who sees which customer: permissions.visible_customers, customers.search and customers.get_visible agree."""

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from portal.models import Customer, Role
from portal.models.base import db
from portal.services import customers, permissions
from portal.services.customers import CustomerFilters
from portal.services.errors import Forbidden


@pytest.fixture
def world(team, other_team, make_user, make_customer):
    """Customers spread over two teams, one borrower's own record and one nobody's."""
    borrower = make_user(Role.BORROWER)
    other_borrower = make_user(Role.BORROWER)
    w = SimpleNamespace(team=team, other_team=other_team, borrower=borrower)
    w.by_our_collector = make_customer(assigned_officer=team.collector, created_by=other_team.loan_officer)
    w.by_our_loan_officer = make_customer(created_by=team.loan_officer)
    w.by_our_manager = make_customer(created_by=team.manager)
    w.created_by_us_assigned_to_them = make_customer(assigned_officer=other_team.collector,
                                                              created_by=team.loan_officer)
    w.theirs = make_customer(assigned_officer=other_team.collector, created_by=other_team.loan_officer)
    w.their_unassigned = make_customer(created_by=other_team.manager)
    w.orphan = make_customer()
    w.borrowers_own = make_customer(user=borrower, created_by=other_team.loan_officer)
    w.someone_elses = make_customer(user=other_borrower)
    return w


def _all_ids() -> set[int]:
    return set(db.session.scalars(select(Customer.id)))


def _visible_ids(actor) -> set[int]:
    return {c.id for c in db.session.scalars(permissions.visible_customers(actor))}


def _search_ids(actor) -> set[int]:
    page = customers.search(CustomerFilters(), actor=actor, per_page=100)
    assert page.total == len(page.items)
    return {c.id for c in page.items}


# (role, how to pick the actor, names of the customers they should see; None = every customer)
CASES = [
    ("admin", lambda w, make_user: make_user(Role.ADMIN), None),
    ("calling_agent", lambda w, make_user: make_user(Role.CALLING_AGENT), None),
    ("loan_officer", lambda w, make_user: w.team.loan_officer, None),
    ("collection_officer", lambda w, make_user: w.team.collector, {"by_our_collector"}),
    ("other_collection_officer", lambda w, make_user: w.other_team.collector,
     {"created_by_us_assigned_to_them", "theirs"}),
    ("manager", lambda w, make_user: w.team.manager,
     {"by_our_collector", "by_our_loan_officer", "by_our_manager", "created_by_us_assigned_to_them"}),
    ("other_manager", lambda w, make_user: w.other_team.manager,
     {"by_our_collector", "created_by_us_assigned_to_them", "theirs", "their_unassigned",
      "borrowers_own"}),
    ("borrower", lambda w, make_user: w.borrower, {"borrowers_own"}),
    ("manager_without_team", lambda w, make_user: make_user(Role.MANAGER), set()),
    ("collection_officer_without_customers", lambda w, make_user: make_user(Role.COLLECTION_OFFICER), set()),
]


@pytest.mark.parametrize(("pick", "expected"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_each_role_sees_exactly_its_customers(world, make_user, pick, expected):
    actor = pick(world, make_user)
    want = _all_ids() if expected is None else {getattr(world, name).id for name in expected}
    assert _visible_ids(actor) == want
    assert _search_ids(actor) == want
    for customer in db.session.scalars(select(Customer)):
        assert permissions.can_see_customer(actor, customer) is (customer.id in want), customer
        if customer.id in want:
            assert customers.get_visible(customer.id, actor=actor) is customer
        else:
            with pytest.raises(Forbidden):
                customers.get_visible(customer.id, actor=actor)


def test_collection_officer_sees_only_assigned_customers(world):
    page = customers.search(CustomerFilters(), actor=world.team.collector)
    assert [c.id for c in page.items] == [world.by_our_collector.id]
    with pytest.raises(Forbidden):
        customers.get_visible(world.theirs.id, actor=world.team.collector)


def test_manager_does_not_see_another_teams_customers(world):
    ids = _search_ids(world.team.manager)
    assert world.theirs.id not in ids
    assert world.their_unassigned.id not in ids
    with pytest.raises(Forbidden):
        customers.get_visible(world.theirs.id, actor=world.team.manager)


def test_manager_sees_a_new_team_members_customers(world, make_user, make_customer):
    newcomer = make_user(Role.COLLECTION_OFFICER, manager_id=world.team.manager.id)
    customer = make_customer(assigned_officer=newcomer)
    assert customer.id in _search_ids(world.team.manager)
    assert customers.get_visible(customer.id, actor=world.team.manager) is customer


def test_borrower_sees_only_their_own_record(world):
    assert _search_ids(world.borrower) == {world.borrowers_own.id}
    with pytest.raises(Forbidden):
        customers.get_visible(world.someone_elses.id, actor=world.borrower)


def test_inactive_staff_see_nothing(world, make_user):
    admin = make_user(Role.ADMIN, is_active=False)
    with pytest.raises(Forbidden):
        customers.search(CustomerFilters(), actor=admin)
    with pytest.raises(Forbidden):
        customers.get_visible(world.orphan.id, actor=admin)
