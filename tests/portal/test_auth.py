"""Portal sign-in: credentials, CSRF, rate limit, remember-me, password change, staff only."""

import pytest

from portal.models import Role
from tests.factories import PASSWORD


def sign_in(client, csrf_token, username, password=PASSWORD, **extra):
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_token(), **extra})


def test_login_page_renders_a_form_with_csrf(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert 'name="csrf_token"' in response.get_data(as_text=True)


def test_staff_can_sign_in_and_reach_the_dashboard(client, csrf_token, make_user):
    user = make_user(Role.LOAN_OFFICER)
    response = sign_in(client, csrf_token, user.username)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/portal/")
    assert "Customers" in client.get("/portal/").get_data(as_text=True)


def test_sign_in_by_email_works(client, csrf_token, make_user):
    user = make_user(Role.MANAGER)
    assert sign_in(client, csrf_token, user.email.upper()).status_code == 303


def test_wrong_password_shows_an_inline_error(client, csrf_token, make_user):
    user = make_user()
    response = sign_in(client, csrf_token, user.username, "wrong-password1")
    assert response.status_code == 401
    assert "Invalid username or password." in response.get_data(as_text=True)


def test_borrowers_cannot_sign_in_to_the_staff_portal(client, csrf_token, make_user):
    user = make_user(Role.BORROWER)
    response = sign_in(client, csrf_token, user.username)
    assert response.status_code == 401
    assert "This portal is for staff" in response.get_data(as_text=True)
    assert client.get("/portal/").status_code == 303


def test_login_without_csrf_token_is_refused(client, make_user):
    user = make_user()
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)


def test_repeated_failed_logins_are_rate_limited_with_a_clear_message(client, csrf_token, make_user):
    user = make_user()
    for _ in range(5):
        assert sign_in(client, csrf_token, user.username, "wrong-password1").status_code == 401
    response = sign_in(client, csrf_token, user.username)
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)


def test_open_redirect_after_login_is_ignored(client, csrf_token, make_user):
    user = make_user()
    response = client.post("/login?next=//evil.example/x", data={
        "username": user.username, "password": PASSWORD, "csrf_token": csrf_token()})
    assert response.headers["Location"].endswith("/portal/")


def test_remember_me_sets_a_long_lived_http_only_cookie(client, csrf_token, make_user):
    user = make_user()
    response = sign_in(client, csrf_token, user.username, remember="y")
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("remember_token="))
    assert "HttpOnly" in cookie and "Expires=" in cookie


def test_anonymous_page_request_redirects_to_login_and_htmx_gets_hx_redirect(client):
    assert client.get("/portal/customers/").headers["Location"].startswith("/login")
    response = client.get("/portal/customers/", headers={"HX-Request": "true"})
    assert response.headers["HX-Redirect"].startswith("/login")


def test_logout_requires_post_and_ends_the_session(client, csrf_token, login_as):
    login_as(Role.MANAGER)
    assert client.get("/logout").status_code == 405
    response = client.post("/logout", data={"csrf_token": csrf_token("/portal/")})
    assert response.status_code == 303
    assert client.get("/portal/").status_code == 303


def test_password_change_checks_the_current_password(client, csrf_token, login_as):
    login_as(Role.LOAN_OFFICER)
    token = csrf_token("/account/password")
    response = client.post("/account/password", data={"current_password": "nope-nope1",
                                                       "new_password": "NewPassw0rd!", "csrf_token": token})
    assert "Your current password is not correct." in response.get_data(as_text=True)


def test_password_change_keeps_this_browser_signed_in_and_ends_other_sessions(app, client, csrf_token, login_as):
    user = login_as(Role.LOAN_OFFICER)
    other = app.test_client()
    with other.session_transaction() as session:
        session["_user_id"] = user.get_id()
    assert other.get("/portal/").status_code == 200
    response = client.post("/account/password", data={"current_password": PASSWORD, "new_password": "NewPassw0rd!",
                                                       "csrf_token": csrf_token("/account/password")})
    assert response.status_code == 303
    assert client.get("/portal/").status_code == 200
    assert other.get("/portal/").status_code == 303


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MANAGER, Role.LOAN_OFFICER, Role.COLLECTION_OFFICER,
                                  Role.CALLING_AGENT])
def test_every_staff_role_sees_its_dashboard_with_real_counts(client, login_as, role):
    login_as(role)
    html = client.get("/portal/").get_data(as_text=True)
    assert 'data-testid="tile-customers"' in html
    assert ("API docs" in html) == (role == Role.ADMIN)
    assert ('data-testid="tile-unassigned"' in html) == (role in (Role.ADMIN, Role.MANAGER))
