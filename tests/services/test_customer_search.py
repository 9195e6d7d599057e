"""customers.search: the text query, the filters, sorting and pagination."""

from datetime import timedelta

import pytest
from flask import render_template_string
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from portal.models import Customer, KycStatus, Role
from portal.models.base import utcnow
from portal.services import customers
from portal.services.customers import CustomerFilters
from portal.services.pagination import MAX_PER_PAGE


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMIN)


def _ids(actor, **filters) -> list[int]:
    return [c.id for c in customers.search(CustomerFilters(**filters), actor=actor, per_page=MAX_PER_PAGE).items]


@pytest.fixture
def wanjiku(make_customer):
    return make_customer(name="Wanjiku Kamau", phone="+254712345678", customer_code="WK7A2B9C",
                         email="wanjiku.kamau@example.co.ke", national_id="29876543", business_name="Mama Mboga stall",
                         location="Gikomba Market", kyc_status=KycStatus.PENDING)


@pytest.fixture
def otieno(make_customer):
    return make_customer(name="Otieno Odhiambo", phone="+254722000111", customer_code="OT4D5E6F",
                         email="otieno@example.co.ke", national_id="31234567", business_name="Boda boda",
                         location="Kibera Olympic", kyc_status=KycStatus.VERIFIED)


@pytest.mark.parametrize("query", ["wanjiku", "WANJIKU KAMAU", "jiku kam", "  Kamau  "])
def test_search_matches_names_case_insensitively(admin, wanjiku, otieno, query):
    assert _ids(admin, search=query) == [wanjiku.id]


def test_on_sqlite_ilike_is_its_case_blind_like_not_a_lower_on_every_row():
    stmt = select(Customer.id).where(Customer.name.ilike("%wanjiku%"), Customer.email.not_ilike("%spam%"))
    on_sqlite, on_postgres = (str(stmt.compile(dialect=d.dialect())) for d in (sqlite, postgresql))
    assert "customers.name LIKE ?" in on_sqlite and "customers.email NOT LIKE ?" in on_sqlite
    assert "lower(" not in on_sqlite
    assert "customers.name ILIKE" in on_postgres and "customers.email NOT ILIKE" in on_postgres


@pytest.mark.parametrize("query", ["0712 345 678", "0712345678", "254712345678", "+254712345678",
                                   "+254 712-345-678", "712345678"])
def test_search_finds_a_phone_written_in_any_format(admin, wanjiku, otieno, query):
    assert _ids(admin, search=query) == [wanjiku.id]


def test_search_by_partial_phone_digits(admin, wanjiku, otieno):
    assert _ids(admin, search="345678") == [wanjiku.id]


@pytest.mark.parametrize("query", ["WK7A2B9C", "wk7a2b9c"])
def test_search_by_customer_code(admin, wanjiku, otieno, query):
    assert _ids(admin, search=query) == [wanjiku.id]


@pytest.mark.parametrize("query", ["wanjiku.kamau@example.co.ke", "WANJIKU.KAMAU@EXAMPLE.CO.KE"])
def test_search_by_email(admin, wanjiku, otieno, query):
    assert _ids(admin, search=query) == [wanjiku.id]


def test_search_by_national_id(admin, wanjiku, otieno):
    assert _ids(admin, search="29876543") == [wanjiku.id]
    assert _ids(admin, search="31234567") == [otieno.id]


def test_search_with_no_match_is_empty(admin, wanjiku, otieno):
    page = customers.search(CustomerFilters(search="Zawadi"), actor=admin)
    assert (page.items, page.total, page.pages) == ([], 0, 1)


def test_an_uncounted_page_knows_only_whether_another_follows(app, admin, wanjiku, otieno):
    page = customers.search(CustomerFilters(), actor=admin, per_page=1, count=False)
    assert (len(page.items), page.total, page.pages, page.has_prev, page.has_next) == (1, None, None, False, True)
    with app.test_request_context():
        html = render_template_string(
            '{% from "_macros/pager.html" import pager %}{{ pager(page, "customers.index", "#results", "Pages") }}',
            page=page)
    assert "Page 1</span>" in html and " of " not in html


def test_search_stays_within_what_the_actor_can_see(make_user, make_customer):
    collector = make_user(Role.COLLECTION_OFFICER)
    mine = make_customer(name="Amina Ali", assigned_officer=collector)
    make_customer(name="Amina Mohamed")
    assert _ids(collector, search="amina") == [mine.id]


def test_filter_created_by(admin, make_user, make_customer):
    creator = make_user(Role.LOAN_OFFICER)
    a = make_customer(created_by=creator)
    make_customer(created_by=make_user(Role.LOAN_OFFICER))
    make_customer()
    assert _ids(admin, created_by=creator.id) == [a.id]


def test_filter_business_name_is_a_case_insensitive_substring(admin, wanjiku, otieno):
    assert _ids(admin, business_name="mboga") == [wanjiku.id]


def test_filter_location_is_a_case_insensitive_substring(admin, wanjiku, otieno):
    assert _ids(admin, location="KIBERA") == [otieno.id]


def test_filter_kyc_status(admin, wanjiku, otieno):
    assert _ids(admin, kyc_status="pending") == [wanjiku.id]
    assert _ids(admin, kyc_status=KycStatus.VERIFIED) == [otieno.id]
    assert _ids(admin, kyc_status="rejected") == []
    assert _ids(admin, kyc_status="not-a-status") == []


