"""003 /api/customers/: bare-array listing with paging and search, create, retrieve/update/delete."""

import re
from datetime import date

import pytest

from portal.models import Customer, Role
from tests.api.conftest import assert_error, assert_invalid, customer_visible_to, error_fields

CUSTOMER_FIELDS = {"id", "customer_code", "name", "phone", "email", "assigned_collection_officer", "address_line_1",
                   "address_line_2", "city", "state", "pincode", "date_of_birth"}
# The document's own POST example.
DOCUMENT_EXAMPLE = {"customer_code": "OptionalValueOrNull", "name": "John Doe", "phone": "+91-9876543210",
                    "email": "john@example.com", "assigned_collection_officer": 2, "address_line_1": "123 Main St",
                    "address_line_2": "Apt 4B", "city": "Kolkata", "state": "WB", "pincode": "700001",
                    "date_of_birth": "1990-01-01"}
CREATE_PATHS = ["/api/customers/", "/api/customers/create/"]


@pytest.fixture
def officer(make_user):
    return make_user(Role.COLLECTION_OFFICER)


def _example(officer, **changes) -> dict:
    return {**DOCUMENT_EXAMPLE, "customer_code": None, "assigned_collection_officer": officer.id, **changes}


# -- POST /api/customers/ and /api/customers/create/ -----------------------------------------------------

@pytest.mark.parametrize("path", CREATE_PATHS)
def test_document_example_creates_a_customer(db, client, officer, admin_headers, path):
    response = client.post(path, json=_example(officer), headers=admin_headers)

    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == CUSTOMER_FIELDS
    assert body["name"] == "John Doe"
    assert body["phone"] == "+919876543210"
    assert body["assigned_collection_officer"] == officer.id
    assert (body["city"], body["state"], body["pincode"], body["date_of_birth"]) == (
        "Kolkata", "WB", "700001", "1990-01-01")
    assert db.session.get(Customer, body["id"]) is not None


@pytest.mark.parametrize("path", CREATE_PATHS)
@pytest.mark.parametrize("code", ["null", "omitted", "empty"])
def test_null_or_omitted_customer_code_is_generated(client, officer, admin_headers, path, code):
    payload = _example(officer)
    if code == "omitted":
        del payload["customer_code"]
    elif code == "empty":
        payload["customer_code"] = ""

    body = client.post(path, json=payload, headers=admin_headers).get_json()

    assert re.fullmatch(r"[A-Z0-9]{8}", body["customer_code"])


def test_generated_codes_differ(client, officer, admin_headers):
    codes = {client.post("/api/customers/", json=_example(officer), headers=admin_headers).get_json()["customer_code"]
             for _ in range(3)}

    assert len(codes) == 3


def test_given_customer_code_is_kept(client, officer, admin_headers):
    body = client.post("/api/customers/", json=_example(officer, customer_code="a1b2c3d4"),
                       headers=admin_headers).get_json()

    assert body["customer_code"] == "A1B2C3D4"


@pytest.mark.parametrize("path", CREATE_PATHS)
@pytest.mark.parametrize(("changes", "field"), [
    ({"name": None}, "name"),
    ({"customer_code": "OptionalValueOrNull"}, "customer_code"),
    ({"phone": "123"}, "phone"),
    ({"email": "not-an-email"}, "email"),
    ({"date_of_birth": "01-01-1990"}, "date_of_birth"),
    ({"pincode": "!"}, "pincode"),
    ({"assigned_collection_officer": "two"}, "assigned_collection_officer"),
])
def test_invalid_customer_is_400_with_field_errors(client, officer, admin_headers, path, changes, field):
    payload = {k: v for k, v in _example(officer, **changes).items() if v is not None or k == "customer_code"}

    assert_invalid(client.post(path, json=payload, headers=admin_headers), "003", field)


def test_missing_name_gets_the_documented_message(client, admin_headers):
    response = client.post("/api/customers/", json={"phone": "0712345678"}, headers=admin_headers)

    assert response.status_code == 400
    assert response.get_json() == {"errors": {"name": ["This field is required."]}}


@pytest.mark.parametrize("not_an_officer", [Role.LOAN_OFFICER, Role.CALLING_AGENT, None])
def test_assigning_to_someone_not_a_collection_officer_is_400(client, make_user, admin_headers, not_an_officer):
    officer_id = make_user(not_an_officer).id if not_an_officer else 999999
    response = client.post("/api/customers/", json=_example(make_user(Role.COLLECTION_OFFICER),
                                                              assigned_collection_officer=officer_id),
                           headers=admin_headers)

    body = assert_invalid(response, "003", "assigned_collection_officer")
    assert error_fields(body, "003") <= CUSTOMER_FIELDS


