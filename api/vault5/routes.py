"""004 Vault5 routes: /v1/auth/* and /v1/users/*."""

from flask.views import MethodView

from api import tokens
from api.common import auth_rate_limit, auth_required, current_user, surface_blueprint
from api.vault5 import schemas
from api.vault5.errors import SURFACE
from portal.models import Role
from portal.models.base import db
from portal.services import users

auth_bp = surface_blueprint(SURFACE, "auth", url_prefix="/v1/auth", description="004 Vault5: authentication")
users_bp = surface_blueprint(SURFACE, "users", url_prefix="/v1/users", description="004 Vault5: profile")
BLUEPRINTS = [auth_bp, users_bp]


def _result(user) -> dict:
    access, refresh = tokens.issue_pair(user, schemas.ROLES.to_api(user.role))
    return {"success": True, "token": access, "refreshToken": refresh, "user": user}


@auth_bp.route("/login")
class LoginView(MethodView):
    decorators = [auth_rate_limit]

    @auth_bp.arguments(schemas.LoginSchema)
    @auth_bp.response(200, schemas.AuthResultSchema)
    def post(self, creds):
        """Log in with an e-mail, phone or username"""
        user = users.authenticate(creds["identifier"], creds["password"])
        result = _result(user)
        db.session.commit()
        return result


@auth_bp.route("/register")
class RegisterView(MethodView):
    decorators = [auth_rate_limit]

    @auth_bp.arguments(schemas.RegisterSchema)
    @auth_bp.response(201, schemas.AuthResultSchema)
    def post(self, data):
        """Create a personal account and sign in"""
        user = users.create(users.NewUser(
            username=data["email"], email=data["email"], phone=data["phone"],
            password=data["password"], first_name=data["firstName"], last_name=data["lastName"],
            role=Role.BORROWER), actor=None)
        result = _result(user)
        db.session.commit()
        return result


@users_bp.route("/profile")
class ProfileView(MethodView):
    decorators = [auth_required()]

    @users_bp.response(200, schemas.ProfileSchema)
    def get(self):
        """The signed-in user's profile"""
        return {"success": True, "user": current_user()}

    @users_bp.arguments(schemas.ProfileUpdateSchema)
    @users_bp.response(200, schemas.ProfileSchema)
    def put(self, changes):
        """Change names, e-mail or phone (a changed contact must be verified again)"""
        user = users.update_profile(current_user(), changes, actor=current_user())
        db.session.commit()
        return {"success": True, "user": user}


@users_bp.route("/change-password")
class ChangePasswordView(MethodView):
    decorators = [auth_required()]

    @users_bp.arguments(schemas.ChangePasswordSchema)
    @users_bp.response(200, schemas.PasswordChangedSchema)
    def post(self, body):
        """Change the password; other sessions end and this one gets fresh tokens"""
        user = current_user()
        users.change_password(user, body["current_password"], body["new_password"])
        result = _result(user)
        db.session.commit()
        return {**result, "message": "Password changed."}
