"""Flask extensions, created unbound and bound in create_app()."""

from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_smorest import Api
from flask_wtf import CSRFProtect
from htmx_flask import Htmx

from portal.models.base import db


class MkopoApi(Api):
    """flask-smorest Api whose error handling is left to the app's one dispatcher.

    flask-smorest registers a JSON handler for every HTTPException on the whole
    app; portal pages must keep HTML errors and each API surface its own shape.
    """

    def _register_error_handlers(self):
        pass


def schema_name(schema) -> str | None:
    """Component names carry their surface (RepaysyncCustomer, SokocreditCustomer): documents reuse names.

    Modified instances (partial, only, exclude) are inlined rather than named twice.
    """
    if not isinstance(schema, type) and (schema.partial or schema.only or schema.exclude):
        return None
    cls = resolve_schema_cls(schema)
    surface = cls.__module__.split(".")[1] if cls.__module__.startswith("api.") else ""
    return surface.capitalize() + cls.__name__.removesuffix("Schema")


migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
htmx = Htmx()
api = MkopoApi(spec_kwargs={"marshmallow_plugin": MarshmallowPlugin(schema_name_resolver=schema_name)})
jwt = JWTManager()
limiter = Limiter(key_func=get_remote_address, default_limits=[])

__all__ = ["api", "csrf", "db", "htmx", "jwt", "limiter", "login_manager", "migrate"]
