from flask import Blueprint

bp = Blueprint("collections", __name__)

from portal.blueprints.collections import views  # noqa: E402,F401  routes register on import
