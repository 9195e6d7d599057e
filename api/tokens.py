"""JWT access and refresh tokens over server-side sessions (portal.services.auth).

Identity is `user_<id>:<role>` (001's format); claims `sid` (session) and `tv` (token
version) let one query per request reject revoked sessions and logged-out-everywhere users.
"""

from flask import g, request
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt import PyJWTError

from api.errors import api_error_response
from portal.extensions import jwt
from portal.models import User
from portal.services import auth
from portal.services.errors import AuthFailed


def identity_for(user: User, role_name: str) -> str:
    return f"user_{user.id}:{role_name}"


def user_id_from_identity(identity: str) -> int | None:
    head = identity.split(":", 1)[0]
    return int(head[5:]) if head.startswith("user_") and head[5:].isdigit() else None


def issue_pair(user: User, role_name: str) -> tuple[str, str]:
    """Start a session and return (access, refresh) tokens for it."""
    session = auth.start_session(user, request.headers.get("User-Agent", ""))
    return _pair(user, role_name, session.id, session.refresh_jti)


def _pair(user: User, role_name: str, sid: str, refresh_jti: str) -> tuple[str, str]:
    identity = identity_for(user, role_name)
    claims = {"sid": sid, "tv": user.token_version}
    access = create_access_token(identity=identity, additional_claims=claims)
    refresh = create_refresh_token(identity=identity, additional_claims={**claims, "jti": refresh_jti})
    return access, refresh


def refresh(role_name: str, *, rotate: bool) -> tuple[str, str | None] | None:
    """A new access token (and a rotated refresh token when `rotate`) for the refresh token
    verify_refresh() accepted.

    None when that token was already rotated away: the session has just been revoked.
    """
    claims = g.token_claims
    user, session = g.api_user, g.api_session
    if not rotate:
        if claims["jti"] != session.refresh_jti:
            return None
        access = create_access_token(identity=identity_for(user, role_name),
                                     additional_claims={"sid": session.id, "tv": user.token_version})
        return access, None
    new_jti = auth.rotate_refresh(session, claims["jti"])
    if new_jti is None:
        return None
    return _pair(user, role_name, session.id, new_jti)


def init_jwt() -> None:
    @jwt.token_in_blocklist_loader
    def is_revoked(_header, payload) -> bool:
        user_id = user_id_from_identity(payload.get("sub", ""))
        found = user_id is not None and auth.active_session(payload.get("sid", ""), user_id, payload.get("tv", -1))
        if not found:
            return True
        g.api_session, g.api_user = found
        return False

    @jwt.user_lookup_loader
    def lookup(_header, _payload):
        return g.get("api_user")

    def refuse(message: str):
        return api_error_response(401, message) or ({"message": message}, 401)

    jwt.unauthorized_loader(lambda reason: refuse("Authentication credentials were not provided."))
    jwt.invalid_token_loader(lambda reason: refuse(f"Invalid token: {reason}."))
    jwt.expired_token_loader(lambda _h, _p: refuse("Token has expired."))
    jwt.revoked_token_loader(lambda _h, _p: refuse("Token has been revoked."))
    jwt.user_lookup_error_loader(lambda _h, _p: refuse("User not found."))


def verify_token(token: str, kind: str) -> None:
    """Check a token sent in a body (000's `token`, 001's refresh token) as verify_jwt_in_request
    does for headers, and set `g.api_user` and `g.api_session`."""
    try:
        claims = decode_token(token or "")
    except (PyJWTError, JWTExtendedException):
        raise AuthFailed("Token is invalid or expired.") from None
    user_id = user_id_from_identity(claims.get("sub", ""))
    found = user_id is not None and claims.get("type") == kind and \
        auth.active_session(claims.get("sid", ""), user_id, claims.get("tv", -1))
    if not found:
        raise AuthFailed("Token is invalid or expired.")
    g.api_session, g.api_user = found
    g.token_claims = claims


def verify_refresh(token: str) -> None:
    verify_token(token, "refresh")
