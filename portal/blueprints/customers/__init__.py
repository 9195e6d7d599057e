from flask import Blueprint

bp = Blueprint("customers", __name__)

from portal.blueprints.customers import views  # noqa: E402,F401  routes register on import