def test_collection_officer_cannot_assign_to_another_officer(client, officer, make_user, api_headers):
    other = make_user(Role.COLLECTION_OFFICER)

    response = client.post("/api/customers/", json=_example(other), headers=api_headers(officer))

    assert_invalid(response, "003", "assigned_collection_officer")


def test_collection_officers_customers_are_assigned_to_themself(client, officer, api_headers):
    payload = {k: v for k, v in _example(officer).items() if k != "assigned_collection_officer"}

    body = client.post("/api/customers/", json=payload, headers=api_headers(officer)).get_json()

    assert body["assigned_collection_officer"] == officer.id


@pytest.mark.parametrize("path", CREATE_PATHS)
@pytest.mark.parametrize(("role", "allowed"), [
    (Role.ADMIN, True), (Role.MANAGER, True), (Role.LOAN_OFFICER, True), (Role.COLLECTION_OFFICER, True),
    (Role.CALLING_AGENT, False), (Role.BORROWER, False),
])
def test_who_may_create_a_customer(client, make_user, api_headers, path, role, allowed):
    payload = {"name": "Grace Wanjiru", "phone": "0712345600"}

    response = client.post(path, json=payload, headers=api_headers(make_user(role)))

    if allowed:
        assert response.status_code == 201
    else:
        assert_error(response, "003", 403)


# -- GET /api/customers/ ---------------------------------------------------------------------------------

def test_list_is_a_bare_array_and_counts_the_total_only_when_asked(client, make_customer, admin_headers):
    make_customer()
    make_customer()

    response = client.get("/api/customers/", headers=admin_headers)
    counted = client.get("/api/customers/?total=true", headers=admin_headers)

    assert response.status_code == 200
    assert isinstance(response.get_json(), list)
    assert all(set(c) == CUSTOMER_FIELDS for c in response.get_json())
    assert "X-Total-Count" not in response.headers
    assert counted.headers["X-Total-Count"] == "2"
    assert counted.get_json() == response.get_json()


def test_listed_customers_carry_the_document_s_fields_with_their_values(client, officer, make_customer,
                                                                        admin_headers):
    full = make_customer(customer_code="FULL0001", name="Zawadi Full", phone="+254712000001", email="z@example.com",
                         assigned_officer_id=officer.id, address_line_1="1 Moi Ave", address_line_2="Stall 4",
                         city="Nairobi", state="Nairobi", pincode="00100", date_of_birth=date(1990, 1, 2))
    bare = make_customer(customer_code="BARE0001", name="Baraka Bare", phone=None, email=None,
                         assigned_officer_id=None, address_line_1=None, address_line_2=None, city=None, state=None,
                         pincode=None, date_of_birth=None)

    listed = {c["id"]: c for c in client.get("/api/customers/", headers=admin_headers).get_json()}

    assert listed[full.id] == {"id": full.id, "customer_code": "FULL0001", "name": "Zawadi Full",
                               "phone": "+254712000001", "email": "z@example.com",
                               "assigned_collection_officer": officer.id, "address_line_1": "1 Moi Ave",
                               "address_line_2": "Stall 4", "city": "Nairobi", "state": "Nairobi",
                               "pincode": "00100", "date_of_birth": "1990-01-02"}
    assert listed[bare.id] == {"id": bare.id, "customer_code": "BARE0001", "name": "Baraka Bare",
                               **dict.fromkeys(CUSTOMER_FIELDS - {"id", "customer_code", "name"})}


def test_list_is_newest_first_and_pages(client, make_customer, admin_headers):
    ids = [make_customer().id for _ in range(5)]

    first = client.get("/api/customers/?page_size=2", headers=admin_headers)
    second = client.get("/api/customers/?page_size=2&page=2&total=true", headers=admin_headers)
    third = client.get("/api/customers/?page_size=2&page=3", headers=admin_headers)

    assert [c["id"] for c in first.get_json()] == ids[::-1][:2]
    assert [c["id"] for c in third.get_json()] == ids[:1]
    assert first.headers["Link"] == '</api/customers/?page_size=2&page=2>; rel="next"'
    assert second.headers["Link"] == ('</api/customers/?page_size=2&page=1&total=true>; rel="prev", '
                                      '</api/customers/?page_size=2&page=3&total=true>; rel="next"')
    assert second.headers["X-Total-Count"] == "5"
    assert third.headers["Link"] == '</api/customers/?page_size=2&page=2>; rel="prev"'  # the last page
    repeated = client.get("/api/customers/?page_size=2&tag=a&tag=b", headers=admin_headers)
    assert repeated.headers["Link"] == '</api/customers/?page_size=2&tag=a&tag=b&page=2>; rel="next"'


