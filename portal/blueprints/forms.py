"""Bridging service validation onto WTForms fields, so rules are written once (in the services)."""

from flask_wtf import FlaskForm

from portal.services.errors import ValidationFailed


def attach_errors(form: FlaskForm, exc: ValidationFailed, aliases: dict[str, str] | None = None) -> None:
    """Show each service error beside its field (or at the top of the form)."""
    aliases = aliases or {}
    for name, messages in exc.errors.items():
        field = getattr(form, aliases.get(name, name), None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*list(field.errors), *messages]
        else:
            form.form_errors.extend(messages)
