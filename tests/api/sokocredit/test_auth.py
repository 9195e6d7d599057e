"""001 /auth: login, register, me, refresh-token (rotating), logout, logout-all."""

import pytest

from portal.models import Role, User
from tests.api.conftest import PASSWORD, assert_error, assert_invalid, bearer, claims_of, expired_copy

USER_FIELDS = {"id", "username", "email", "phone", "first_name", "last_name", "role", "is_email_verified",
               "is_phone_verified", "created_at"}


# -- /auth/login -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["email", "username", "phone", "identifier"])
def test_login_accepts_email_username_phone_or_identifier(client, make_user, key):
    user = make_user(Role.LOAN_OFFICER, phone="+254712345678")
    value = {"email": user.email, "username": user.username, "phone": "0712 345 678",
             "identifier": user.email}[key]

    response = client.post("/auth/login", json={key: value, "password": PASSWORD})

    assert response.status_code == 200
    assert response.get_json()["user"]["id"] == user.id


def test_login_returns_bearer_pair_lifetime_and_user(client, make_user):
    user = make_user(Role.LOAN_OFFICER)

    body = client.post("/auth/login", json={"email": user.email, "password": PASSWORD}).get_json()

    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in", "user"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert set(body["user"]) == USER_FIELDS
    assert body["user"]["role"] == "lender"
    assert "password" not in body["user"] and "password_hash" not in body["user"]


@pytest.mark.parametrize(("role", "role_name"), [
    (Role.ADMIN, "admin"), (Role.LOAN_OFFICER, "lender"), (Role.BORROWER, "mama_mboga"),
])
def test_login_names_the_role_as_001_does(app, client, make_user, role, role_name):
    user = make_user(role)

    body = client.post("/auth/login", json={"username": user.username, "password": PASSWORD}).get_json()

    assert body["user"]["role"] == role_name
    assert claims_of(app, body["access_token"])["sub"] == f"user_{user.id}:{role_name}"
    assert claims_of(app, body["refresh_token"])["sub"] == f"user_{user.id}:{role_name}"


def test_login_with_wrong_password_is_401(client, make_user):
    user = make_user(Role.LOAN_OFFICER)

    assert_error(client.post("/auth/login", json={"email": user.email, "password": "Wrong-pass-1"}), "001", 401)


def test_login_of_unknown_account_gets_the_same_answer_as_a_wrong_password(client, make_user):
    user = make_user(Role.LOAN_OFFICER)

    wrong = client.post("/auth/login", json={"email": user.email, "password": "Wrong-pass-1"})
    unknown = client.post("/auth/login", json={"email": "nobody@example.com", "password": "Wrong-pass-1"})

    assert (unknown.status_code, unknown.get_json()) == (wrong.status_code, wrong.get_json())


def test_login_of_deactivated_user_is_401(client, make_user):
    user = make_user(Role.LOAN_OFFICER, is_active=False)

    assert_error(client.post("/auth/login", json={"email": user.email, "password": PASSWORD}), "001", 401)


@pytest.mark.parametrize(("payload", "field"), [
    ({"password": PASSWORD}, "email"),
    ({"email": "someone@example.com"}, "password"),
])
def test_login_without_identifier_or_password_is_400(client, payload, field):
    assert_invalid(client.post("/auth/login", json=payload), "001", field)


# -- /auth/register --------------------------------------------------------------------------------------

NEW_USER = {"username": "mama_wanjiru", "email": "wanjiru@example.co.ke", "phone": "0722 000 111",
            "password": "Sokoni-2024", "first_name": "Wanjiru", "last_name": "Kamau"}


def test_register_without_token_creates_a_mama_mboga(db, client):
    response = client.post("/auth/register", json=NEW_USER)

    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"message", "user"}
    assert set(body["user"]) == USER_FIELDS
    assert body["user"]["role"] == "mama_mboga"
    assert body["user"]["phone"] == "+254722000111"
    assert db.session.get(User, body["user"]["id"]).role == Role.BORROWER


def test_registered_user_can_log_in(client):
    client.post("/auth/register", json=NEW_USER)

    response = client.post("/auth/login", json={"email": NEW_USER["email"], "password": NEW_USER["password"]})

    assert response.status_code == 200


def test_register_answer_holds_no_password_or_tokens(client):
    text = client.post("/auth/register", json=NEW_USER).get_data(as_text=True)

    assert NEW_USER["password"] not in text
    assert "access_token" not in text and "password" not in text


