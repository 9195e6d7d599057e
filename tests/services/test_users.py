"""users service: who may create whom, validation, authentication, passwords, profiles, listing."""

import pytest
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from portal.models import STAFF_ROLES, Role, User
from portal.models.base import db
from portal.services import users
from portal.services.errors import AuthFailed, Forbidden, ValidationFailed
from tests.factories import PASSWORD

GOOD_PASSWORD = "Kilimo-2026"


def _new(role: Role = Role.BORROWER, **kw) -> users.NewUser:
    kw.setdefault("username", "wanjiku")
    kw.setdefault("password", GOOD_PASSWORD)
    return users.NewUser(role=role, **kw)


def _user_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


# --- who may create which role --------------------------------------------------------------------------


@pytest.mark.parametrize("role", sorted(STAFF_ROLES))
def test_anonymous_may_not_create_staff(role):
    before = _user_count()
    with pytest.raises(Forbidden):
        users.create(_new(role), actor=None)
    assert _user_count() == before


def test_anonymous_may_register_a_borrower():
    user = users.create(_new(Role.BORROWER, email="Wanjiku@Example.co.ke", phone="0712 345 678",
                             first_name=" Wanjiku ", last_name="Kamau"), actor=None)
    assert (user.role, user.username, user.email, user.phone, user.first_name) == \
        (Role.BORROWER, "wanjiku", "wanjiku@example.co.ke", "+254712345678", "Wanjiku")
    assert user.manager_id is None
    assert check_password_hash(user.password_hash, GOOD_PASSWORD)
    assert GOOD_PASSWORD not in user.password_hash


@pytest.mark.parametrize("role", [Role.LOAN_OFFICER, Role.COLLECTION_OFFICER, Role.CALLING_AGENT])
def test_manager_creates_juniors_into_their_own_team(make_user, role):
    manager = make_user(Role.MANAGER)
    other_manager = make_user(Role.MANAGER)
    user = users.create(_new(role, manager_id=other_manager.id), actor=manager)
    assert user.role == role
    assert user.manager_id == manager.id


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MANAGER])
def test_manager_may_not_create_admins_or_managers(make_user, role):
    manager = make_user(Role.MANAGER)
    with pytest.raises(Forbidden):
        users.create(_new(role), actor=manager)


@pytest.mark.parametrize("role", sorted(Role))
def test_admin_may_create_any_role(make_user, role):
    admin = make_user(Role.ADMIN)
    user = users.create(_new(role), actor=admin)
    assert user.role == role


def test_admin_may_place_a_new_user_under_a_manager(make_user):
    admin = make_user(Role.ADMIN)
    manager = make_user(Role.MANAGER)
    user = users.create(_new(Role.COLLECTION_OFFICER, manager_id=manager.id), actor=admin)
    assert user.manager_id == manager.id


def test_new_user_cannot_report_to_a_non_manager(make_user):
    admin = make_user(Role.ADMIN)
    officer = make_user(Role.LOAN_OFFICER)
    with pytest.raises(ValidationFailed) as exc:
        users.create(_new(Role.COLLECTION_OFFICER, manager_id=officer.id), actor=admin)
    assert "manager" in exc.value.errors


@pytest.mark.parametrize("actor_role", [Role.LOAN_OFFICER, Role.COLLECTION_OFFICER, Role.CALLING_AGENT,
                                        Role.BORROWER])
def test_other_roles_may_not_create_staff(make_user, actor_role):
    with pytest.raises(Forbidden):
        users.create(_new(Role.CALLING_AGENT), actor=make_user(actor_role))


def test_inactive_admin_may_not_create_staff(make_user):
    with pytest.raises(Forbidden):
        users.create(_new(Role.LOAN_OFFICER), actor=make_user(Role.ADMIN, is_active=False))


@pytest.mark.parametrize("role", sorted(Role))
def test_by_system_bypasses_the_role_rules(role):
    user = users.create(_new(role), actor=None, by_system=True)
    assert user.role == role


def test_create_is_audited(make_user, audit_rows):
    admin = make_user(Role.ADMIN)
    user = users.create(_new(Role.LOAN_OFFICER), actor=admin)
    rows = audit_rows("user.create", user.id)
    assert len(rows) == 1
    assert rows[0].actor_id == admin.id
    assert rows[0].after["username"] == "wanjiku"
    assert "password_hash" not in rows[0].after


# --- validation -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["ab", "has space", "semi;colon", "x" * 81, "", "   "])
def test_bad_usernames_are_refused(username):
    with pytest.raises(ValidationFailed) as exc:
        users.create(_new(username=username), actor=None)
    assert list(exc.value.errors) == ["username"]


