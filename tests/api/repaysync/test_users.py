"""003 /api/users/register/ (self-registration as a borrower only) and GET /api/users/ (admin/manager)."""

import pytest

from portal.models import Role, User
from tests.api.conftest import assert_error, assert_invalid, bearer, expired_copy

USER_FIELDS = {"id", "username", "email", "role", "manager"}
NEW_USER = {"username": "johndoe", "email": "john@example.com", "manager": None, "password": "SomePassword123"}
STAFF_ROLES = ["admin", "manager", "loan_officer", "collection_officer", "calling_agent"]


def _register(client, headers=None, **changes):
    return client.post("/api/users/register/", json={**NEW_USER, **changes}, headers=headers or {})


def test_self_registration_creates_a_borrower(db, client):
    response = _register(client)

    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == USER_FIELDS
    assert body == {"id": body["id"], "username": "johndoe", "email": "john@example.com", "role": "borrower",
                    "manager": None}
    assert db.session.get(User, body["id"]).role == Role.BORROWER


def test_self_registration_may_name_the_borrower_role(client):
    assert _register(client, role="borrower").status_code == 201


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_self_registration_of_a_staff_role_is_403(db, client, role):
    response = _register(client, role=role)

    assert_error(response, "003", 403)
    assert db.session.scalar(db.select(User).where(User.username == "johndoe")) is None


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_admin_may_register_any_role(client, admin_headers, role):
    response = _register(client, admin_headers, role=role)

    assert response.status_code == 201
    assert response.get_json()["role"] == role


@pytest.mark.parametrize("role", ["calling_agent", "collection_officer"])
def test_manager_registers_juniors_into_their_own_team(client, make_user, api_headers, role):
    manager = make_user(Role.MANAGER)

    response = _register(client, api_headers(manager), role=role)

    assert response.status_code == 201
    assert response.get_json()["manager"] == manager.id


def test_manager_cannot_place_a_junior_in_another_team(client, make_user, api_headers):
    manager, other_manager = make_user(Role.MANAGER), make_user(Role.MANAGER)

    response = _register(client, api_headers(manager), role="calling_agent", manager=other_manager.id)

    assert response.get_json()["manager"] == manager.id


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_manager_cannot_register_admins_or_managers(client, make_user, api_headers, role):
    assert_error(_register(client, api_headers(make_user(Role.MANAGER)), role=role), "003", 403)


@pytest.mark.parametrize("caller", [Role.LOAN_OFFICER, Role.COLLECTION_OFFICER, Role.CALLING_AGENT, Role.BORROWER])
def test_non_managers_cannot_register_staff(client, make_user, api_headers, caller):
    assert_error(_register(client, api_headers(make_user(caller)), role="calling_agent"), "003", 403)


def test_admin_may_set_the_manager(client, make_user, admin_headers):
    manager = make_user(Role.MANAGER)

    response = _register(client, admin_headers, role="collection_officer", manager=manager.id)

    assert response.get_json()["manager"] == manager.id


@pytest.mark.parametrize(("changes", "field"), [
    ({"username": None}, "username"),
    ({"password": None}, "password"),
    ({"username": "x"}, "username"),
    ({"password": "short1"}, "password"),
    ({"email": "not-an-email"}, "email"),
    ({"role": "superuser"}, "role"),
    ({"manager": "boss"}, "manager"),
])
def test_invalid_registration_is_400_with_field_errors(client, changes, field):
    payload = {k: v for k, v in {**NEW_USER, **changes}.items() if v is not None or k == "manager"}

    assert_invalid(client.post("/api/users/register/", json=payload), "003", field)


def test_manager_that_is_not_a_manager_is_400(client, make_user, admin_headers):
    not_a_manager = make_user(Role.LOAN_OFFICER)

    response = _register(client, admin_headers, role="calling_agent", manager=not_a_manager.id)

    assert_invalid(response, "003", "manager")


@pytest.mark.parametrize("field", ["username", "email"])
def test_taken_username_or_email_is_400(client, make_user, field):
    make_user(Role.BORROWER, username="johndoe", email="john@example.com")
    other = {"username": "someone_else", "email": "someone@example.com"}
    other.pop(field)

    assert_invalid(_register(client, **other), "003", field)


def test_admin_lists_every_user_as_a_bare_array(client, make_user, admin, admin_headers):
    manager = make_user(Role.MANAGER)
    agent = make_user(Role.CALLING_AGENT, manager_id=manager.id)

    response = client.get("/api/users/", headers=admin_headers)

    assert response.status_code == 200
    users = response.get_json()
    assert isinstance(users, list)
    assert all(set(u) == USER_FIELDS for u in users)
    by_id = {u["id"]: u for u in users}
    assert {admin.id, manager.id, agent.id} <= set(by_id)
    assert by_id[agent.id] == {"id": agent.id, "username": agent.username, "email": agent.email,
                               "role": "calling_agent", "manager": manager.id}


def test_manager_lists_themself_and_their_team_only(client, make_user, api_headers):
    manager = make_user(Role.MANAGER)
    agent = make_user(Role.CALLING_AGENT, manager_id=manager.id)
    make_user(Role.CALLING_AGENT, manager_id=make_user(Role.MANAGER).id)

    users = client.get("/api/users/", headers=api_headers(manager)).get_json()

    assert {u["id"] for u in users} == {manager.id, agent.id}


@pytest.mark.parametrize("role", [Role.LOAN_OFFICER, Role.COLLECTION_OFFICER, Role.CALLING_AGENT, Role.BORROWER])
def test_other_roles_may_not_list_users(client, make_user, api_headers, role):
    assert_error(client.get("/api/users/", headers=api_headers(make_user(role))), "003", 403)


@pytest.mark.parametrize("spoil", ["expired", "logged_out"])
def test_register_with_a_dead_token_is_401_not_anonymous(app, client, admin, api_headers, spoil):
    headers = api_headers(admin)
    if spoil == "expired":
        headers = bearer(expired_copy(app, headers["Authorization"][7:]))
    else:
        client.post("/auth/logout", headers=headers)

    assert_error(_register(client, headers, role="calling_agent"), "003", 401)
