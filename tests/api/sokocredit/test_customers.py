"""001 /customers: create, list with filters and paging, my_customers, get/patch/delete, per-object rules."""

import pytest

from portal.models import Customer, Role
from tests.api.conftest import assert_error, assert_invalid, customer_visible_to, error_fields

NEW_CUSTOMER = {"name": "Achieng Otieno", "phone": "0712 555 010", "business_name": "Achieng Greens",
                "location": "Gikomba", "national_id": "22334455"}
LIST_FIELDS = {"customers", "total", "page", "pages"}
# 001's customer fields: an error may only name these.
DOCUMENT_FIELDS = {"customer_code", "name", "phone", "email", "national_id", "business_name", "location",
                   "address_line_1", "address_line_2", "city", "state", "pincode", "date_of_birth",
                   "assigned_officer"}


# -- POST /customers/ ------------------------------------------------------------------------------------

def test_create_returns_201_with_generated_code_and_account(db, client, make_user, api_headers):
    officer = make_user(Role.LOAN_OFFICER)

    response = client.post("/customers/", json=NEW_CUSTOMER, headers=api_headers(officer))

    assert response.status_code == 201
    body = response.get_json()
    assert body["name"] == "Achieng Otieno"
    assert body["phone"] == "+254712555010"
    assert body["business_name"] == "Achieng Greens"
    assert len(body["customer_code"]) == 8
    assert body["account_number"] == "achieng22334455"
    assert body["created_by"] == officer.id
    assert db.session.get(Customer, body["id"]) is not None


def test_collection_officer_creates_customers_assigned_to_themself(client, make_user, api_headers):
    officer = make_user(Role.COLLECTION_OFFICER)

    body = client.post("/customers/", json=NEW_CUSTOMER, headers=api_headers(officer)).get_json()

    assert body["assigned_officer"] == officer.id


@pytest.mark.parametrize(("role", "allowed"), [
    (Role.ADMIN, True), (Role.MANAGER, True), (Role.LOAN_OFFICER, True), (Role.COLLECTION_OFFICER, True),
    (Role.CALLING_AGENT, False), (Role.BORROWER, False),
])
def test_who_may_create_a_customer(client, make_user, api_headers, role, allowed):
    response = client.post("/customers/", json=NEW_CUSTOMER, headers=api_headers(make_user(role)))

    if allowed:
        assert response.status_code == 201
    else:
        assert_error(response, "001", 403)


@pytest.mark.parametrize(("change", "field"), [
    ({"name": None}, "name"),
    ({"name": "A"}, "name"),
    ({"phone": "123"}, "phone"),
    ({"email": "not-an-email"}, "email"),
    ({"customer_code": "short"}, "customer_code"),
    ({"date_of_birth": "01/02/1990"}, "date_of_birth"),
    ({"date_of_birth": "2020-01-01"}, "date_of_birth"),
    ({"national_id": "1"}, "national_id"),
])
def test_create_with_invalid_field_is_400_naming_it(client, make_user, api_headers, change, field):
    payload = {k: v for k, v in {**NEW_CUSTOMER, **change}.items() if v is not None}

    response = client.post("/customers/", json=payload, headers=api_headers(make_user(Role.LOAN_OFFICER)))

    assert_invalid(response, "001", field)


@pytest.mark.parametrize("officer_role", [Role.LOAN_OFFICER, Role.CALLING_AGENT, None])
def test_assigning_to_someone_not_a_collection_officer_is_400_naming_assigned_officer(
        client, make_user, admin_headers, officer_role):
    officer_id = make_user(officer_role).id if officer_role else 999999

    response = client.post("/customers/", json={**NEW_CUSTOMER, "assigned_officer": officer_id}, headers=admin_headers)

    body = assert_invalid(response, "001", "assigned_officer")
    assert error_fields(body, "001") <= DOCUMENT_FIELDS


def test_duplicate_customer_code_is_400(client, make_customer, admin_headers):
    make_customer(customer_code="ABCD1234")

    response = client.post("/customers/", json={**NEW_CUSTOMER, "customer_code": "abcd1234"}, headers=admin_headers)

    assert_invalid(response, "001", "customer_code")


# -- GET /customers/ -------------------------------------------------------------------------------------