def test_page_past_the_end_is_an_empty_array(client, make_customer, admin_headers):
    make_customer()

    response = client.get("/api/customers/?page=5", headers=admin_headers)

    assert response.status_code == 200
    assert response.get_json() == []


@pytest.mark.parametrize(("query", "field"), [
    ("page=0", "page"), ("page=x", "page"), ("page_size=0", "page_size"), ("page_size=many", "page_size"),
])
def test_bad_paging_is_400(client, admin_headers, query, field):
    assert_invalid(client.get(f"/api/customers/?{query}", headers=admin_headers), "003", field)


@pytest.mark.parametrize("search", ["Wairimu", "wairimu njeri", "WRM00001", "0712 999 001"])
def test_search_finds_by_name_code_or_phone(client, make_customer, admin_headers, search):
    wanted = make_customer(name="Wairimu Njeri", customer_code="WRM00001", phone="+254712999001")
    make_customer(name="Otieno Ouma")

    response = client.get("/api/customers/", query_string={"search": search}, headers=admin_headers)

    assert [c["id"] for c in response.get_json()] == [wanted.id]
    assert "Link" not in response.headers  # one page


def test_collection_officer_lists_only_assigned_customers(client, officer, make_user, make_customer, api_headers):
    mine = make_customer(assigned_officer_id=officer.id)
    make_customer(assigned_officer_id=make_user(Role.COLLECTION_OFFICER).id)
    make_customer(created_by_id=officer.id)

    response = client.get("/api/customers/", headers=api_headers(officer))

    assert [c["id"] for c in response.get_json()] == [mine.id]


def test_calling_agent_lists_all_customers(client, officer, make_user, make_customer, api_headers):
    ids = {make_customer(assigned_officer_id=officer.id).id, make_customer().id}

    response = client.get("/api/customers/", headers=api_headers(make_user(Role.CALLING_AGENT)))

    assert {c["id"] for c in response.get_json()} == ids


def test_borrower_lists_only_their_own_record(client, make_user, make_customer, api_headers):
    borrower = make_user(Role.BORROWER)
    own = make_customer(user_id=borrower.id)
    make_customer(user_id=make_user(Role.BORROWER).id)

    assert [c["id"] for c in client.get("/api/customers/", headers=api_headers(borrower)).get_json()] == [own.id]


def test_manager_lists_only_their_teams_customers(client, make_user, make_customer, api_headers):
    manager = make_user(Role.MANAGER)
    ours = make_customer(assigned_officer_id=make_user(Role.COLLECTION_OFFICER, manager_id=manager.id).id)
    make_customer(assigned_officer_id=make_user(Role.COLLECTION_OFFICER).id)

    assert [c["id"] for c in client.get("/api/customers/", headers=api_headers(manager)).get_json()] == [ours.id]


# -- GET/PUT/PATCH/DELETE /api/customers/<id>/ -----------------------------------------------------------

@pytest.mark.parametrize("role", list(Role))
def test_each_role_retrieves_a_customer_it_may_see(client, make_user, make_customer, api_headers, role):
    user, customer = customer_visible_to(make_user, make_customer, role)

    response = client.get(f"/api/customers/{customer.id}/", headers=api_headers(user))

    assert response.status_code == 200
    assert set(response.get_json()) == CUSTOMER_FIELDS
    assert response.get_json()["id"] == customer.id


def test_missing_customer_is_404(client, admin_headers):
    assert_error(client.get("/api/customers/999999/", headers=admin_headers), "003", 404)


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("role", [Role.COLLECTION_OFFICER, Role.BORROWER, Role.MANAGER])
def test_customer_outside_the_callers_reach_is_403(client, make_user, make_customer, api_headers, role, method):
    others = make_customer(assigned_officer_id=make_user(Role.COLLECTION_OFFICER).id,
                           user_id=make_user(Role.BORROWER).id)

    response = client.open(f"/api/customers/{others.id}/", method=method, json={"name": "Changed Name"},
                           headers=api_headers(make_user(role)))

    assert_error(response, "003", 403)