@pytest.mark.parametrize("role", ["lender", "admin", "manager", "collection_officer", "calling_agent"])
def test_register_of_a_staff_role_without_token_is_403(client, role):
    assert_error(client.post("/auth/register", json={**NEW_USER, "role": role}), "001", 403)


def test_admin_may_register_a_lender(client, admin_headers):
    response = client.post("/auth/register", json={**NEW_USER, "role": "lender"}, headers=admin_headers)

    assert response.status_code == 201
    assert response.get_json()["user"]["role"] == "lender"


@pytest.mark.parametrize(("role", "new_role", "status"), [
    (Role.MANAGER, "lender", 201),
    (Role.MANAGER, "admin", 403),
    (Role.MANAGER, "manager", 403),
    (Role.LOAN_OFFICER, "lender", 403),
    (Role.BORROWER, "lender", 403),
    (Role.BORROWER, "mama_mboga", 201),
])
def test_staff_roles_need_a_token_allowed_to_create_them(client, make_user, api_headers, role, new_role, status):
    response = client.post("/auth/register", json={**NEW_USER, "role": new_role}, headers=api_headers(make_user(role)))

    if status == 201:
        assert response.status_code == 201
    else:
        assert_error(response, "001", 403)


@pytest.mark.parametrize(("change", "field"), [
    ({"password": "short1"}, "password"),
    ({"password": "onlyletters"}, "password"),
    ({"email": "not-an-email"}, "email"),
    ({"phone": "12"}, "phone"),
    ({"role": "loan_officer"}, "role"),
    ({"role": "superuser"}, "role"),
    ({"username": None, "email": None, "phone": None}, "email"),
])
def test_register_with_invalid_field_is_400(client, change, field):
    payload = {k: v for k, v in {**NEW_USER, **change}.items() if v is not None}

    assert_invalid(client.post("/auth/register", json=payload), "001", field)


@pytest.mark.parametrize("field", ["username", "email", "phone"])
def test_register_with_a_taken_contact_is_400(client, make_user, field):
    make_user(Role.BORROWER, username="taken_name", email="taken@example.co.ke", phone="+254733000111")
    taken = {"username": "taken_name", "email": "TAKEN@example.co.ke", "phone": "0733000111"}[field]

    assert_invalid(client.post("/auth/register", json={**NEW_USER, field: taken}), "001", field)


# -- /auth/me --------------------------------------------------------------------------------------------

def test_me_returns_the_signed_in_user(client, make_user, login_001):
    user = make_user(Role.BORROWER)

    response = client.get("/auth/me", headers=bearer(login_001(user)["access_token"]))

    assert response.status_code == 200
    assert set(response.get_json()) == {"user"}
    me = response.get_json()["user"]
    assert (me["id"], me["username"], me["role"]) == (user.id, user.username, "mama_mboga")


# -- /auth/refresh-token ---------------------------------------------------------------------------------

def test_refresh_returns_a_new_pair_in_the_same_session(app, client, make_user, login_001):
    first = login_001(make_user(Role.LOAN_OFFICER))

    response = client.post("/auth/refresh-token", json={"refresh_token": first["refresh_token"]})

    assert response.status_code == 200
    body = response.get_json()
    assert {"access_token", "refresh_token", "token_type", "expires_in", "user"} <= set(body)
    assert body["refresh_token"] != first["refresh_token"]
    assert claims_of(app, body["access_token"])["sid"] == claims_of(app, first["access_token"])["sid"]
    assert claims_of(app, body["access_token"])["sub"].endswith(":lender")
    assert client.get("/auth/me", headers=bearer(body["access_token"])).status_code == 200


def test_rotated_refresh_token_can_be_used_once(client, make_user, login_001):
    first = login_001(make_user(Role.LOAN_OFFICER))
    second = client.post("/auth/refresh-token", json={"refresh_token": first["refresh_token"]}).get_json()

    third = client.post("/auth/refresh-token", json={"refresh_token": second["refresh_token"]})

    assert third.status_code == 200


