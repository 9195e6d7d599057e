"""004 /v1/users/profile and /v1/users/change-password."""

from portal.models import Role
from tests.factories import PASSWORD


def test_profile_answers_in_camel_case_with_string_id(client, make_user, api_headers):
    user = make_user(Role.BORROWER, phone="+254711000222")
    response = client.get("/v1/users/profile", headers=api_headers(user, "user"))
    assert response.status_code == 200
    body = response.json["user"]
    assert body["_id"] == str(user.id) and body["primaryPhone"] == "+254711000222"
    assert body["firstName"] == user.first_name and "password" not in str(response.json).lower()


def test_profile_update_changes_names_and_unverifies_a_new_email(client, make_user, api_headers, db):
    user = make_user(Role.BORROWER, email_verified=True)
    response = client.put("/v1/users/profile", headers=api_headers(user, "user"),
                          json={"lastName": "Updated", "primaryEmail": "new.address@example.com"})
    assert response.status_code == 200
    assert response.json["user"]["lastName"] == "Updated"
    assert user.email == "new.address@example.com" and user.email_verified is False


def test_profile_update_with_a_bad_phone_is_a_422_in_vault5_shape(client, make_user, api_headers):
    user = make_user(Role.BORROWER)
    response = client.put("/v1/users/profile", headers=api_headers(user, "user"), json={"primaryPhone": "123"})
    assert response.status_code == 422
    assert response.json["success"] is False
    assert response.json["error"]["code"] == "VALIDATION_ERROR"
    assert list(response.json["error"]["details"]) == ["primaryPhone"]  # the document's name, not ours


def test_change_password_returns_fresh_tokens_and_kills_the_old_one(client, make_user, api_headers):
    user = make_user(Role.BORROWER)
    old = api_headers(user, "user")
    response = client.post("/v1/users/change-password", headers=old,
                           json={"currentPassword": PASSWORD, "newPassword": "BrandNew123!"})
    assert response.status_code == 200
    assert client.get("/v1/users/profile", headers=old).status_code == 401
    fresh = {"Authorization": f"Bearer {response.json['token']}"}
    assert client.get("/v1/users/profile", headers=fresh).status_code == 200


def test_change_password_with_wrong_current_password_is_refused(client, make_user, api_headers):
    user = make_user(Role.BORROWER)
    response = client.post("/v1/users/change-password", headers=api_headers(user, "user"),
                           json={"currentPassword": "not-it-123", "newPassword": "BrandNew123!"})
    assert response.status_code == 422
    assert response.json["error"]["details"]["currentPassword"]


def test_profile_without_token_is_401_in_vault5_shape(client):
    response = client.get("/v1/users/profile")
    assert response.status_code == 401
    assert response.json == {"success": False, "error": {"code": "UNAUTHORIZED",
                                                         "message": "Authentication credentials were not provided."}}