@pytest.mark.parametrize("username", ["abc", "jane.doe", "jane_doe-2", "jane@example.co.ke", "a+b"])
def test_good_usernames_are_accepted(username):
    assert users.create(_new(username=username), actor=None).username == username


@pytest.mark.parametrize("password", ["Ab1!xyz", "12345678", "abcdefgh", "ABCDEFGHIJ", "", None])
def test_weak_passwords_are_refused(password):
    with pytest.raises(ValidationFailed) as exc:
        users.create(_new(password=password), actor=None)
    assert list(exc.value.errors) == ["password"]


@pytest.mark.parametrize("password", ["abcdefg1", "12345678!", "correct horse"])
def test_passwords_of_8_mixed_characters_are_accepted(password):
    user = users.create(_new(password=password), actor=None)
    assert check_password_hash(user.password_hash, password)


def test_every_bad_field_is_reported_at_once():
    with pytest.raises(ValidationFailed) as exc:
        users.create(_new(username="x", password="short", email="not-an-email", phone="12"), actor=None)
    assert set(exc.value.errors) == {"username", "password", "email", "phone"}


@pytest.mark.parametrize(("field", "first", "second"), [
    ("username", "Wanjiku", "wanjiku"),
    ("email", "Wanjiku@Example.co.ke", "wanjiku@EXAMPLE.co.ke"),
    ("phone", "+254712345678", "0712 345 678"),
])
def test_duplicates_are_refused_case_insensitively(make_user, field, first, second):
    make_user(Role.BORROWER, **{"username": "original", "email": "original@example.co.ke", field: first})
    values = {"username": "newcomer", "email": "newcomer@example.co.ke", field: second}
    with pytest.raises(ValidationFailed) as exc:
        users.create(_new(**values), actor=None)
    assert list(exc.value.errors) == [field]


# --- authentication -------------------------------------------------------------------------------------


@pytest.fixture
def wanjiku(make_user):
    return make_user(Role.LOAN_OFFICER, username="Wanjiku", email="wanjiku@example.co.ke", phone="+254712345678")


@pytest.mark.parametrize("identifier", ["Wanjiku", "wanjiku", " WANJIKU ", "wanjiku@example.co.ke",
                                        "Wanjiku@Example.co.ke", "+254712345678", "0712345678", "0712 345 678",
                                        "254712345678"])
def test_authenticate_by_username_email_or_phone(wanjiku, identifier):
    assert users.authenticate(identifier, PASSWORD) is wanjiku


def test_wrong_password_and_unknown_user_fail_with_the_same_message(wanjiku):
    with pytest.raises(AuthFailed) as wrong:
        users.authenticate("wanjiku", PASSWORD + "x")
    with pytest.raises(AuthFailed) as unknown:
        users.authenticate("nobody-here", PASSWORD)
    assert wrong.value.message == unknown.value.message == str(wrong.value) == str(unknown.value)


@pytest.mark.parametrize("identifier", ["", "   ", None])
def test_empty_identifier_fails(wanjiku, identifier):
    with pytest.raises(AuthFailed):
        users.authenticate(identifier, PASSWORD)


def test_inactive_user_is_refused_even_with_the_right_password(make_user):
    make_user(Role.LOAN_OFFICER, username="retired", is_active=False)
    with pytest.raises(AuthFailed):
        users.authenticate("retired", PASSWORD)


# --- passwords ------------------------------------------------------------------------------------------


def test_change_password_requires_the_current_password(wanjiku):
    version = wanjiku.token_version
    with pytest.raises(ValidationFailed) as exc:
        users.change_password(wanjiku, "not-it-1", GOOD_PASSWORD)
    assert list(exc.value.errors) == ["current_password"]
    assert wanjiku.token_version == version
    assert users.authenticate("wanjiku", PASSWORD) is wanjiku


def test_change_password_sets_it_and_bumps_token_version(wanjiku, audit_rows):
    version = wanjiku.token_version
    users.change_password(wanjiku, PASSWORD, GOOD_PASSWORD)
    assert wanjiku.token_version == version + 1
    assert users.authenticate("wanjiku", GOOD_PASSWORD) is wanjiku
    with pytest.raises(AuthFailed):
        users.authenticate("wanjiku", PASSWORD)
    assert len(audit_rows("user.password_change", wanjiku.id)) == 1


