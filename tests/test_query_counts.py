"""Customer listings send the same SELECTs for a page of 5 rows as for a page of 50 (no query per row)."""

import re

import pytest

from portal.blueprints.customers import views as customer_views
from portal.models import Role
from tests.factories import CustomerFactory
from tests.queries import count_queries

FEW, MANY = 5, 50


@pytest.fixture
def listed(make_user):
    """60 customers, each with its own officer (in one manager's team) and its own creator, a fifth unassigned:
    a relation loaded row by row would cost one query per row, so 5 and 50 rows would differ."""
    manager = make_user(Role.MANAGER)
    for n in range(60):
        officer = make_user(Role.COLLECTION_OFFICER, manager_id=manager.id)
        assigned = n % 5 != 0
        CustomerFactory(assigned_officer_id=officer.id if assigned else None,
                        created_by_id=make_user(Role.LOAN_OFFICER).id if assigned else officer.id,
                        location="Gikomba", email=f"listed{n}@example.co.ke")
    return manager


def _rows(html: str) -> int:
    return len(re.findall(r'data-label="Code"', html))


@pytest.mark.parametrize("role", [Role.LOAN_OFFICER, Role.MANAGER])
def test_the_customer_list_page_runs_the_same_queries_for_5_or_50_rows(client, login_as, monkeypatch, listed,
                                                                       role):
    if role == Role.MANAGER:
        login_as(user=listed)  # the manager whose team holds every listed customer
    else:
        login_as(role)

    def page(per_page: int):
        monkeypatch.setattr(customer_views, "PER_PAGE", per_page)
        response = client.get("/portal/customers/")
        assert response.status_code == 200
        assert _rows(response.get_data(as_text=True)) == per_page
        return response

    assert count_queries(lambda: page(FEW)) == count_queries(lambda: page(MANY))


def test_repaysync_customer_list_runs_the_same_queries_for_5_or_50_rows(client, make_user, api_headers, listed):
    headers = api_headers(make_user(Role.LOAN_OFFICER))

    def page(size: int):
        response = client.get(f"/api/customers/?page_size={size}", headers=headers)
        assert response.status_code == 200 and len(response.get_json()) == size
        return response

    assert count_queries(lambda: page(FEW)) == count_queries(lambda: page(MANY))


def test_sokocredit_customer_list_runs_the_same_queries_for_5_or_50_rows(client, make_user, api_headers, listed):
    headers = api_headers(make_user(Role.LOAN_OFFICER), "lender")

    def page(per_page: int):
        response = client.get(f"/customers/?per_page={per_page}", headers=headers)
        assert response.status_code == 200 and len(response.get_json()["customers"]) == per_page
        return response

    assert count_queries(lambda: page(FEW)) == count_queries(lambda: page(MANY))
