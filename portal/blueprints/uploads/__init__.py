from flask import Blueprint

bp = Blueprint("uploads", __name__)

from portal.blueprints.uploads import views  # noqa: E402,F401  routes register on import
