"""002 POST /api/token/: email + password -> {access, refresh}."""

from portal.models import Role
from tests.api.conftest import PASSWORD, assert_error, assert_invalid, bearer, claims_of


def test_token_returns_an_access_and_refresh_pair(app, client, make_user):
    member = make_user(Role.BORROWER)

    response = client.post("/api/token/", json={"email": member.email, "password": PASSWORD})

    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"access", "refresh"}
    assert claims_of(app, body["access"])["sub"] == f"user_{member.id}:member"
    assert claims_of(app, body["refresh"])["type"] == "refresh"
    assert client.get("/auth/me", headers=bearer(body["access"])).status_code == 200


def test_email_is_matched_without_regard_to_case(client, make_user):
    member = make_user(Role.BORROWER)

    response = client.post("/api/token/", json={"email": member.email.upper(), "password": PASSWORD})

    assert response.status_code == 200


def test_wrong_password_is_401_with_detail(client, make_user):
    member = make_user(Role.BORROWER)

    assert_error(client.post("/api/token/", json={"email": member.email, "password": "Wrong-pass-1"}), "002", 401)


def test_unknown_email_gets_the_same_answer_as_a_wrong_password(client, make_user):
    member = make_user(Role.BORROWER)

    wrong = client.post("/api/token/", json={"email": member.email, "password": "Wrong-pass-1"})
    unknown = client.post("/api/token/", json={"email": "nobody@example.com", "password": "Wrong-pass-1"})

    assert (unknown.status_code, unknown.get_json()) == (wrong.status_code, wrong.get_json())


def test_missing_password_is_400_with_detail_and_errors(client):
    body = assert_invalid(client.post("/api/token/", json={"email": "someone@example.com"}), "002", "password")

    assert set(body) == {"detail", "errors"}
