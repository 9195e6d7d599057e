from flask import Blueprint

bp = Blueprint("kyc", __name__)

from portal.blueprints.kyc import views  # noqa: E402,F401  routes register on import