def test_list_has_the_001_envelope(client, make_customer, admin_headers):
    make_customer()

    response = client.get("/customers/", headers=admin_headers)

    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == LIST_FIELDS
    assert (body["total"], body["page"], body["pages"]) == (1, 1, 1)
    assert body["customers"][0]["customer_code"]


def test_list_pages_with_page_and_per_page(client, make_customer, admin_headers):
    for _ in range(5):
        make_customer()

    first = client.get("/customers/?per_page=2", headers=admin_headers).get_json()
    last = client.get("/customers/?per_page=2&page=3", headers=admin_headers).get_json()

    assert (first["total"], first["pages"], len(first["customers"])) == (5, 3, 2)
    assert (last["page"], len(last["customers"])) == (3, 1)
    seen = {c["id"] for c in first["customers"]} & {c["id"] for c in last["customers"]}
    assert seen == set()


def test_per_page_of_100_is_allowed(client, admin_headers):
    assert client.get("/customers/?per_page=100", headers=admin_headers).status_code == 200


@pytest.mark.parametrize(("query", "field"), [
    ("per_page=101", "per_page"),
    ("per_page=0", "per_page"),
    ("page=0", "page"),
    ("page=abc", "page"),
    ("created_by=someone", "created_by"),
    ("colour=blue", "colour"),
])
def test_bad_or_unknown_query_param_is_400(client, admin_headers, query, field):
    assert_invalid(client.get(f"/customers/?{query}", headers=admin_headers), "001", field)


@pytest.mark.parametrize(("query", "expected"), [
    ("search=Wairimu", {"wairimu"}),
    ("search=0712%20999%20001", {"wairimu"}),
    ("business_name=kiosk", {"wairimu"}),
    ("location=kibera", {"otieno"}),
])
def test_list_filters(client, make_customer, admin_headers, query, expected):
    customers = {
        "wairimu": make_customer(name="Wairimu Njeri", phone="+254712999001", business_name="Mama Kiosk",
                                 location="Gikomba"),
        "otieno": make_customer(name="Otieno Ouma", business_name="Fish Stall", location="Kibera"),
    }

    body = client.get(f"/customers/?{query}", headers=admin_headers).get_json()

    assert {c["id"] for c in body["customers"]} == {customers[k].id for k in expected}
    assert body["total"] == len(expected)


def test_list_filters_by_creator(client, make_user, make_customer, admin_headers):
    officer = make_user(Role.LOAN_OFFICER)
    mine, _other = make_customer(created_by_id=officer.id), make_customer()

    body = client.get(f"/customers/?created_by={officer.id}", headers=admin_headers).get_json()

    assert [c["id"] for c in body["customers"]] == [mine.id]


@pytest.mark.parametrize("role", [Role.COLLECTION_OFFICER, Role.BORROWER])
def test_list_shows_only_what_the_caller_may_see(client, make_user, make_customer, api_headers, role):
    user, own = customer_visible_to(make_user, make_customer, role)
    make_customer(assigned_officer_id=make_user(Role.COLLECTION_OFFICER).id)
    make_customer()

    body = client.get("/customers/", headers=api_headers(user)).get_json()

    assert [c["id"] for c in body["customers"]] == [own.id]
    assert body["total"] == 1


def test_manager_lists_only_their_teams_customers(client, make_user, make_customer, api_headers):
    manager = make_user(Role.MANAGER)
    officer = make_user(Role.COLLECTION_OFFICER, manager_id=manager.id)
    ours = make_customer(assigned_officer_id=officer.id)
    make_customer(assigned_officer_id=make_user(Role.COLLECTION_OFFICER).id)

    body = client.get("/customers/", headers=api_headers(manager)).get_json()

    assert [c["id"] for c in body["customers"]] == [ours.id]


# -- GET /customers/my_customers -------------------------------------------------------------------------

def test_my_customers_are_those_created_by_or_assigned_to_me(client, make_user, make_customer, api_headers):
    officer = make_user(Role.LOAN_OFFICER)
    created = make_customer(created_by_id=officer.id)
    make_customer()

    body = client.get("/customers/my_customers", headers=api_headers(officer)).get_json()

    assert set(body) == LIST_FIELDS
    assert [c["id"] for c in body["customers"]] == [created.id]


