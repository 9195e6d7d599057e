"""User accounts: creation with role rules, profile changes, passwords, listing."""

import re
from dataclasses import dataclass
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import DOT_ATOM_TEXT, EMAIL_MAX_LENGTH
from flask import current_app
from sqlalchemy import func, or_, select
from werkzeug.security import check_password_hash, generate_password_hash

from portal.models import Role, User
from portal.models.base import db
from portal.services import audit, permissions, phones
from portal.services.errors import AuthFailed, Forbidden, NotFound, ValidationFailed

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@+-]{3,80}$")
MIN_PASSWORD_LENGTH = 8
USER_AUDIT_FIELDS = ["id", "username", "email", "phone", "first_name", "last_name", "role", "manager_id",
                     "is_active", "email_verified", "phone_verified"]
# Checked against when a login names no known user, so both paths cost one hash.
_DUMMY_HASH: dict[str, str] = {}


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def password_problems(password: str | None) -> list[str]:
    if not password:
        return ["Enter a password."]
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"Use at least {MIN_PASSWORD_LENGTH} characters.")
    if password.isdigit() or password.isalpha():
        problems.append("Mix letters with digits or symbols.")
    return problems


@lru_cache(maxsize=4096)
def _checked_domain(domain: str) -> tuple[str, str] | None:
    """The domain's normalized and ASCII forms if email-validator accepts it, else None."""
    try:
        checked = validate_email("a@" + domain, check_deliverability=False)
    except EmailNotValidError:
        return None
    return checked.domain, checked.ascii_domain


def _plain_address(text: str) -> str | None:
    """validate_email's own answer for a plain ASCII address, with the domain checked once per domain.

    The domain check is two thirds of validate_email's cost and a bulk upload repeats a few domains
    thousands of times; the local part and lengths are checked here with the library's own rules.
    """
    local, _, domain = text.partition("@")
    if not DOT_ATOM_TEXT.match(local) or (forms := _checked_domain(domain)) is None:
        return None
    normalized = f"{local}@{forms[0]}"
    if any(len(a.encode()) > EMAIL_MAX_LENGTH for a in (text, normalized, f"{local}@{forms[1]}")):
        return None
    return normalized


def clean_email(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    if plain := _plain_address(raw.strip()):
        return plain.lower()
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None


@dataclass
class NewUser:
    username: str
    password: str
    role: Role = Role.BORROWER
    email: str | None = None
    phone: str | None = None
    first_name: str = ""
    last_name: str = ""
    manager_id: int | None = None


def create(data: NewUser, *, actor: User | None, by_system: bool = False) -> User:
    """Create a user; staff roles need an admin (any) or a manager (juniors, into their team).

    `by_system` is the server's own authority (the CLI, demo data): any role, no actor.
    """
    if not by_system and not permissions.can_create_role(actor, data.role):
        raise Forbidden(f"You may not create a user with the role {data.role.value}.")
    errors: dict[str, list[str]] = {}
    username = (data.username or "").strip()
    if not USERNAME_RE.match(username):
        errors["username"] = ["Use 3-80 letters, digits or . _ @ + -"]
    if problems := password_problems(data.password):
        errors["password"] = problems
    try:
        email = clean_email(data.email)
    except ValueError as exc:
        errors["email"], email = [str(exc)], None
    phone = None
    if data.phone:
        try:
            phone = phones.normalize(data.phone)
        except ValueError as exc:
            errors["phone"] = [str(exc)]
    manager_id = data.manager_id
    if actor is not None and actor.role == Role.MANAGER and data.role != Role.BORROWER:
        manager_id = actor.id
    if manager_id is not None:
        manager = db.session.get(User, manager_id)
        if manager is None or manager.role not in (Role.MANAGER, Role.ADMIN):
            errors["manager"] = ["Choose an existing manager."]
    _check_unique(errors, username=username, email=email, phone=phone)
    if errors:
        raise ValidationFailed(errors)
    user = User(username=username, email=email, phone=phone, first_name=data.first_name.strip(),
                last_name=data.last_name.strip(), role=data.role, manager_id=manager_id,
                password_hash=hash_password(data.password))
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "user.create", "user", user.id, after=audit.snapshot(user, USER_AUDIT_FIELDS))
    return user


