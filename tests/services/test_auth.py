"""auth service: API sessions, refresh rotation, one-time codes, password reset and contact verification."""

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from portal.models import CodePurpose, Notification, OneTimeCode, Role
from portal.models.base import db, utcnow
from portal.services import auth, users
from portal.services.errors import AuthFailed, ValidationFailed
from tests.factories import PASSWORD

NEW_PASSWORD = "Kilimo-2026"


@pytest.fixture
def user(make_user):
    return make_user(Role.LOAN_OFFICER, username="wanjiku", email="wanjiku@example.co.ke", phone="+254712345678")


def _active(session, user):
    return auth.active_session(session.id, user.id, user.token_version)


def _codes(user, purpose=None) -> list[OneTimeCode]:
    stmt = select(OneTimeCode).where(OneTimeCode.user_id == user.id).order_by(OneTimeCode.id)
    if purpose is not None:
        stmt = stmt.where(OneTimeCode.purpose == purpose)
    return list(db.session.scalars(stmt))


def _other(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


# --- sessions -------------------------------------------------------------------------------------------


def test_started_session_is_active(user):
    session = auth.start_session(user, "pytest/1.0")
    assert _active(session, user) == (session, user)
    assert session.user_agent == "pytest/1.0"
    assert session.expires_at > utcnow() + timedelta(days=6)


def test_long_user_agent_is_truncated(user):
    assert len(auth.start_session(user, "x" * 500).user_agent) == 200


def test_sessions_have_distinct_ids_and_jtis(user):
    a, b = auth.start_session(user), auth.start_session(user)
    assert a.id != b.id and a.refresh_jti != b.refresh_jti


def test_active_session_is_none_after_end_session(user):
    session = auth.start_session(user)
    other = auth.start_session(user)
    auth.end_session(session)
    assert _active(session, user) is None
    assert _active(other, user) is not None


def test_active_session_is_none_after_end_all_sessions(user, make_user, audit_rows):
    first, second = auth.start_session(user), auth.start_session(user)
    bystander = make_user(Role.LOAN_OFFICER)
    theirs = auth.start_session(bystander)
    old_version = user.token_version
    auth.end_all_sessions(user)
    assert user.token_version == old_version + 1
    for session in (first, second):
        assert auth.active_session(session.id, user.id, old_version) is None
        assert auth.active_session(session.id, user.id, user.token_version) is None  # revoked, not only stale
    assert _active(theirs, bystander) is not None
    assert len(audit_rows("user.logout_all", user.id)) == 1


def test_session_started_after_end_all_sessions_works(user):
    auth.start_session(user)
    auth.end_all_sessions(user)
    fresh = auth.start_session(user)
    assert _active(fresh, user) is not None


def test_active_session_is_none_for_a_stale_token_version(user):
    session = auth.start_session(user)
    assert auth.active_session(session.id, user.id, user.token_version - 1) is None


def test_active_session_is_none_for_an_inactive_user(user):
    session = auth.start_session(user)
    user.is_active = False
    db.session.flush()
    assert _active(session, user) is None


def test_active_session_is_none_for_an_expired_session(user):
    session = auth.start_session(user)
    session.expires_at = utcnow() - timedelta(seconds=1)
    db.session.flush()
    assert _active(session, user) is None


def test_active_session_is_none_for_someone_elses_user_id(user, make_user):
    session = auth.start_session(user)
    intruder = make_user(Role.LOAN_OFFICER)
    assert auth.active_session(session.id, intruder.id, intruder.token_version) is None


def test_rotate_refresh_returns_a_new_jti(user):
    session = auth.start_session(user)
    old = session.refresh_jti
    new = auth.rotate_refresh(session, old)
    assert new and new != old
    assert session.refresh_jti == new
    assert _active(session, user) is not None
    assert auth.rotate_refresh(session, new) not in (None, old, new)


def test_replaying_a_rotated_refresh_jti_revokes_the_session(user):
    session = auth.start_session(user)
    old = session.refresh_jti
    auth.rotate_refresh(session, old)
    assert auth.rotate_refresh(session, old) is None
    assert session.revoked_at is not None
    assert _active(session, user) is None


# --- one-time codes -------------------------------------------------------------------------------------


@pytest.mark.parametrize("purpose", list(CodePurpose))
def test_issue_code_stores_only_a_hash(user, purpose):
    raw = auth.issue_code(user, purpose)
    db.session.flush()
    rows = db.session.execute(text("SELECT * FROM one_time_codes WHERE user_id = :u"), {"u": user.id}).all()
    assert len(rows) == 1
    assert all(raw not in str(value) for value in rows[0])
    assert _codes(user)[0].code_hash == hashlib.sha256(raw.encode()).hexdigest()


@pytest.mark.parametrize("purpose", list(CodePurpose))
def test_issue_code_sends_a_notification_with_the_code(user, purpose):
    raw = auth.issue_code(user, purpose)
    notes = list(db.session.scalars(select(Notification).where(Notification.user_id == user.id)))
    assert len(notes) == 1
    assert raw in notes[0].message
    assert notes[0].kind == purpose.value


def test_verification_codes_are_six_digits_and_reset_tokens_are_long(user):
    code = auth.issue_code(user, CodePurpose.VERIFY_PHONE)
    token = auth.issue_code(user, CodePurpose.RESET_PASSWORD)
    assert len(code) == 6 and code.isdigit()
    assert len(token) >= 32


def test_issuing_a_new_code_retires_the_previous_one(user):
    first = auth.issue_code(user, CodePurpose.RESET_PASSWORD)
    second = auth.issue_code(user, CodePurpose.RESET_PASSWORD)
    with pytest.raises(ValidationFailed):
        auth.reset_password(first, NEW_PASSWORD)
    assert auth.reset_password(second, NEW_PASSWORD) is user


# --- password reset -------------------------------------------------------------------------------------


def test_reset_password_with_the_raw_token_sets_the_password(user):
    token = auth.issue_code(user, CodePurpose.RESET_PASSWORD)
    assert auth.reset_password(token, NEW_PASSWORD) is user
    assert users.authenticate("wanjiku", NEW_PASSWORD) is user
    with pytest.raises(AuthFailed):
        users.authenticate("wanjiku", PASSWORD)


def test_reset_password_marks_the_code_used_and_it_cannot_be_reused(user):
    token = auth.issue_code(user, CodePurpose.RESET_PASSWORD)
    auth.reset_password(token, NEW_PASSWORD)
    assert _codes(user)[0].used_at is not None
    with pytest.raises(ValidationFailed) as exc:
        auth.reset_password(token, "Another-2027")
    assert list(exc.value.errors) == ["token"]
    assert users.authenticate("wanjiku", NEW_PASSWORD) is user


def test_reset_password_ends_every_session(user):
    sessions = [auth.start_session(user), auth.start_session(user)]
    old_version = user.token_version
    auth.reset_password(auth.issue_code(user, CodePurpose.RESET_PASSWORD), NEW_PASSWORD)
    assert user.token_version > old_version
    for session in sessions:
        db.session.refresh(session)  # revoked by a bulk UPDATE: read the row back
        assert session.revoked_at is not None
        assert auth.active_session(session.id, user.id, old_version) is None
        assert _active(session, user) is None


def test_reset_password_with_an_expired_token_fails(user):
    token = auth.issue_code(user, CodePurpose.RESET_PASSWORD)
    _codes(user)[0].expires_at = utcnow() - timedelta(seconds=1)
    db.session.flush()
    with pytest.raises(ValidationFailed):
        auth.reset_password(token, NEW_PASSWORD)
    assert users.authenticate("wanjiku", PASSWORD) is user


@pytest.mark.parametrize("token", ["", None, "made-up-token"])
def test_reset_password_with_an_unknown_token_fails(user, token):
    auth.issue_code(user, CodePurpose.RESET_PASSWORD)
    with pytest.raises(ValidationFailed):
        auth.reset_password(token, NEW_PASSWORD)


def test_a_verification_code_is_not_a_reset_token(user):
    code = auth.issue_code(user, CodePurpose.VERIFY_EMAIL)
    with pytest.raises(ValidationFailed):
        auth.reset_password(code, NEW_PASSWORD)


def test_reset_password_refuses_a_weak_password_and_leaves_the_token_usable(user):
    token = auth.issue_code(user, CodePurpose.RESET_PASSWORD)
    with pytest.raises(ValidationFailed) as exc:
        auth.reset_password(token, "12345678")
    assert "new_password" in exc.value.errors
    assert _codes(user)[0].used_at is None
    assert auth.reset_password(token, NEW_PASSWORD) is user


def test_request_password_reset_issues_a_code_for_a_known_identifier(user):
    auth.request_password_reset("0712 345 678")
    assert len(_codes(user, CodePurpose.RESET_PASSWORD)) == 1


@pytest.mark.parametrize("identifier", ["nobody", "nobody@example.co.ke", "0799 999 999", ""])
def test_request_password_reset_for_an_unknown_identifier_does_nothing(user, identifier):
    before = db.session.scalar(select(db.func.count()).select_from(OneTimeCode))
    notes_before = db.session.scalar(select(db.func.count()).select_from(Notification))
    assert auth.request_password_reset(identifier) is None
    assert db.session.scalar(select(db.func.count()).select_from(OneTimeCode)) == before
    assert db.session.scalar(select(db.func.count()).select_from(Notification)) == notes_before


def test_request_password_reset_for_an_inactive_user_does_nothing(make_user):
    retired = make_user(Role.LOAN_OFFICER, username="retired", is_active=False)
    auth.request_password_reset("retired")
    assert _codes(retired) == []


# --- contact verification -------------------------------------------------------------------------------


@pytest.mark.parametrize(("purpose", "flag"), [(CodePurpose.VERIFY_EMAIL, "email_verified"),
                                               (CodePurpose.VERIFY_PHONE, "phone_verified")])
def test_right_code_verifies_the_contact(user, purpose, flag):
    code = auth.issue_code(user, purpose)
    assert auth.verify_contact(user, purpose, code) is True
    assert getattr(user, flag) is True
    other = "phone_verified" if flag == "email_verified" else "email_verified"
    assert getattr(user, other) is False
    assert _codes(user, purpose)[0].used_at is not None


def test_wrong_code_returns_false_and_counts_an_attempt(user):
    code = auth.issue_code(user, CodePurpose.VERIFY_EMAIL)
    assert auth.verify_contact(user, CodePurpose.VERIFY_EMAIL, _other(code)) is False
    assert auth.verify_contact(user, CodePurpose.VERIFY_EMAIL, "") is False
    assert _codes(user)[0].attempts == 2
    assert user.email_verified is False
    assert auth.verify_contact(user, CodePurpose.VERIFY_EMAIL, code) is True


def test_after_five_wrong_attempts_even_the_right_code_fails(user):
    code = auth.issue_code(user, CodePurpose.VERIFY_PHONE)
    for _ in range(auth.MAX_CODE_ATTEMPTS):
        assert auth.verify_contact(user, CodePurpose.VERIFY_PHONE, _other(code)) is False
    with pytest.raises(ValidationFailed):
        auth.verify_contact(user, CodePurpose.VERIFY_PHONE, code)
    assert user.phone_verified is False


def test_four_wrong_attempts_still_allow_the_right_code(user):
    code = auth.issue_code(user, CodePurpose.VERIFY_PHONE)
    for _ in range(auth.MAX_CODE_ATTEMPTS - 1):
        auth.verify_contact(user, CodePurpose.VERIFY_PHONE, _other(code))
    assert auth.verify_contact(user, CodePurpose.VERIFY_PHONE, code) is True


def test_a_used_verification_code_cannot_be_used_again(user):
    code = auth.issue_code(user, CodePurpose.VERIFY_EMAIL)
    auth.verify_contact(user, CodePurpose.VERIFY_EMAIL, code)
    with pytest.raises(ValidationFailed):
        auth.verify_contact(user, CodePurpose.VERIFY_EMAIL, code)


def test_an_expired_verification_code_fails(user):
    code = auth.issue_code(user, CodePurpose.VERIFY_EMAIL)
    _codes(user)[0].expires_at = utcnow() - timedelta(seconds=1)
    db.session.flush()
    with pytest.raises(ValidationFailed):
        auth.verify_contact(user, CodePurpose.VERIFY_EMAIL, code)
    assert user.email_verified is False


def test_an_email_code_does_not_verify_the_phone(user):
    code = auth.issue_code(user, CodePurpose.VERIFY_EMAIL)
    auth.issue_code(user, CodePurpose.VERIFY_PHONE)
    assert auth.verify_contact(user, CodePurpose.VERIFY_PHONE, code) is False
    assert user.phone_verified is False


def test_another_users_code_does_not_verify(user, make_user):
    other = make_user(Role.LOAN_OFFICER)
    auth.issue_code(user, CodePurpose.VERIFY_EMAIL)
    their_code = auth.issue_code(other, CodePurpose.VERIFY_EMAIL)
    assert auth.verify_contact(user, CodePurpose.VERIFY_EMAIL, their_code) is False
    assert user.email_verified is False
