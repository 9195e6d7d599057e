from flask import Blueprint

bp = Blueprint("loans", __name__)

from portal.blueprints.loans import views  # noqa: E402,F401  routes register on import
