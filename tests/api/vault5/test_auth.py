"""004 /v1/auth/login {identifier, password} and /v1/auth/register (camelCase) -> token, refreshToken, user."""

import pytest

from portal.models import Role, User
from tests.api.conftest import PASSWORD, assert_error, assert_invalid, bearer, claims_of, error_fields

USER_FIELDS = {"_id", "primaryEmail", "primaryPhone", "firstName", "lastName", "role"}
REGISTER = {"primaryEmail": "user@example.com", "primaryPhone": "+254700000000", "password": "SecurePass123!",
            "firstName": "John", "lastName": "Doe"}
REGISTER_FIELDS = set(REGISTER)


def _assert_auth_result(app, body, user_id):
    assert set(body) == {"success", "token", "refreshToken", "user"}
    assert body["success"] is True
    assert set(body["user"]) >= USER_FIELDS
    assert body["user"]["_id"] == str(user_id)
    assert claims_of(app, body["token"])["type"] == "access"
    assert claims_of(app, body["refreshToken"])["type"] == "refresh"


# -- /v1/auth/login --------------------------------------------------------------------------------------

@pytest.mark.parametrize("identifier", ["email", "phone", "username"])
def test_login_with_email_phone_or_username(app, client, make_user, identifier):
    user = make_user(Role.BORROWER, phone="+254711000333")
    value = {"email": user.email, "phone": "0711 000 333", "username": user.username}[identifier]

    response = client.post("/v1/auth/login", json={"identifier": value, "password": PASSWORD})

    assert response.status_code == 200
    _assert_auth_result(app, response.get_json(), user.id)


def test_login_answers_in_camel_case_with_a_string_id(client, make_user):
    user = make_user(Role.BORROWER, phone="+254711000333", first_name="Amina", last_name="Hassan")

    body = client.post("/v1/auth/login", json={"identifier": user.email, "password": PASSWORD}).get_json()

    expected = {"primaryEmail": user.email, "primaryPhone": "+254711000333", "firstName": "Amina",
                "lastName": "Hassan", "role": "user"}
    assert {k: body["user"][k] for k in expected} == expected
    assert isinstance(body["user"]["_id"], str)
    assert "password" not in str(body["user"]).lower()


def test_login_token_works_and_names_the_borrower_user(app, client, make_user):
    user = make_user(Role.BORROWER)

    body = client.post("/v1/auth/login", json={"identifier": user.email, "password": PASSWORD}).get_json()

    assert claims_of(app, body["token"])["sub"] == f"user_{user.id}:user"
    assert client.get("/auth/me", headers=bearer(body["token"])).status_code == 200


def test_wrong_password_is_401_in_vault5_shape(client, make_user):
    user = make_user(Role.BORROWER)

    response = client.post("/v1/auth/login", json={"identifier": user.email, "password": "Wrong-pass-1"})

    assert_error(response, "004", 401)


def test_unknown_identifier_gets_the_same_answer_as_a_wrong_password(client, make_user):
    user = make_user(Role.BORROWER)

    wrong = client.post("/v1/auth/login", json={"identifier": user.email, "password": "Wrong-pass-1"})
    unknown = client.post("/v1/auth/login", json={"identifier": "nobody@example.com", "password": "Wrong-pass-1"})

    assert (unknown.status_code, unknown.get_json()) == (wrong.status_code, wrong.get_json())


@pytest.mark.parametrize(("payload", "fields"), [
    ({}, ("identifier", "password")),
    ({"identifier": "user@example.com"}, ("password",)),
    ({"password": PASSWORD}, ("identifier",)),
])
def test_missing_login_fields_are_422_validation_error(client, payload, fields):
    assert_invalid(client.post("/v1/auth/login", json=payload), "004", *fields)


# -- /v1/auth/register -----------------------------------------------------------------------------------

def test_register_with_the_documents_example_is_201_and_signed_in(app, db, client):
    response = client.post("/v1/auth/register", json=REGISTER)

    assert response.status_code == 201
    body = response.get_json()
    user = db.session.get(User, int(body["user"]["_id"]))
    _assert_auth_result(app, body, user.id)
    expected = {"primaryEmail": "user@example.com", "primaryPhone": "+254700000000", "firstName": "John",
                "lastName": "Doe", "role": "user"}
    assert {k: body["user"][k] for k in expected} == expected
    assert user.role == Role.BORROWER
    assert claims_of(app, body["token"])["sub"] == f"user_{user.id}:user"
    assert client.get("/auth/me", headers=bearer(body["token"])).status_code == 200


def test_registered_user_can_log_in(client):
    client.post("/v1/auth/register", json=REGISTER)

    response = client.post("/v1/auth/login", json={"identifier": "user@example.com", "password": "SecurePass123!"})

    assert response.status_code == 200


def test_register_never_creates_staff(db, client):
    body = client.post("/v1/auth/register", json={**REGISTER, "role": "admin"}).get_json()

    assert db.session.get(User, int(body["user"]["_id"])).role == Role.BORROWER


@pytest.mark.parametrize(("changes", "field"), [
    ({"primaryEmail": None}, "primaryEmail"),
    ({"password": None}, "password"),
    ({"primaryEmail": "not-an-email"}, "primaryEmail"),
    ({"primaryPhone": "12"}, "primaryPhone"),
    ({"password": "short1"}, "password"),
    ({"password": "lettersonly"}, "password"),
])
def test_invalid_registration_is_422_naming_the_camel_case_field(client, changes, field):
    payload = {k: v for k, v in {**REGISTER, **changes}.items() if v is not None}

    body = assert_invalid(client.post("/v1/auth/register", json=payload), "004", field)

    assert error_fields(body, "004") <= REGISTER_FIELDS


@pytest.mark.parametrize("field", ["primaryEmail", "primaryPhone"])
def test_taken_email_or_phone_is_422_naming_the_camel_case_field(client, make_user, field):
    make_user(Role.BORROWER, email="user@example.com", phone="+254700000000")
    payload = {**REGISTER, "primaryEmail": "fresh@example.com", "primaryPhone": "+254711222333",
               field: REGISTER[field]}

    body = assert_invalid(client.post("/v1/auth/register", json=payload), "004", field)

    assert error_fields(body, "004") <= REGISTER_FIELDS
