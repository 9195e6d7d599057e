from flask import Blueprint

bp = Blueprint("notifications", __name__)

from portal.blueprints.notifications import views  # noqa: E402,F401  routes register on import