def test_my_customers_of_a_collection_officer_are_their_assigned_ones(client, make_user, make_customer, api_headers):
    officer = make_user(Role.COLLECTION_OFFICER)
    assigned = make_customer(assigned_officer_id=officer.id)
    make_customer(created_by_id=make_user(Role.ADMIN).id)

    body = client.get("/customers/my_customers", headers=api_headers(officer)).get_json()

    assert [c["id"] for c in body["customers"]] == [assigned.id]


def test_my_customers_rejects_unknown_query_params(client, admin_headers):
    assert_invalid(client.get("/customers/my_customers?colour=blue", headers=admin_headers), "001", "colour")


# -- GET/PATCH/DELETE /customers/<id> --------------------------------------------------------------------

@pytest.mark.parametrize("role", list(Role))
def test_each_role_reads_a_customer_it_may_see(client, make_user, make_customer, api_headers, role):
    user, customer = customer_visible_to(make_user, make_customer, role)

    response = client.get(f"/customers/{customer.id}", headers=api_headers(user))

    assert response.status_code == 200
    assert response.get_json()["id"] == customer.id


def test_missing_customer_is_404(client, admin_headers):
    assert_error(client.get("/customers/999999", headers=admin_headers), "001", 404)


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
@pytest.mark.parametrize("role", [Role.COLLECTION_OFFICER, Role.BORROWER, Role.MANAGER])
def test_customer_outside_the_callers_reach_is_403(client, make_user, make_customer, api_headers, role, method):
    user = make_user(role)
    others = make_customer(assigned_officer_id=make_user(Role.COLLECTION_OFFICER).id,
                           user_id=make_user(Role.BORROWER).id)

    response = client.open(f"/customers/{others.id}", method=method, json={"name": "Changed Name"},
                           headers=api_headers(user))

    assert_error(response, "001", 403)


def test_patch_changes_only_the_fields_sent(client, make_user, make_customer, api_headers):
    officer = make_user(Role.COLLECTION_OFFICER)
    customer = make_customer(assigned_officer_id=officer.id, name="Old Name", location="Kibera")

    response = client.patch(f"/customers/{customer.id}", json={"name": "New Name"}, headers=api_headers(officer))

    assert response.status_code == 200
    assert (response.get_json()["name"], response.get_json()["location"]) == ("New Name", "Kibera")


@pytest.mark.parametrize(("role", "allowed"), [
    (Role.ADMIN, True), (Role.MANAGER, True), (Role.LOAN_OFFICER, True), (Role.COLLECTION_OFFICER, True),
    (Role.CALLING_AGENT, False), (Role.BORROWER, False),
])
def test_who_may_patch_a_customer_they_can_see(client, make_user, make_customer, api_headers, role, allowed):
    user, customer = customer_visible_to(make_user, make_customer, role)

    response = client.patch(f"/customers/{customer.id}", json={"location": "Kawangware"}, headers=api_headers(user))

    if allowed:
        assert response.status_code == 200
    else:
        assert_error(response, "001", 403)


@pytest.mark.parametrize(("change", "field"), [
    ({"name": ""}, "name"),
    ({"phone": "123"}, "phone"),
    ({"date_of_birth": "yesterday"}, "date_of_birth"),
])
def test_patch_with_invalid_field_is_400(client, make_customer, admin_headers, change, field):
    customer = make_customer()

    assert_invalid(client.patch(f"/customers/{customer.id}", json=change, headers=admin_headers), "001", field)


def test_admin_deletes_a_customer(db, client, make_customer, admin_headers):
    customer_id = make_customer().id

    response = client.delete(f"/customers/{customer_id}", headers=admin_headers)

    assert response.status_code == 200
    assert set(response.get_json()) == {"message"}
    assert_error(client.get(f"/customers/{customer_id}", headers=admin_headers), "001", 404)


@pytest.mark.parametrize("role", [r for r in Role if r != Role.ADMIN])
def test_only_admins_delete_customers(client, make_user, make_customer, api_headers, role):
    user, customer = customer_visible_to(make_user, make_customer, role)

    assert_error(client.delete(f"/customers/{customer.id}", headers=api_headers(user)), "001", 403)
