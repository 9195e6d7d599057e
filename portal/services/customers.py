"""Customers: validation, codes and account numbers, visibility, search."""

import re
import string
from dataclasses import dataclass
from datetime import date

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import joinedload

from portal.models import Customer, CustomerDocument, Loan, Role, User
from portal.models.base import db
from portal.services import audit, business_day, codes, permissions, phones
from portal.services.errors import Conflict, Forbidden, NotFound, ValidationFailed
from portal.services.pagination import MAX_PER_PAGE, Page, paginate
from portal.services.users import clean_email

CODE_ALPHABET = string.ascii_uppercase + string.digits
CODE_LENGTH = 8
TEXT_LIMITS = {"name": 160, "business_name": 160, "location": 120, "address_line_1": 200,
               "address_line_2": 200, "city": 80, "state": 80}
FIELDS = ("customer_code", "name", "phone", "email", "national_id", "business_name", "location",
          "address_line_1", "address_line_2", "city", "state", "pincode", "date_of_birth",
          "assigned_officer_id")
AUDIT_FIELDS = ["id", "customer_code", "account_number", *FIELDS[1:], "kyc_status", "kyc_level"]
ASSIGNABLE_ROLES = (Role.COLLECTION_OFFICER,)
# Compiled once: a bulk upload cleans 100,000 rows with them.
CODE_RE = re.compile(r"[A-Z0-9]{8}")
NATIONAL_ID_RE = re.compile(r"[A-Z0-9]{5,20}")
PINCODE_RE = re.compile(r"[A-Za-z0-9 -]{3,10}")
SEPARATORS_RE = re.compile(r"[\s-]")
NOT_LETTERS_RE = re.compile(r"[^a-z]")


def _text(value) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def _clean(values: dict, *, partial: bool, actor: User, customer: Customer | None = None,
           check_code: bool = True) -> dict:
    """Validate and normalize customer fields; raise ValidationFailed naming every bad field."""
    errors: dict[str, list[str]] = {}
    out: dict = {}
    for key, raw in values.items():
        if (clean := _CLEANERS.get(key)) is None:  # not a customer field
            continue
        try:
            out[key] = clean(raw)
        except ValueError as exc:
            errors[key] = [str(exc)]
    if not partial:
        if out.get("name") is None and "name" not in errors:
            errors["name"] = ["This field is required."]
    elif "name" in values and out.get("name") is None and "name" not in errors:
        errors["name"] = ["This field may not be blank."]
    if "assigned_officer_id" in out and "assigned_officer_id" not in errors:
        try:
            _check_assignment(out["assigned_officer_id"], actor, customer)
        except ValueError as exc:
            errors["assigned_officer_id"] = [str(exc)]
    if check_code and (code := out.get("customer_code")):
        stmt = select(Customer.id).where(Customer.customer_code == code)
        if customer is not None:
            stmt = stmt.where(Customer.id != customer.id)
        if db.session.scalar(stmt) is not None:
            errors["customer_code"] = ["Another customer already has this code."]
    if errors:
        raise ValidationFailed(errors)
    return out


def _clean_text(key: str):
    limit = TEXT_LIMITS.get(key, 200)

    def clean(raw):
        value = _text(raw)
        if value is not None and len(value) > limit:
            raise ValueError(f"Use at most {limit} characters.")
        if key == "name" and value is not None and len(value) < 2:
            raise ValueError("Enter the customer's full name.")
        return value
    return clean


def _clean_phone(raw) -> str | None:
    text = _text(raw)
    return phones.normalize(text) if text else None


def _clean_code(raw) -> str | None:
    value = _text(raw)
    if value is None:
        return None
    value = value.upper()
    if not CODE_RE.fullmatch(value):
        raise ValueError("A customer code is 8 letters or digits, or leave it empty to generate one.")
    return value


def _clean_national_id(raw) -> str | None:
    value = _text(raw)
    if value is None:
        return None
    value = SEPARATORS_RE.sub("", value).upper()
    if not NATIONAL_ID_RE.fullmatch(value):
        raise ValueError("An ID number is 5 to 20 letters or digits.")
    return value


def _clean_pincode(raw) -> str | None:
    value = _text(raw)
    if value is not None and not PINCODE_RE.fullmatch(value):
        raise ValueError("A postal code is 3 to 10 letters or digits.")
    return value


