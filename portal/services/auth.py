"""API sign-in sessions and one-time codes (password reset, e-mail and phone verification)."""

import hashlib
import secrets
import uuid
from datetime import datetime

from flask import current_app
from sqlalchemy import bindparam, select, update

from portal.models import AuthSession, CodePurpose, OneTimeCode, User
from portal.models.base import db, utcnow
from portal.services import audit, notifier, users
from portal.services.errors import ValidationFailed

MAX_CODE_ATTEMPTS = 5


def start_session(user: User, user_agent: str = "") -> AuthSession:
    session = AuthSession(id=uuid.uuid4().hex, user_id=user.id, refresh_jti=str(uuid.uuid4()),
                          expires_at=utcnow() + current_app.config["JWT_REFRESH_TOKEN_EXPIRES"],
                          user_agent=user_agent[:200])
    db.session.add(session)
    db.session.flush()
    return session


# A session is live while it is neither revoked nor expired and its user is active.
_LIVE = (AuthSession.revoked_at.is_(None), AuthSession.expires_at > bindparam("now"), User.is_active.is_(True))
# Built once: every API request asks it.
_ACTIVE_SESSION = select(AuthSession, User).join(User, User.id == AuthSession.user_id).where(
    AuthSession.id == bindparam("session_id"), AuthSession.user_id == bindparam("user_id"),
    User.token_version == bindparam("token_version"), *_LIVE)
_ACTIVE_SESSIONS = select(AuthSession.id, AuthSession.user_id, User.token_version).join(
    User, User.id == AuthSession.user_id).where(AuthSession.id.in_(bindparam("session_ids", expanding=True)), *_LIVE)


def active_session(session_id: str, user_id: int, token_version: int) -> tuple[AuthSession, User] | None:
    """The session and user behind a token's claims, or None when either has been revoked."""
    row = db.session.execute(_ACTIVE_SESSION, {"session_id": session_id, "user_id": user_id, "now": utcnow(),
                                               "token_version": token_version}).first()
    return (row[0], row[1]) if row else None


def active_sessions(claims: list[tuple[str, int, int]]) -> set[tuple[str, int, int]]:
    """Of tokens' (session id, user id, token version), those `active_session` would still accept: one
    query however many."""
    if not claims:
        return set()
    live = db.session.execute(_ACTIVE_SESSIONS, {"session_ids": sorted({c[0] for c in claims}), "now": utcnow()})
    return set(claims) & {tuple(row) for row in live}


def holds_portal_session(user: User | None, token_version: int) -> bool:
    """Whether a portal sign-in made at `token_version` still holds for `user`: an active staff member
    whose version has not moved since (logout-all and a password change move it)."""
    return user is not None and user.is_active and user.is_staff and user.token_version == token_version


def signed_in_staff(sessions: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """Of portal sign-ins' (user id, token version), those that still hold: one query however many."""
    if not sessions:
        return set()
    users = {user.id: user for user in db.session.scalars(
        select(User).where(User.id.in_({user_id for user_id, _ in sessions})))}
    return {(user_id, version) for user_id, version in sessions
            if holds_portal_session(users.get(user_id), version)}


def rotate_refresh(session: AuthSession, presented_jti: str) -> str | None:
    """Swap the session's refresh jti for a new one and return it.

    A refresh token presented after it was rotated means it leaked: the whole session
    ends and None is returned, so the caller commits the revocation before refusing.
    """
    if presented_jti != session.refresh_jti:
        session.revoked_at = utcnow()
        db.session.flush()
        return None
    session.refresh_jti = str(uuid.uuid4())
    db.session.flush()
    return session.refresh_jti


def end_session(session: AuthSession) -> None:
    session.revoked_at = utcnow()
    db.session.flush()


def end_all_sessions(user: User) -> None:
    """Revoke every token and portal session the user holds."""
    user.token_version += 1
    db.session.execute(update(AuthSession).where(AuthSession.user_id == user.id,
                                                 AuthSession.revoked_at.is_(None))
                       .values(revoked_at=utcnow()))
    db.session.flush()
    audit.record(user, "user.logout_all", "user", user.id)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_code(user: User, purpose: CodePurpose) -> str:
    """Create a code, send it through the notifier, and return it (for the notifier's callers only)."""
    # A reset token travels in a link and must resist guessing; a verification code is typed by hand.
    raw = secrets.token_urlsafe(24) if purpose == CodePurpose.RESET_PASSWORD else f"{secrets.randbelow(10**6):06d}"
    db.session.execute(update(OneTimeCode).where(OneTimeCode.user_id == user.id, OneTimeCode.purpose == purpose,
                                                 OneTimeCode.used_at.is_(None)).values(used_at=utcnow()))
    db.session.add(OneTimeCode(user_id=user.id, purpose=purpose, code_hash=_digest(raw),
                               expires_at=utcnow() + current_app.config["ONE_TIME_CODE_TTL"]))
    minutes = int(current_app.config["ONE_TIME_CODE_TTL"].total_seconds() // 60)
    notifier.notify(user, purpose.value, _TITLES[purpose], f"Your code is {raw}. It expires in {minutes} minutes.")
    return raw


_TITLES = {
    CodePurpose.RESET_PASSWORD: "Password reset requested",
    CodePurpose.VERIFY_EMAIL: "Verify your e-mail address",
    CodePurpose.VERIFY_PHONE: "Verify your phone number",
}


def request_password_reset(identifier: str) -> None:
    """Send a reset token if the account exists; say nothing either way to the caller."""
    user = users.find_by_identifier(identifier)
    if user is not None and user.is_active:
        issue_code(user, CodePurpose.RESET_PASSWORD)


def _live_code(code: OneTimeCode | None, now: datetime) -> bool:
    return code is not None and code.used_at is None and code.expires_at > now \
        and code.attempts < MAX_CODE_ATTEMPTS


def reset_password(token: str, new_password: str) -> User:
    now = utcnow()
    code = db.session.scalars(select(OneTimeCode).where(
        OneTimeCode.code_hash == _digest(token or ""),
        OneTimeCode.purpose == CodePurpose.RESET_PASSWORD)).first()
    if not _live_code(code, now):
        raise ValidationFailed({"token": ["This reset token is invalid or has expired."]})
    user = db.session.get(User, code.user_id)
    users.set_password(user, new_password, actor=user)
    code.used_at = now
    end_all_sessions(user)
    return user


def verify_contact(user: User, purpose: CodePurpose, raw: str) -> bool:
    """Mark the user's e-mail or phone verified if `raw` is their current code.

    A wrong code counts an attempt and returns False, so the caller commits the count.
    """
    now = utcnow()
    code = db.session.scalars(select(OneTimeCode).where(
        OneTimeCode.user_id == user.id, OneTimeCode.purpose == purpose, OneTimeCode.used_at.is_(None))
        .order_by(OneTimeCode.id.desc())).first()
    if not _live_code(code, now):
        raise ValidationFailed({"code": ["No valid code: request a new one."]})
    if code.code_hash != _digest(raw or ""):
        code.attempts += 1
        db.session.flush()
        return False
    code.used_at = now
    if purpose == CodePurpose.VERIFY_EMAIL:
        user.email_verified = True
    else:
        user.phone_verified = True
    db.session.flush()
    audit.record(user, f"user.{purpose.value}", "user", user.id)
    return True
