"""000 POST /users: client profiles (with a generated a/c) and staff user profiles."""

import re

import pytest

from portal.models import Customer, Role, User
from tests.api.conftest import assert_error, assert_invalid, error_fields

CLIENT = {"name": "John Doe", "email": "john.doe@example.com", "role": "client", "id_number": "1234567"}
STAFF = {"name": "John Doe", "email": "john.doe@example.com", "role": "user"}
# 000's request fields: an error may only name these.
DOCUMENT_FIELDS = {"name", "email", "role", "id_number", "phone", "password"}


def test_client_profile_is_created_with_the_documented_account_number(db, client, make_user, api_headers):
    officer = make_user(Role.LOAN_OFFICER)

    response = client.post("/users", json=CLIENT, headers=api_headers(officer))

    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"id", "name", "email", "role", "a/c"}
    assert body["name"] == "John Doe"
    assert body["email"] == "john.doe@example.com"
    assert body["role"] == "client"
    assert body["a/c"] == "john1234567"
    assert db.session.get(Customer, body["id"]).account_number == "john1234567"


def test_second_client_with_the_same_name_and_id_gets_a_distinct_account_number(client, make_user, api_headers):
    headers = api_headers(make_user(Role.LOAN_OFFICER))

    first = client.post("/users", json=CLIENT, headers=headers).get_json()["a/c"]
    second = client.post("/users", json=CLIENT, headers=headers).get_json()["a/c"]

    assert first != second
    assert second.startswith("john1234567")


def test_client_without_id_number_still_gets_an_account_number(client, make_user, api_headers):
    payload = {k: v for k, v in CLIENT.items() if k != "id_number"}

    response = client.post("/users", json=payload, headers=api_headers(make_user(Role.LOAN_OFFICER)))

    assert response.status_code == 201
    assert re.fullmatch(r"john\S+", response.get_json()["a/c"])


def test_user_profile_is_a_staff_loan_officer_without_account_number(db, client, admin_headers):
    response = client.post("/users", json=STAFF, headers=admin_headers)

    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"id", "name", "email", "role"}
    assert body == {"id": body["id"], "name": "John Doe", "email": "john.doe@example.com", "role": "user"}
    assert db.session.get(User, body["id"]).role == Role.LOAN_OFFICER


@pytest.mark.parametrize(("role", "status"), [
    (Role.ADMIN, 201), (Role.MANAGER, 201), (Role.LOAN_OFFICER, 201), (Role.COLLECTION_OFFICER, 201),
    (Role.CALLING_AGENT, 403), (Role.BORROWER, 403),
])
def test_who_may_create_a_client_profile(client, make_user, api_headers, role, status):
    response = client.post("/users", json=CLIENT, headers=api_headers(make_user(role)))

    if status == 201:
        assert response.status_code == 201
    else:
        assert_error(response, "000", 403)


@pytest.mark.parametrize(("role", "status"), [
    (Role.ADMIN, 201), (Role.MANAGER, 201), (Role.LOAN_OFFICER, 403), (Role.COLLECTION_OFFICER, 403),
    (Role.CALLING_AGENT, 403), (Role.BORROWER, 403),
])
def test_who_may_create_a_staff_user_profile(client, make_user, api_headers, role, status):
    response = client.post("/users", json=STAFF, headers=api_headers(make_user(role)))

    if status == 201:
        assert response.status_code == 201
    else:
        assert_error(response, "000", 403)


@pytest.mark.parametrize(("payload", "field"), [
    ({**CLIENT, "role": "admin"}, "role"),
    ({k: v for k, v in CLIENT.items() if k != "role"}, "role"),
    ({k: v for k, v in CLIENT.items() if k != "name"}, "name"),
    ({**CLIENT, "name": "J"}, "name"),
    ({**CLIENT, "id_number": "12"}, "id_number"),
    ({**CLIENT, "email": "not-an-email"}, "email"),
    ({**STAFF, "email": "not-an-email"}, "email"),
    ({k: v for k, v in STAFF.items() if k != "email"}, "email"),
])
def test_invalid_profile_is_400_naming_the_000_field(client, admin_headers, payload, field):
    body = assert_invalid(client.post("/users", json=payload, headers=admin_headers), "000", field)

    assert error_fields(body, "000") <= DOCUMENT_FIELDS


def test_staff_email_already_registered_is_400_naming_only_000_fields(client, make_user, admin_headers):
    taken = make_user(Role.LOAN_OFFICER)

    response = client.post("/users", json={**STAFF, "email": taken.email}, headers=admin_headers)

    body = assert_invalid(response, "000", "email")
    assert error_fields(body, "000") <= DOCUMENT_FIELDS
