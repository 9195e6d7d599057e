"""Collection interactions: who may log which kind, validation, and edits kept as revisions."""

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import BinaryIO

from sqlalchemy import select

from portal.models import (
    ContactOutcome,
    Disposition,
    Interaction,
    InteractionKind,
    InteractionRevision,
    Loan,
    PromiseStatus,
    User,
)
from portal.models.base import db, utcnow
from portal.services import audit, customers, documents, filestore, loans, permissions
from portal.services.business_day import local_date, today
from portal.services.errors import Forbidden, NotFound, ValidationFailed
from portal.services.money import parse_amount

FIELDS = ("comment", "disposition_code", "next_call_date", "contact_outcome", "promise_amount", "promise_date",
          "latitude", "longitude")
AUDIT_FIELDS = ["id", "loan_id", "kind", *FIELDS, "photo_key"]
PHOTO_TYPES = ("image/jpeg", "image/png")


def _date(raw, field: str, errors: dict) -> date | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        errors[field] = ["Enter the date as YYYY-MM-DD."]
        return None


def _coordinate(raw, field: str, limit: int, errors: dict) -> Decimal | None:
    if raw in (None, ""):
        return None
    try:
        value = Decimal(str(raw))
        if not value.is_finite() or abs(value) > limit:
            raise InvalidOperation
    except InvalidOperation:
        errors[field] = [f"A {field} is a number between -{limit} and {limit}."]
        return None
    return value.quantize(Decimal("0.000001"))


def _clean(values: dict, *, partial: bool, current: Interaction | None = None) -> dict:
    errors: dict[str, list[str]] = {}
    out: dict = {}
    if "comment" in values:
        out["comment"] = (values["comment"] or "").strip()[:4000]
    if "disposition_code" in values or not partial:
        code = (values.get("disposition_code") or "").strip()
        disposition = db.session.get(Disposition, code) if code else None
        if disposition is None or not disposition.active:
            errors["disposition_code"] = ["Choose a disposition from the list."]
        out["disposition_code"] = code
    for field in ("next_call_date", "promise_date"):
        if field in values:
            out[field] = _date(values[field], field, errors)
            if out[field] is not None and out[field] < today() and field not in errors:
                errors[field] = ["Choose today or a later day."]
    if values.get("contact_outcome") not in (None, ""):
        try:
            out["contact_outcome"] = ContactOutcome(values["contact_outcome"])
        except ValueError:
            errors["contact_outcome"] = ["Choose right_party, third_party or no_contact."]
    elif "contact_outcome" in values:
        out["contact_outcome"] = None
    if values.get("promise_amount") not in (None, ""):
        try:
            out["promise_amount"] = parse_amount(values["promise_amount"], field="promised amount")
        except ValueError as exc:
            errors["promise_amount"] = [str(exc)]
    elif "promise_amount" in values:
        out["promise_amount"] = None
    out.update({k: _coordinate(values[k], k, lim, errors) for k, lim in (("latitude", 90), ("longitude", 180))
                if k in values})
    merged = {k: getattr(current, k) for k in FIELDS} if current else {}
    merged.update(out)
    if merged.get("disposition_code") == "promise_to_pay" and "disposition_code" not in errors:
        for field in ("promise_amount", "promise_date"):
            if merged.get(field) is None and field not in errors:
                errors[field] = ["A promise to pay needs an amount and a date."]
    if errors:
        raise ValidationFailed(errors)
    if {"promise_amount", "promise_date"} & out.keys():
        # A new or changed promise is judged afresh by the daily job.
        has_promise = merged.get("promise_amount") is not None and merged.get("promise_date") is not None
        out["promise_status"] = PromiseStatus.PENDING if has_promise else None
        out["promise_paid"] = None
    return out


def _loan_for(loan_id: int, actor: User) -> Loan:
    return loans.get_visible(loan_id, actor=actor)


