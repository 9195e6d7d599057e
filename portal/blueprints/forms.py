"""What the portal's forms share: service errors shown beside their fields or flashed (the rules are written once,
in the services), and the document kinds an upload offers."""

from flask import flash
from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice

from portal.models import DocumentKind
from portal.services.errors import ValidationFailed

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


def flash_errors(exc: ValidationFailed) -> None:
    """Show every service error in the flashes, for an action with no form to show them beside."""
    flash(" ".join(m for messages in exc.errors.values() for m in messages), "error")
