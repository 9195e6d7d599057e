"""Portal areas, one blueprint each."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from portal.blueprints.auth import bp as auth_bp
    from portal.blueprints.customers import bp as customers_bp
    from portal.blueprints.dashboard import bp as dashboard_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(customers_bp, url_prefix="/portal/customers")

    from portal.services.permissions import can

    app.jinja_env.globals["can"] = can
    app.jinja_env.filters["phone"] = _format_phone


def _format_phone(e164: str | None) -> str:
    import phonenumbers

    if not e164:
        return ""
    return phonenumbers.format_number(phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