def test_change_password_refuses_a_weak_new_password(wanjiku):
    version = wanjiku.token_version
    with pytest.raises(ValidationFailed) as exc:
        users.change_password(wanjiku, PASSWORD, "12345678")
    assert list(exc.value.errors) == ["new_password"]
    assert wanjiku.token_version == version
    assert users.authenticate("wanjiku", PASSWORD) is wanjiku


# --- profiles -------------------------------------------------------------------------------------------


def test_changing_email_clears_email_verified(make_user):
    user = make_user(Role.LOAN_OFFICER, email="old@example.co.ke", email_verified=True, phone="+254712345678",
                     phone_verified=True)
    users.update_profile(user, {"email": "New@Example.co.ke"}, actor=user)
    assert (user.email, user.email_verified, user.phone_verified) == ("new@example.co.ke", False, True)


def test_resubmitting_the_same_email_keeps_it_verified(make_user):
    user = make_user(Role.LOAN_OFFICER, email="same@example.co.ke", email_verified=True)
    users.update_profile(user, {"email": "SAME@example.co.ke", "first_name": "Grace"}, actor=user)
    assert (user.email, user.email_verified, user.first_name) == ("same@example.co.ke", True, "Grace")


def test_changing_phone_clears_phone_verified(make_user):
    user = make_user(Role.LOAN_OFFICER, phone="+254712345678", phone_verified=True, email_verified=True)
    users.update_profile(user, {"phone": "0722 000 111"}, actor=user)
    assert (user.phone, user.phone_verified, user.email_verified) == ("+254722000111", False, True)


@pytest.mark.parametrize("blank", ["", None])
def test_clearing_the_phone_stores_no_phone(make_user, blank):
    user = make_user(Role.LOAN_OFFICER, phone="+254712345678", phone_verified=True)
    users.update_profile(user, {"phone": blank}, actor=user)
    assert (user.phone, user.phone_verified) == (None, False)


def test_two_users_can_both_clear_their_phones(make_user):
    first = make_user(Role.LOAN_OFFICER, phone="+254712345678")
    second = make_user(Role.LOAN_OFFICER, phone="+254722000111")
    users.update_profile(first, {"phone": ""}, actor=first)
    users.update_profile(second, {"phone": ""}, actor=second)  # phone is UNIQUE: "" twice would clash
    assert (first.phone, second.phone) == (None, None)


def test_clearing_the_email_stores_no_email(make_user):
    user = make_user(Role.LOAN_OFFICER, email="old@example.co.ke", email_verified=True)
    users.update_profile(user, {"email": " "}, actor=user)
    assert (user.email, user.email_verified) == (None, False)


def test_profile_email_taken_by_someone_else_is_refused(make_user):
    make_user(Role.LOAN_OFFICER, email="taken@example.co.ke")
    user = make_user(Role.LOAN_OFFICER, email="mine@example.co.ke", email_verified=True)
    with pytest.raises(ValidationFailed) as exc:
        users.update_profile(user, {"email": "Taken@example.co.ke"}, actor=user)
    assert list(exc.value.errors) == ["email"]
    assert (user.email, user.email_verified) == ("mine@example.co.ke", True)


def test_only_the_user_or_an_admin_may_change_a_profile(make_user):
    user = make_user(Role.LOAN_OFFICER, first_name="Old")
    manager = make_user(Role.MANAGER)
    with pytest.raises(Forbidden):
        users.update_profile(user, {"first_name": "New"}, actor=manager)
    users.update_profile(user, {"first_name": "Admin"}, actor=make_user(Role.ADMIN))
    assert user.first_name == "Admin"


# --- listing --------------------------------------------------------------------------------------------


def test_admin_lists_every_user(make_user):
    admin = make_user(Role.ADMIN)
    for role in Role:
        make_user(role)
    assert [u.id for u in users.list_visible(admin)] == sorted(db.session.scalars(select(User.id)))


def test_manager_lists_themselves_and_their_team(make_user):
    manager = make_user(Role.MANAGER)
    team = [make_user(Role.LOAN_OFFICER, manager_id=manager.id),
            make_user(Role.COLLECTION_OFFICER, manager_id=manager.id)]
    other = make_user(Role.MANAGER)
    make_user(Role.COLLECTION_OFFICER, manager_id=other.id)
    make_user(Role.ADMIN)
    assert [u.id for u in users.list_visible(manager)] == sorted([manager.id, *(u.id for u in team)])


@pytest.mark.parametrize("role", [Role.LOAN_OFFICER, Role.COLLECTION_OFFICER, Role.CALLING_AGENT, Role.BORROWER])
def test_other_roles_may_not_list_users(make_user, role):
    with pytest.raises(Forbidden):
        users.list_visible(make_user(role))
