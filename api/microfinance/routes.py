"""000 Microfinance routes: POST /users and POST /auth/token."""

import secrets

from flask import jsonify
from flask.views import MethodView

from api import tokens
from api.common import auth_rate_limit, auth_required, current_user, surface_blueprint
from api.microfinance import schemas
from api.microfinance.errors import SURFACE
from portal.models import CodePurpose, Role
from portal.models.base import db
from portal.services import auth, customers, users

users_bp = surface_blueprint(SURFACE, "users", url_prefix="/users", description="000 Microfinance: profiles")
auth_bp = surface_blueprint(SURFACE, "auth", url_prefix="/auth", description="000 Microfinance: token")
BLUEPRINTS = [users_bp, auth_bp]


@users_bp.route("")
class ProfilesView(MethodView):
    decorators = [auth_required()]

    @users_bp.arguments(schemas.ProfileRequestSchema)
    @users_bp.response(201, schemas.ClientProfileSchema)
    @users_bp.alt_response(201, schema=schemas.UserProfileSchema, description="a staff profile (role=user)")
    def post(self, data):
        """Create a client profile (an account number is generated) or a staff user profile"""
        actor = current_user()
        if data["role"] == "client":
            customer = customers.create({"name": data["name"], "email": data.get("email"),
                                         "national_id": data.get("national_id"), "phone": data.get("phone")},
                                        actor=actor)
            db.session.commit()
            return customer
        first, _, last = data["name"].strip().partition(" ")
        invited = not data.get("password")
        user = users.create(users.NewUser(
            username=data["email"], email=data["email"], phone=data.get("phone"),
            password=data.get("password") or secrets.token_urlsafe(16) + "1a", role=Role.LOAN_OFFICER,
            first_name=first, last_name=last), actor=actor)
        if invited:
            auth.issue_code(user, CodePurpose.RESET_PASSWORD)  # they choose their own password
        db.session.commit()
        # Not the client shape: a Response passes flask-smorest's serializer untouched.
        response = jsonify(schemas.UserProfileSchema().dump(user))
        response.status_code = 201
        return response


@auth_bp.route("/token")
class TokenView(MethodView):
    decorators = [auth_rate_limit]

    @auth_bp.arguments(schemas.TokenRequestSchema)
    @auth_bp.response(200, schemas.TokenSchema)
    def post(self, creds):
        """Obtain an access token"""
        user = users.authenticate(creds["username"], creds["password"])
        access, _ = tokens.issue_pair(user, schemas.ROLES.to_api(user.role))
        db.session.commit()
        return {"token": access}
