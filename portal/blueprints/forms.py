"""What the portal's forms share: a change committed once its form is valid, service errors shown beside their
fields or flashed (the rules are written once, in the services), and the document kinds an upload offers."""

from collections.abc import Callable
from typing import TypeVar

from flask import flash
from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice

from portal.models import DocumentKind
from portal.models.base import db
from portal.services.errors import DomainError, ValidationFailed

T = TypeVar("T")

DOCUMENT_KINDS = [SelectChoice(kind.value, kind.label) for kind in DocumentKind]  # a document upload's choices


def attach_errors(form: FlaskForm, exc: ValidationFailed, aliases: dict[str, str] | None = None) -> None:
    """Show each service error beside its field (or at the top of the form)."""
    aliases = aliases or {}
    for name, messages in exc.errors.items():
        field = getattr(form, aliases.get(name, name), None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*list(field.errors), *messages]
        else:
            form.form_errors.extend(messages)


def commit_form(form: FlaskForm, change: Callable[[], T]) -> tuple[bool, T | None]:
    """Once `form` validates, make `change` and commit it: (True, what it returned). (False, None) when the
    form is to be shown again: it did not validate, or the service refused a field (rolled back, its messages
    beside the fields). Any other refusal is rolled back and raised, for the caller to show."""
    if not form.validate_on_submit():
        return False, None
    try:
        result = change()
    except ValidationFailed as exc:
        db.session.rollback()
        attach_errors(form, exc)
        return False, None
    except DomainError:
        db.session.rollback()
        raise
    db.session.commit()
    return True, result


def flash_errors(exc: ValidationFailed) -> None:
    """Show every service error in the flashes, for an action with no form to show them beside."""
    flash(" ".join(m for messages in exc.errors.values() for m in messages), "error")