def test_other_officers_customer_is_not_changed(db, client, officer, make_user, make_customer, api_headers):
    others = make_customer(assigned_officer_id=make_user(Role.COLLECTION_OFFICER).id, name="Kept Name")

    client.patch(f"/api/customers/{others.id}/", json={"name": "Changed Name"}, headers=api_headers(officer))

    assert db.session.get(Customer, others.id).name == "Kept Name"


def test_patch_changes_only_the_fields_sent(client, officer, make_customer, api_headers):
    customer = make_customer(assigned_officer_id=officer.id, name="John Doe", city="Kolkata")

    response = client.patch(f"/api/customers/{customer.id}/", json={"name": "John Doe Updated",
                                                                    "phone": "+91-9123456789"},
                            headers=api_headers(officer))

    assert response.status_code == 200
    body = response.get_json()
    assert (body["name"], body["phone"], body["city"]) == ("John Doe Updated", "+919123456789", "Kolkata")


def test_put_replaces_the_details(client, officer, make_customer, api_headers):
    customer = make_customer(assigned_officer_id=officer.id)

    response = client.put(f"/api/customers/{customer.id}/", json=_example(officer, name="Jane Roe"),
                          headers=api_headers(officer))

    assert response.status_code == 200
    assert (response.get_json()["name"], response.get_json()["city"]) == ("Jane Roe", "Kolkata")


def test_put_without_name_is_400(client, officer, make_customer, api_headers):
    customer = make_customer(assigned_officer_id=officer.id)

    response = client.put(f"/api/customers/{customer.id}/", json={"city": "Kolkata"}, headers=api_headers(officer))

    assert_invalid(response, "003", "name")


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
@pytest.mark.parametrize(("changes", "field"), [({"name": ""}, "name"), ({"phone": "123"}, "phone"),
                                                ({"date_of_birth": "1990/01/01"}, "date_of_birth")])
def test_invalid_update_is_400(client, officer, make_customer, api_headers, method, changes, field):
    customer = make_customer(assigned_officer_id=officer.id)
    payload = {"name": "John Doe", **changes}

    response = client.open(f"/api/customers/{customer.id}/", method=method, json=payload,
                           headers=api_headers(officer))

    assert_invalid(response, "003", field)


def test_collection_officer_cannot_reassign_their_customer(client, officer, make_user, make_customer, api_headers):
    customer = make_customer(assigned_officer_id=officer.id)
    other = make_user(Role.COLLECTION_OFFICER)

    response = client.patch(f"/api/customers/{customer.id}/", json={"assigned_collection_officer": other.id},
                            headers=api_headers(officer))

    assert_invalid(response, "003", "assigned_collection_officer")


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
@pytest.mark.parametrize(("role", "allowed"), [
    (Role.ADMIN, True), (Role.MANAGER, True), (Role.LOAN_OFFICER, True), (Role.COLLECTION_OFFICER, True),
    (Role.CALLING_AGENT, False), (Role.BORROWER, False),
])
def test_who_may_update_a_customer_they_can_see(client, make_user, make_customer, api_headers, method, role, allowed):
    user, customer = customer_visible_to(make_user, make_customer, role)

    response = client.open(f"/api/customers/{customer.id}/", method=method, json={"name": "Renamed Customer"},
                           headers=api_headers(user))

    if allowed:
        assert response.status_code == 200
    else:
        assert_error(response, "003", 403)


def test_admin_deletes_a_customer_with_200(client, make_customer, admin_headers):
    customer_id = make_customer().id

    response = client.delete(f"/api/customers/{customer_id}/", headers=admin_headers)

    assert response.status_code == 200
    assert_error(client.get(f"/api/customers/{customer_id}/", headers=admin_headers), "003", 404)


@pytest.mark.parametrize("role", [r for r in Role if r != Role.ADMIN])
def test_only_admins_delete_customers(db, client, make_user, make_customer, api_headers, role):
    user, customer = customer_visible_to(make_user, make_customer, role)

    assert_error(client.delete(f"/api/customers/{customer.id}/", headers=api_headers(user)), "003", 403)
    assert db.session.get(Customer, customer.id) is not None
