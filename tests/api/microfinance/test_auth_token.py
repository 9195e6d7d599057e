"""000 POST /auth/token: username + password -> {token}."""

from portal.models import Role
from tests.api.conftest import PASSWORD, assert_error, assert_invalid, bearer


def test_token_is_the_only_field_and_authenticates(client, make_user):
    user = make_user(Role.LOAN_OFFICER)

    response = client.post("/auth/token", json={"username": user.username, "password": PASSWORD})

    assert response.status_code == 200
    assert set(response.get_json()) == {"token"}
    assert client.get("/auth/me", headers=bearer(response.get_json()["token"])).status_code == 200


def test_username_may_be_the_email_as_the_document_shows(client, make_user):
    user = make_user(Role.LOAN_OFFICER)

    response = client.post("/auth/token", json={"username": user.email, "password": PASSWORD})

    assert response.status_code == 200


def test_wrong_password_is_401_in_000_shape(client, make_user):
    user = make_user(Role.LOAN_OFFICER)

    response = client.post("/auth/token", json={"username": user.username, "password": "Wrong-pass-1"})

    assert_error(response, "000", 401)


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(client, make_user):
    user = make_user(Role.LOAN_OFFICER)

    wrong = client.post("/auth/token", json={"username": user.username, "password": "Wrong-pass-1"})
    unknown = client.post("/auth/token", json={"username": "nobody-here", "password": "Wrong-pass-1"})

    assert (unknown.status_code, unknown.get_json()) == (wrong.status_code, wrong.get_json())


def test_deactivated_user_gets_no_token(client, make_user):
    user = make_user(Role.LOAN_OFFICER, is_active=False)

    response = client.post("/auth/token", json={"username": user.username, "password": PASSWORD})

    assert_error(response, "000", 401)


def test_missing_password_is_400_naming_the_field(client, make_user):
    user = make_user(Role.LOAN_OFFICER)

    assert_invalid(client.post("/auth/token", json={"username": user.username}), "000", "password")
