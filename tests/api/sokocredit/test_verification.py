"""001 /auth/verify-email and /auth/verify-phone: no code -> 202 and a code is sent; right code -> verified."""

import pytest

from portal.models import Role
from tests.api.conftest import assert_invalid, code_from_notification, notifications_for

KINDS = {"email": "verify_email", "phone": "verify_phone"}


@pytest.fixture
def user(make_user):
    return make_user(Role.BORROWER, phone="+254712000555")


@pytest.fixture
def headers(user, api_headers):
    return api_headers(user)


def _send_code(client, headers, what):
    return client.post(f"/auth/verify-{what}", json={}, headers=headers)


@pytest.mark.parametrize("what", ["email", "phone"])
def test_without_code_answers_202_and_sends_a_six_digit_code(client, user, headers, what):
    response = _send_code(client, headers, what)

    assert response.status_code == 202
    assert response.get_json()["verified"] is False
    code = code_from_notification(user, KINDS[what])
    assert code.isdigit() and len(code) == 6
    assert code not in response.get_data(as_text=True)


@pytest.mark.parametrize("what", ["email", "phone"])
def test_right_code_verifies_the_contact(client, user, headers, what):
    _send_code(client, headers, what)

    response = client.post(f"/auth/verify-{what}", json={"code": code_from_notification(user, KINDS[what])},
                           headers=headers)

    assert response.status_code == 200
    assert response.get_json()["verified"] is True
    assert client.get("/auth/me", headers=headers).get_json()["user"][f"is_{what}_verified"] is True


@pytest.mark.parametrize("what", ["email", "phone"])
def test_wrong_code_is_400_and_leaves_the_contact_unverified(client, user, headers, what):
    _send_code(client, headers, what)
    wrong = "000000" if code_from_notification(user, KINDS[what]) != "000000" else "111111"

    response = client.post(f"/auth/verify-{what}", json={"code": wrong}, headers=headers)

    assert_invalid(response, "001", "code")
    assert client.get("/auth/me", headers=headers).get_json()["user"][f"is_{what}_verified"] is False


def test_code_works_once(client, user, headers):
    _send_code(client, headers, "email")
    code = code_from_notification(user, "verify_email")
    client.post("/auth/verify-email", json={"code": code}, headers=headers)

    assert_invalid(client.post("/auth/verify-email", json={"code": code}, headers=headers), "001", "code")


def test_five_wrong_codes_burn_the_code(client, user, headers):
    _send_code(client, headers, "email")
    code = code_from_notification(user, "verify_email")
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        client.post("/auth/verify-email", json={"code": wrong}, headers=headers)

    assert_invalid(client.post("/auth/verify-email", json={"code": code}, headers=headers), "001", "code")


def test_a_new_code_replaces_the_previous_one(client, user, headers):
    _send_code(client, headers, "email")
    old = code_from_notification(user, "verify_email")
    _send_code(client, headers, "email")
    new = code_from_notification(user, "verify_email")

    if old != new:
        assert_invalid(client.post("/auth/verify-email", json={"code": old}, headers=headers), "001", "code")
    assert client.post("/auth/verify-email", json={"code": new}, headers=headers).status_code == 200


def test_an_email_code_does_not_verify_the_phone(client, user, headers):
    _send_code(client, headers, "email")
    _send_code(client, headers, "phone")
    email_code, phone_code = (code_from_notification(user, kind) for kind in ("verify_email", "verify_phone"))

    if email_code != phone_code:
        assert_invalid(client.post("/auth/verify-phone", json={"code": email_code}, headers=headers), "001", "code")


def test_code_before_any_was_sent_is_400(client, headers):
    assert_invalid(client.post("/auth/verify-email", json={"code": "123456"}, headers=headers), "001", "code")


def test_verify_phone_without_a_phone_on_the_account_is_400(client, make_user, api_headers):
    no_phone = make_user(Role.BORROWER)

    response = client.post("/auth/verify-phone", json={}, headers=api_headers(no_phone))

    assert_invalid(response, "001", "phone")
    assert notifications_for(no_phone) == []
