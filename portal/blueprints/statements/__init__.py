from flask import Blueprint

bp = Blueprint("statements", __name__)

from portal.blueprints.statements import views  # noqa: E402,F401  routes register on import