def _check_unique(errors: dict, *, exclude_id: int | None = None, **fields) -> None:
    for field, value in fields.items():
        if value is None or field in errors:
            continue
        column = getattr(User, field)
        stmt = select(User.id).where(func.lower(column) == value.lower())
        if exclude_id is not None:
            stmt = stmt.where(User.id != exclude_id)
        if db.session.scalar(stmt) is not None:
            errors[field] = [f"This {field} is already registered."]


def find_by_identifier(identifier: str) -> User | None:
    """The user whose username, e-mail or phone is `identifier`."""
    ident = (identifier or "").strip()
    if not ident:
        return None
    clauses = [func.lower(User.username) == ident.lower(), func.lower(User.email) == ident.lower()]
    if phone := phones.search_form(ident):
        clauses.append(User.phone == phone)
    return db.session.scalars(select(User).where(or_(*clauses)).limit(1)).first()


def authenticate(identifier: str, password: str) -> User:
    """The active user these credentials belong to; one message for every failure."""
    user = find_by_identifier(identifier)
    if user is None:
        method = current_app.config["PASSWORD_HASH_METHOD"]
        check_password_hash(_DUMMY_HASH.setdefault(method, hash_password("not-a-password-1")), password or "")
        raise AuthFailed("Invalid username or password.")
    if not check_password_hash(user.password_hash, password or ""):
        raise AuthFailed("Invalid username or password.")
    if not user.is_active:
        raise AuthFailed("This account is disabled. Ask your manager to re-activate it.")
    return user


def change_password(user: User, current: str, new: str) -> None:
    """Change a password after checking the current one; ends every other session."""
    if not check_password_hash(user.password_hash, current or ""):
        raise ValidationFailed({"current_password": ["Your current password is not correct."]})
    set_password(user, new, actor=user)


def set_password(user: User, new: str, *, actor: User) -> None:
    if problems := password_problems(new):
        raise ValidationFailed({"new_password": problems})
    user.password_hash = hash_password(new)
    user.token_version += 1
    db.session.flush()
    audit.record(actor, "user.password_change", "user", user.id)


PROFILE_FIELDS = ("first_name", "last_name", "email", "phone")


def update_profile(user: User, changes: dict, *, actor: User) -> User:
    """Change a user's names and contacts; a changed contact is no longer verified."""
    if actor.id != user.id and actor.role != Role.ADMIN:
        raise Forbidden("You may only change your own profile.")
    errors: dict[str, list[str]] = {}
    before = audit.snapshot(user, USER_AUDIT_FIELDS)
    values = {k: v for k, v in changes.items() if k in PROFILE_FIELDS}
    if "email" in values:
        try:
            values["email"] = clean_email(values["email"])
        except ValueError as exc:
            errors["email"] = [str(exc)]
    if "phone" in values and not (values["phone"] or "").strip():
        values["phone"] = None  # cleared: NULL, since the column is unique and "" would clash
    elif values.get("phone"):
        try:
            values["phone"] = phones.normalize(values["phone"])
        except ValueError as exc:
            errors["phone"] = [str(exc)]
    _check_unique(errors, exclude_id=user.id, email=values.get("email"), phone=values.get("phone"))
    if errors:
        raise ValidationFailed(errors)
    if "email" in values and values["email"] != user.email:
        user.email_verified = False
    if "phone" in values and (values["phone"] or None) != user.phone:
        user.phone_verified = False
    for key, value in values.items():
        setattr(user, key, value.strip() if isinstance(value, str) else value)
    db.session.flush()
    audit.record(actor, "user.update", "user", user.id, before=before,
                 after=audit.snapshot(user, USER_AUDIT_FIELDS))
    return user


def list_visible(actor: User) -> list[User]:
    permissions.require(actor, "user.list")
    return list(db.session.scalars(permissions.visible_users(actor).order_by(User.id)))


def get(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("User not found.")
    return user


def staff_choices(actor: User, roles: tuple[Role, ...]) -> list[User]:
    """Active staff of `roles` that `actor` may assign work to."""
    stmt = permissions.visible_users(actor) if actor.role == Role.MANAGER else select(User)
    stmt = stmt.where(User.role.in_(roles), User.is_active.is_(True)).order_by(User.first_name, User.last_name)
    return list(db.session.scalars(stmt))

