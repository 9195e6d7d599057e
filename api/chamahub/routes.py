"""002 ChamaHub routes."""

from flask.views import MethodView

from api import tokens
from api.chamahub import schemas
from api.chamahub.errors import SURFACE
from api.common import auth_rate_limit, surface_blueprint
from portal.models.base import db
from portal.services import users

token_bp = surface_blueprint(SURFACE, "token", url_prefix="/api/token", description="002 ChamaHub: JWT token")
BLUEPRINTS = [token_bp]


@token_bp.route("/")
class TokenView(MethodView):
    decorators = [auth_rate_limit]

    @token_bp.arguments(schemas.TokenRequestSchema)
    @token_bp.response(200, schemas.TokenPairSchema)
    def post(self, creds):
        """Obtain access and refresh tokens with e-mail and password"""
        user = users.authenticate(creds["email"], creds["password"])
        access, refresh = tokens.issue_pair(user, schemas.ROLES.to_api(user.role))
        db.session.commit()
        return {"access": access, "refresh": refresh}