def _photo_key(kind: InteractionKind, photo: BinaryIO) -> str:
    """Keep a field visit's photo (JPEG or PNG, checked by its bytes) and return its storage key."""
    limit = documents.max_bytes()
    data = photo.read(limit + 1)
    if kind != InteractionKind.FIELD:
        raise ValidationFailed({"photo": ["Only a field visit carries a photo."]})
    if len(data) > limit:
        raise ValidationFailed({"photo": [f"A photo may be at most {documents.size_text(limit)}."]})
    if (documents.sniff(data) or ("",))[0] not in PHOTO_TYPES:
        raise ValidationFailed({"photo": ["Attach the photo as a JPEG or PNG."]})
    return filestore.put(data)


def create(kind: InteractionKind, loan_id: int, values: dict, *, actor: User,
           photo: BinaryIO | None = None) -> Interaction:
    permissions.require(actor, f"interaction.{kind.value}")
    loan = _loan_for(loan_id, actor)
    data = _clean(values, partial=False)
    interaction = Interaction(loan_id=loan.id, kind=kind, created_by_id=actor.id, **data,
                              photo_key=_photo_key(kind, photo) if photo is not None else None)
    db.session.add(interaction)
    db.session.flush()
    audit.record(actor, "interaction.create", "interaction", interaction.id,
                 after=audit.snapshot(interaction, AUDIT_FIELDS))
    return interaction


def get_visible(interaction_id: int, kind: InteractionKind, *, actor: User) -> Interaction:
    permissions.require(actor, "interaction.view")
    interaction = db.session.get(Interaction, interaction_id)
    if interaction is None or interaction.kind != kind or interaction.deleted_at is not None:
        raise NotFound(f"{kind.value.capitalize()} interaction not found.")
    customers.ensure_visible(interaction.loan.customer, actor)
    return interaction


def _ensure_editable(interaction: Interaction, actor: User) -> None:
    if permissions.can(actor, "interaction.edit_any"):
        return
    if interaction.created_by_id != actor.id or local_date(interaction.created_at) != today():
        raise Forbidden("Only its author, on the day it was logged, or a manager may change an interaction.")


def _keep_revision(interaction: Interaction, action: str, actor: User) -> dict:
    before = audit.snapshot(interaction, AUDIT_FIELDS)
    db.session.add(InteractionRevision(interaction_id=interaction.id, action=action, before=before,
                                       changed_by_id=actor.id))
    return before


def update(interaction: Interaction, values: dict, *, actor: User, replace: bool = False) -> Interaction:
    _ensure_editable(interaction, actor)
    data = _clean(values, partial=not replace, current=interaction)
    before = _keep_revision(interaction, "update", actor)
    for key, value in data.items():
        setattr(interaction, key, value)
    db.session.flush()
    audit.record(actor, "interaction.update", "interaction", interaction.id, before=before,
                 after=audit.snapshot(interaction, AUDIT_FIELDS))
    return interaction


def delete(interaction: Interaction, *, actor: User) -> None:
    """Hide an interaction; it stays on record with a revision, as every edit does."""
    _ensure_editable(interaction, actor)
    before = _keep_revision(interaction, "delete", actor)
    interaction.deleted_at, interaction.deleted_by_id = utcnow(), actor.id
    db.session.flush()
    audit.record(actor, "interaction.delete", "interaction", interaction.id, before=before)


def for_loan(loan_id: int, kind: InteractionKind, *, actor: User) -> list[Interaction]:
    permissions.require(actor, "interaction.view")
    loan = _loan_for(loan_id, actor)
    return list(db.session.scalars(select(Interaction).where(
        Interaction.loan_id == loan.id, Interaction.kind == kind, Interaction.deleted_at.is_(None))
        .order_by(Interaction.created_at.desc(), Interaction.id.desc())))


def photo(interaction_id: int, *, actor: User) -> tuple[str, bytes]:
    """A field visit's photo (content type, bytes), for someone who may see the customer."""
    permissions.require(actor, "interaction.view")
    interaction = db.session.get(Interaction, interaction_id)
    if interaction is None or interaction.photo_key is None or interaction.deleted_at is not None:
        raise NotFound("Photo not found.")
    customers.ensure_visible(interaction.loan.customer, actor)
    data = filestore.read(interaction.photo_key)
    return documents.sniff(data)[0], data