def test_reusing_a_rotated_refresh_token_is_401_and_revokes_the_session(client, make_user, login_001):
    first = login_001(make_user(Role.LOAN_OFFICER))
    second = client.post("/auth/refresh-token", json={"refresh_token": first["refresh_token"]}).get_json()

    reuse = client.post("/auth/refresh-token", json={"refresh_token": first["refresh_token"]})

    assert_error(reuse, "001", 401)
    assert_error(client.get("/auth/me", headers=bearer(second["access_token"])), "001", 401)
    assert_error(client.get("/auth/me", headers=bearer(first["access_token"])), "001", 401)
    assert_error(client.post("/auth/refresh-token", json={"refresh_token": second["refresh_token"]}), "001", 401)


def test_reuse_revokes_only_that_session(client, make_user, login_001):
    user = make_user(Role.LOAN_OFFICER)
    leaked, other = login_001(user), login_001(user)
    client.post("/auth/refresh-token", json={"refresh_token": leaked["refresh_token"]})

    client.post("/auth/refresh-token", json={"refresh_token": leaked["refresh_token"]})

    assert client.get("/auth/me", headers=bearer(other["access_token"])).status_code == 200


def test_refresh_token_may_be_sent_as_bearer(client, make_user, login_001):
    first = login_001(make_user(Role.LOAN_OFFICER))

    response = client.post("/auth/refresh-token", headers=bearer(first["refresh_token"]))

    assert response.status_code == 200


def test_refresh_with_an_access_token_is_401(client, make_user, login_001):
    first = login_001(make_user(Role.LOAN_OFFICER))

    assert_error(client.post("/auth/refresh-token", json={"refresh_token": first["access_token"]}), "001", 401)


@pytest.mark.parametrize("payload", [{}, {"refresh_token": ""}, {"refresh_token": "not-a-jwt"}])
def test_refresh_without_a_usable_token_is_401(client, payload):
    assert_error(client.post("/auth/refresh-token", json=payload), "001", 401)


def test_expired_refresh_token_is_401(app, client, make_user, login_001):
    first = login_001(make_user(Role.LOAN_OFFICER))

    response = client.post("/auth/refresh-token", json={"refresh_token": expired_copy(app, first["refresh_token"])})

    assert_error(response, "001", 401)


@pytest.mark.parametrize("ending", ["/auth/logout", "/auth/logout-all"])
def test_refresh_after_logout_is_401(client, make_user, login_001, ending):
    first = login_001(make_user(Role.LOAN_OFFICER))
    assert client.post(ending, headers=bearer(first["access_token"])).status_code == 200

    assert_error(client.post("/auth/refresh-token", json={"refresh_token": first["refresh_token"]}), "001", 401)


# -- /auth/logout, /auth/logout-all ---------------------------------------------------------------------

def test_logout_answers_with_a_message_and_kills_this_access_token(client, make_user, login_001):
    first = login_001(make_user(Role.LOAN_OFFICER))

    response = client.post("/auth/logout", headers=bearer(first["access_token"]))

    assert response.status_code == 200
    assert set(response.get_json()) == {"message"}
    assert_error(client.get("/auth/me", headers=bearer(first["access_token"])), "001", 401)


def test_logout_leaves_the_users_other_sessions(client, make_user, login_001):
    user = make_user(Role.LOAN_OFFICER)
    this, other = login_001(user), login_001(user)

    client.post("/auth/logout", headers=bearer(this["access_token"]))

    assert client.get("/auth/me", headers=bearer(other["access_token"])).status_code == 200
    assert client.post("/auth/refresh-token", json={"refresh_token": other["refresh_token"]}).status_code == 200


def test_logout_all_kills_every_session_of_the_user(client, make_user, login_001):
    user = make_user(Role.LOAN_OFFICER)
    this, other = login_001(user), login_001(user)

    response = client.post("/auth/logout-all", headers=bearer(this["access_token"]))

    assert response.status_code == 200
    assert set(response.get_json()) == {"message"}
    for pair in (this, other):
        assert_error(client.get("/auth/me", headers=bearer(pair["access_token"])), "001", 401)
        assert_error(client.post("/auth/refresh-token", json={"refresh_token": pair["refresh_token"]}), "001", 401)


@pytest.mark.parametrize("spoil", ["expired", "logged_out"])
def test_register_with_a_dead_token_is_401_not_anonymous(app, client, admin, api_headers, spoil):
    headers = api_headers(admin)
    if spoil == "expired":
        headers = bearer(expired_copy(app, headers["Authorization"][7:]))
    else:
        client.post("/auth/logout", headers=headers)

    assert_error(client.post("/auth/register", json=NEW_USER, headers=headers), "001", 401)