def _clean_date_of_birth(raw) -> date | None:
    if raw is None or isinstance(raw, date):
        value = raw
    else:
        text = _text(raw)
        if text is None:
            return None
        try:
            value = date.fromisoformat(text)
        except ValueError:
            raise ValueError("Enter the date as YYYY-MM-DD.") from None
    if value is None:
        return None
    today = business_day.today()
    age = today.year - value.year - ((today.month, today.day) < (value.month, value.day))
    if not 18 <= age <= 120:
        raise ValueError("A customer must be between 18 and 120 years old.")
    return value


def _clean_officer(raw) -> int | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ValueError("Choose a collection officer by id.") from None
    if not 0 < value < 2**63:  # no user has it, and SQLite cannot even look it up
        raise ValueError("Choose an active collection officer.")
    return value


_CLEANERS = {
    "phone": _clean_phone,
    "email": lambda raw: clean_email(raw),
    "customer_code": _clean_code,
    "national_id": _clean_national_id,
    "pincode": _clean_pincode,
    "date_of_birth": _clean_date_of_birth,
    "assigned_officer_id": _clean_officer,
}
# The other fields are free text with a length limit; their cleaners are built once, not per value.
_CLEANERS.update({key: _clean_text(key) for key in FIELDS if key not in _CLEANERS})


def _check_assignment(officer_id: int | None, actor: User, customer: Customer | None) -> None:
    if customer is not None and officer_id == customer.assigned_officer_id:
        return
    if officer_id is None:
        if customer is not None and not permissions.can(actor, "customer.assign"):
            raise ValueError("Only a manager can unassign a customer.")
        return
    officer = db.session.get(User, officer_id)
    if officer is None or officer.role not in ASSIGNABLE_ROLES or not officer.is_active:
        raise ValueError("Choose an active collection officer.")
    if actor.role == Role.COLLECTION_OFFICER and officer.id != actor.id:
        raise ValueError("You can only assign customers to yourself.")
    if actor.role == Role.MANAGER and officer.manager_id != actor.id:
        raise ValueError("Choose a collection officer from your team.")
    if customer is not None and not permissions.can(actor, "customer.assign"):
        raise ValueError("Only a manager can reassign a customer.")


def random_code() -> str:
    """An 8-character code in 003's shape, not yet checked against existing ones."""
    return codes.draw([CODE_ALPHABET] * CODE_LENGTH)


def generate_code() -> str:
    """A fresh 8-character code (003's shape); retried on the rare clash."""
    while True:
        code = random_code()
        if db.session.scalar(select(Customer.id).where(Customer.customer_code == code)) is None:
            return code


def account_base(name: str, national_id: str | None, code: str) -> str:
    """000's account number before any suffix: first name lowercased + ID number (or the customer code)."""
    first = NOT_LETTERS_RE.sub("", (name.split() or ["client"])[0].lower()) or "client"
    return first + (national_id.lower() if national_id else code.lower())


def account_number_for(name: str, national_id: str | None, code: str) -> str:
    """000's account number: `account_base`, suffixed -2, -3 ... when already taken."""
    base = account_base(name, national_id, code)
    taken = set(db.session.scalars(select(Customer.account_number).where(
        or_(Customer.account_number == base, Customer.account_number.like(f"{base}-%")))))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def validate_new(values: dict, *, actor: User, check_code: bool = True) -> dict:
    """A new customer's fields cleaned as `create` stores them; a collection officer's own customers are theirs.

    Bulk uploads pass check_code=False and look up every code of a file at once.
    """
    data = _clean(values, partial=False, actor=actor, check_code=check_code)
    if actor.role == Role.COLLECTION_OFFICER and data.get("assigned_officer_id") is None:
        data["assigned_officer_id"] = actor.id
    return data


def create(values: dict, *, actor: User) -> Customer:
    permissions.require(actor, "customer.create")
    data = validate_new(values, actor=actor)
    data["customer_code"] = data.get("customer_code") or generate_code()
    data["account_number"] = account_number_for(data["name"], data.get("national_id"), data["customer_code"])
    customer = Customer(**data, created_by_id=actor.id)
    db.session.add(customer)
    db.session.flush()
    audit.record(actor, "customer.create", "customer", customer.id, after=audit.snapshot(customer, AUDIT_FIELDS))
    return customer


def update(customer: Customer, changes: dict, *, actor: User, replace: bool = False) -> Customer:
    """Apply a change; with `replace` (PUT) the required fields must be given too."""
    permissions.require(actor, "customer.update")
    ensure_visible(customer, actor)
    data = _clean(changes, partial=not replace, actor=actor, customer=customer)
    if "customer_code" in data and data["customer_code"] is None:
        del data["customer_code"]  # an existing code is never blanked
    before = audit.snapshot(customer, AUDIT_FIELDS)
    for key, value in data.items():
        setattr(customer, key, value)
    db.session.flush()
    after = audit.snapshot(customer, AUDIT_FIELDS)
    if after != before:
        audit.record(actor, "customer.update", "customer", customer.id, before=before, after=after)
    return customer