def test_filter_unassigned(admin, make_user, make_customer):
    collector = make_user(Role.COLLECTION_OFFICER)
    make_customer(assigned_officer=collector)
    loose = make_customer()
    assert loose.id in _ids(admin, unassigned=True)
    assert all(c.assigned_officer_id is None
               for c in customers.search(CustomerFilters(unassigned=True), actor=admin, per_page=100).items)


def test_filter_assigned_officer(admin, make_user, make_customer):
    collector = make_user(Role.COLLECTION_OFFICER)
    assigned = make_customer(assigned_officer=collector)
    make_customer(assigned_officer=make_user(Role.COLLECTION_OFFICER))
    assert _ids(admin, assigned_officer=collector.id) == [assigned.id]


def test_filter_mine_is_created_by_or_assigned_to_the_actor(make_user, make_customer):
    manager = make_user(Role.MANAGER)
    collector = make_user(Role.COLLECTION_OFFICER, manager_id=manager.id)
    created = make_customer(created_by=manager)
    make_customer(assigned_officer=collector)  # visible to the manager, but not theirs
    assert _ids(manager, mine=True) == [created.id]
    assigned = make_customer(assigned_officer=collector)
    assert set(_ids(collector, mine=True)) == set(_ids(collector)) >= {assigned.id}


def test_filters_combine(admin, wanjiku, otieno):
    assert _ids(admin, search="kamau", kyc_status="verified") == []
    assert _ids(admin, search="kamau", location="gikomba") == [wanjiku.id]


def test_sort_newest_first_by_default(make_user, make_customer):
    collector = make_user(Role.COLLECTION_OFFICER)
    now = utcnow()
    old = make_customer(assigned_officer=collector, created_at=now - timedelta(days=30))
    new = make_customer(assigned_officer=collector, created_at=now - timedelta(days=1))
    mid = make_customer(assigned_officer=collector, created_at=now - timedelta(days=10))
    assert _ids(collector) == [new.id, mid.id, old.id]
    assert _ids(collector, sort="newest") == [new.id, mid.id, old.id]
    assert _ids(collector, sort="oldest") == [old.id, mid.id, new.id]


def test_sort_by_name(make_user, make_customer):
    collector = make_user(Role.COLLECTION_OFFICER)
    names = ["Zawadi Auma", "Amina Ali", "Mary Kimani", "Baraka Juma"]
    for name in names:
        make_customer(assigned_officer=collector, name=name)
    found = [c.name for c in customers.search(CustomerFilters(sort="name"), actor=collector).items]
    assert found == ["Amina Ali", "Baraka Juma", "Mary Kimani", "Zawadi Auma"]


def test_unknown_sort_falls_back_to_newest(make_user, make_customer):
    collector = make_user(Role.COLLECTION_OFFICER)
    now = utcnow()
    old = make_customer(assigned_officer=collector, created_at=now - timedelta(days=3))
    new = make_customer(assigned_officer=collector, created_at=now)
    assert _ids(collector, sort="id; DROP TABLE customers") == [new.id, old.id]


def test_pagination_reports_total_and_pages(make_user, make_customer):
    collector = make_user(Role.COLLECTION_OFFICER)
    made = [make_customer(assigned_officer=collector, name=f"Customer {i:02d}") for i in range(7)]
    first = customers.search(CustomerFilters(sort="name"), actor=collector, page=1, per_page=3)
    last = customers.search(CustomerFilters(sort="name"), actor=collector, page=3, per_page=3)
    assert (first.total, first.pages, first.per_page, len(first.items)) == (7, 3, 3, 3)
    assert (first.has_prev, first.has_next) == (False, True)
    assert [c.id for c in last.items] == [made[6].id]
    assert (last.has_prev, last.has_next) == (True, False)
    pages = [customers.search(CustomerFilters(sort="name"), actor=collector, page=p, per_page=3).items
             for p in (1, 2, 3)]
    assert [c.id for page in pages for c in page] == [c.id for c in made]


def test_page_past_the_end_is_empty_but_keeps_the_total(make_user, make_customer):
    collector = make_user(Role.COLLECTION_OFFICER)
    for _ in range(2):
        make_customer(assigned_officer=collector)
    page = customers.search(CustomerFilters(), actor=collector, page=5, per_page=10)
    assert (page.items, page.total, page.pages) == ([], 2, 1)


def test_per_page_is_capped_at_max_per_page(make_user, make_customer):
    assert MAX_PER_PAGE == 100
    collector = make_user(Role.COLLECTION_OFFICER)
    for _ in range(MAX_PER_PAGE + 5):
        make_customer(assigned_officer=collector)
    page = customers.search(CustomerFilters(), actor=collector, per_page=1000)
    assert (page.per_page, len(page.items), page.total, page.pages) == (100, 100, 105, 2)


@pytest.mark.parametrize(("page_no", "per_page", "want"), [(0, 10, (1, 10)), (-3, 0, (1, 1)), (2, -5, (2, 1))])
def test_page_and_per_page_are_clamped_to_at_least_one(make_user, make_customer, page_no, per_page, want):
    collector = make_user(Role.COLLECTION_OFFICER)
    for _ in range(3):
        make_customer(assigned_officer=collector)
    page = customers.search(CustomerFilters(), actor=collector, page=page_no, per_page=per_page)
    assert (page.page, page.per_page) == want
