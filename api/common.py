"""What every surface shares: blueprints tied to a surface, a lenient schema base, auth decorators."""

import json
from decimal import Decimal
from functools import wraps

from flask import g, request
from flask_jwt_extended import verify_jwt_in_request
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, ValidationError, fields
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import RequestEntityTooLarge

from api.errors import Surface, register_blueprint_surface
from portal.extensions import csrf, limiter
from portal.models import Role, User
from portal.services import documents, permissions


class BaseSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # clients may send more than a document lists; ignore, don't refuse


class DecimalJSONParser(FlaskParser):
    """Reads JSON numbers with a fraction as Decimal: 0.1 stays 0.1, never the float 0.1000000000000000055."""

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return core.missing
        try:
            text = req.get_data(cache=True).decode()
        except UnicodeDecodeError as exc:  # reported by webargs as invalid JSON, a 400
            raise json.JSONDecodeError(f"Bytes decoding error: {exc.reason}", str(exc.object), exc.start) from exc
        return json.loads(text, parse_float=Decimal)


class MoneyField(fields.Field):
    """An amount: a JSON number or numeric string, positive, at most two decimals; Decimal inside,
    a string with two decimals outside."""

    def __init__(self, *, allow_zero: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.allow_zero = allow_zero

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else f"{value:.2f}"

    def _deserialize(self, value, attr, data, **kwargs):
        from portal.services.money import parse_amount

        if isinstance(value, bool | float):
            raise ValidationError("Send the amount as a number or a numeric string.")
        try:
            return parse_amount(value, field=attr or "amount", allow_zero=self.allow_zero)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class RateField(fields.Field):
    """A percentage rate: read exactly (never rounded; the service refuses more than 4 decimals),
    written with at least two decimals ("10.50", "10.5550")."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        text = f"{Decimal(value).normalize():f}"
        whole, _, frac = text.partition(".")
        return f"{whole}.{frac.ljust(2, '0')}"

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool | float):
            raise ValidationError("Send the rate as a number or a numeric string.")
        try:
            rate = Decimal(str(value))
        except ArithmeticError:
            raise ValidationError("Send the rate as a number, e.g. 10.5.") from None
        if not rate.is_finite():
            raise ValidationError("Send the rate as a number, e.g. 10.5.")
        return rate


class SurfaceBlueprint(Blueprint):
    """Remembers each view's request schema, so field errors can use the document's field names."""

    ARGUMENTS_PARSER = DecimalJSONParser()

    def arguments(self, schema, **kwargs):
        instance = schema() if isinstance(schema, type) else schema  # once, not per request
        parse = super().arguments(instance, **kwargs)
        names = {f.attribute or key: f.data_key or key for key, f in instance.fields.items()}
        # Service fields a document has no name for, but derives from one (004's username is its e-mail).
        names.update(getattr(instance.Meta, "error_aliases", {}))

        def decorator(view):
            parsed = parse(view)

            @wraps(parsed)
            def wrapper(*args, **kw):
                g.field_names = names
                return parsed(*args, **kw)
            return wrapper
        return decorator


def surface_blueprint(surface: Surface, name: str, url_prefix: str | None = None, **kwargs) -> Blueprint:
    """A flask-smorest Blueprint whose errors take `surface`'s shape and which skips CSRF (JWT, not cookies)."""
    bp = SurfaceBlueprint(f"{surface.name}_{name}", __name__, url_prefix=url_prefix,
                   description=kwargs.pop("description", surface.title), **kwargs)
    register_blueprint_surface(bp.name, surface)
    csrf.exempt(bp)
    return bp


def current_user() -> User:
    return g.api_user


def auth_required(*actions: str, refresh: bool = False):
    """Require a valid, unrevoked JWT (a refresh token when `refresh`) and every action named."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            verify_jwt_in_request(refresh=refresh)
            for action in actions:
                permissions.require(g.api_user, action)
            return view(*args, **kwargs)
        return wrapper
    return decorator


def optional_auth(view):
    """Authenticate when a token is sent; `g.api_user` is None otherwise."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        g.api_user = None
        verify_jwt_in_request(optional=True)
        return view(*args, **kwargs)
    return wrapper


def auth_rate_limit(view):
    """Throttle credential checks per client address; only failures count."""
    from flask import current_app

    return limiter.limit(lambda: current_app.config["API_AUTH_RATE_LIMIT"],
                         deduct_when=lambda response: response.status_code in (400, 401, 422))(view)


class RoleNames:
    """A document's own names for Mkopo's roles (001's `lender` is our loan_officer, ...)."""

    def __init__(self, **aliases: str):
        self._to_api = {Role(role): name for role, name in aliases.items()}
        self._from_api = {name: role for role, name in self._to_api.items()}

    def to_api(self, role: Role) -> str:
        return self._to_api.get(role, role.value)

    def from_api(self, name: str | None) -> Role | None:
        if name is None:
            return None
        if name in self._from_api:
            return self._from_api[name]
        try:
            role = Role(name)
        except ValueError:
            return None
        return None if role in self._to_api else role  # a renamed role answers only to its alias

    def choices(self) -> list[str]:
        return [self.to_api(role) for role in Role]


MULTIPART_SLACK = 64 * 1024  # a multipart body's own bytes around the file


def document_size_cap(view):
    """Refuse a body far past DOCUMENT_MAX_BYTES before reading it (the documents service checks the file)."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        request.max_content_length = documents.max_bytes() + MULTIPART_SLACK
        try:
            return view(*args, **kwargs)
        except RequestEntityTooLarge:
            raise documents.too_large() from None
    return wrapper
