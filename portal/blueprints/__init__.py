"""Portal areas, one blueprint each."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from portal.blueprints.auth import bp as auth_bp
    from portal.blueprints.collections import bp as collections_bp
    from portal.blueprints.customers import bp as customers_bp
    from portal.blueprints.dashboard import bp as dashboard_bp
    from portal.blueprints.kyc import bp as kyc_bp
    from portal.blueprints.loans import bp as loans_bp
    from portal.blueprints.notifications import bp as notifications_bp
    from portal.blueprints.payments import bp as payments_bp
    from portal.blueprints.statements import bp as statements_bp
    from portal.blueprints.uploads import bp as uploads_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(customers_bp, url_prefix="/portal/customers")
    app.register_blueprint(collections_bp, url_prefix="/portal/collections")
    app.register_blueprint(kyc_bp, url_prefix="/portal/kyc")
    app.register_blueprint(loans_bp, url_prefix="/portal/loans")
    app.register_blueprint(uploads_bp, url_prefix="/portal/uploads")
    app.register_blueprint(statements_bp, url_prefix="/portal/statements")
    app.register_blueprint(notifications_bp, url_prefix="/portal/notifications")
    app.register_blueprint(payments_bp, url_prefix="/portal/payments")

    from portal.services.permissions import can

    app.jinja_env.globals["can"] = can
    app.jinja_env.globals["has_endpoint"] = lambda name: name in app.view_functions
    app.jinja_env.filters["phone"] = _format_phone
    app.jinja_env.filters["money"] = _format_money
    app.jinja_env.filters["day"] = _format_day
    app.jinja_env.filters["local"] = _format_local


def _format_phone(number: str | None) -> str:
    """A phone in international format. Customers' are E.164; a payer's is kept as M-Pesa sent it (0712...,
    254712...), read as Kenyan, and shown as it came when it is no phone number at all."""
    import phonenumbers

    from portal.services.phones import DEFAULT_REGION

    if not number:
        return ""
    try:
        parsed = phonenumbers.parse(number, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _format_money(amount) -> str:
    return "" if amount is None else f"{amount:,.2f}"


def _format_day(value) -> str:
    return "—" if value is None else value.strftime("%d %b %Y")


def _format_local(moment, fmt: str = "%d %b %Y %H:%M") -> str:
    """A stored UTC timestamp shown in the business time zone."""
    from portal.services.business_day import zone

    return "" if moment is None else moment.astimezone(zone()).strftime(fmt)