def delete(customer: Customer, *, actor: User) -> None:
    permissions.require(actor, "customer.delete")
    ensure_visible(customer, actor)
    if db.session.scalar(select(Loan.id).where(Loan.customer_id == customer.id).limit(1)) is not None:
        raise Conflict(f"{customer.name} has loans, so their record cannot be deleted.")
    before = audit.snapshot(customer, AUDIT_FIELDS)
    db.session.delete(customer)
    db.session.flush()
    audit.record(actor, "customer.delete", "customer", before["id"], before=before)


def ensure_visible(customer: Customer, actor: User) -> None:
    if not permissions.can_see_customer(actor, customer):
        raise Forbidden("This customer is not assigned to you.")


def get_visible(customer_id: int, *, actor: User) -> Customer:
    permissions.require(actor, "customer.view")
    customer = db.session.get(Customer, customer_id, options=[joinedload(Customer.assigned_officer),
                                                               joinedload(Customer.created_by)])
    if customer is None:
        raise NotFound("Customer not found.")
    ensure_visible(customer, actor)
    return customer


def for_user(user: User) -> Customer:
    """The customer record a borrower login belongs to."""
    customer = db.session.scalars(select(Customer).where(Customer.user_id == user.id)).first()
    if customer is None:
        raise NotFound("No customer profile is linked to this account.")
    return customer


@dataclass
class CustomerFilters:
    search: str | None = None
    created_by: int | None = None
    assigned_officer: int | None = None
    unassigned: bool = False
    business_name: str | None = None
    location: str | None = None
    kyc_status: str | None = None
    has_documents: bool | None = None
    mine: bool = False
    sort: str = "newest"


SORTS = {
    "newest": (Customer.created_at.desc(), Customer.id.desc()),
    "oldest": (Customer.created_at.asc(), Customer.id.asc()),
    "name": (Customer.name.asc(), Customer.id.asc()),
}


def search_statement(filters: CustomerFilters, *, actor: User, with_officers: bool = True):
    """The SELECT behind every customer listing, already limited to what `actor` may see; each customer's
    officer loaded with it unless `with_officers` is False (a listing that shows only the officer's id)."""
    permissions.require(actor, "customer.view")
    stmt = permissions.visible_customers(actor)
    if q := _text(filters.search):
        like = f"%{q}%"
        clauses = [Customer.name.ilike(like), Customer.customer_code.ilike(like), Customer.email.ilike(like),
                   Customer.account_number.ilike(like), Customer.national_id.ilike(like)]
        if phone := phones.search_form(q):
            clauses.append(Customer.phone == phone)
        elif re.fullmatch(r"\+?\d{3,}", q):
            clauses.append(Customer.phone.like(f"%{q.lstrip('+').lstrip('0')}%"))
        stmt = stmt.where(or_(*clauses))
    if filters.created_by is not None:
        stmt = stmt.where(Customer.created_by_id == filters.created_by)
    if filters.assigned_officer is not None:
        stmt = stmt.where(Customer.assigned_officer_id == filters.assigned_officer)
    if filters.unassigned:
        stmt = stmt.where(Customer.assigned_officer_id.is_(None))
    if b := _text(filters.business_name):
        stmt = stmt.where(Customer.business_name.ilike(f"%{b}%"))
    if loc := _text(filters.location):
        stmt = stmt.where(Customer.location.ilike(f"%{loc}%"))
    if filters.kyc_status:
        stmt = stmt.where(Customer.kyc_status == filters.kyc_status)
    if filters.has_documents is not None:
        with_documents = exists().where(CustomerDocument.customer_id == Customer.id)
        stmt = stmt.where(with_documents if filters.has_documents else ~with_documents)
    if filters.mine:
        stmt = stmt.where(or_(Customer.created_by_id == actor.id, Customer.assigned_officer_id == actor.id))
    if with_officers:
        stmt = stmt.options(joinedload(Customer.assigned_officer))
    return stmt.order_by(*SORTS.get(filters.sort, SORTS["newest"]))


def search(filters: CustomerFilters, *, actor: User, page: int = 1, per_page: int = 25,
           max_per_page: int = MAX_PER_PAGE, with_officers: bool = True, count: bool = True) -> Page:
    return paginate(search_statement(filters, actor=actor, with_officers=with_officers), page, per_page,
                    max_per_page, count=count)

