"""001 SokoCredit routes: /auth/*, /api/users/change-password, /customers/*."""


from flask import current_app, g, request
from flask.views import MethodView
from marshmallow import RAISE

from api import tokens
from api.common import (
    auth_rate_limit,
    auth_required,
    current_user,
    document_size_cap,
    optional_auth,
    surface_blueprint,
)
from api.errors import api_error_response
from api.openapi import operation_document
from api.sokocredit import schemas
from api.sokocredit.errors import SURFACE
from portal.files import download
from portal.models import CodePurpose
from portal.models.base import db
from portal.services import auth, customers, documents, exports, users
from portal.services.errors import AuthFailed, ValidationFailed

auth_bp = surface_blueprint(SURFACE, "auth", url_prefix="/auth", description="001 SokoCredit: authentication")
users_bp = surface_blueprint(SURFACE, "users", url_prefix="/api/users", description="001 SokoCredit: account")
customers_bp = surface_blueprint(SURFACE, "customers", url_prefix="/customers",
                                 description="001 SokoCredit: customers")
BLUEPRINTS = [auth_bp, users_bp, customers_bp]


def _tokens_body(user, access: str, refresh: str) -> dict:
    return {"access_token": access, "refresh_token": refresh, "token_type": "Bearer",
            "expires_in": int(current_app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds()), "user": user}


@auth_bp.route("/login")
class LoginView(MethodView):
    decorators = [auth_rate_limit]

    @auth_bp.arguments(schemas.LoginSchema)
    @auth_bp.response(200, schemas.TokensSchema)
    def post(self, creds):
        """Log in with email, phone or username and get access and refresh tokens"""
        identifier = next(creds[k] for k in ("identifier", "email", "username", "phone") if creds.get(k))
        user = users.authenticate(identifier, creds["password"])
        access, refresh = tokens.issue_pair(user, schemas.ROLES.to_api(user.role))
        db.session.commit()
        return _tokens_body(user, access, refresh)


@auth_bp.route("/register")
class RegisterView(MethodView):
    decorators = [auth_rate_limit, optional_auth]

    @auth_bp.arguments(schemas.RegisterSchema)
    @auth_bp.response(201, schemas.RegisteredSchema)
    def post(self, data):
        """Register (mama_mboga by default; admin and lender accounts need an admin token)"""
        username = data.get("username") or data.get("email") or data.get("phone")
        user = users.create(users.NewUser(
            username=username, password=data["password"], role=schemas.ROLES.from_api(data["role"]),
            email=data.get("email"), phone=data.get("phone"), first_name=data["first_name"],
            last_name=data["last_name"]), actor=g.api_user)
        db.session.commit()
        return {"message": "Registration successful.", "user": user}


@auth_bp.route("/me")
class MeView(MethodView):
    decorators = [auth_required()]

    @auth_bp.response(200, schemas.MeSchema)
    def get(self):
        """The signed-in user"""
        return {"user": current_user()}


def _presented_refresh_token(body: dict) -> str:
    token = body.get("refresh_token") or body.get("refreshToken") or body.get("refresh")
    if not token and request.headers.get("Authorization", "").startswith("Bearer "):
        token = request.headers["Authorization"][7:]
    return token or ""


@auth_bp.route("/refresh-token")
class RefreshView(MethodView):
    @auth_bp.arguments(schemas.RefreshSchema)
    @auth_bp.response(200, schemas.TokensSchema)
    def post(self, body):
        """Trade a refresh token for a new pair; the old refresh token stops working (rotation)"""
        tokens.verify_refresh(_presented_refresh_token(body))
        result = tokens.refresh(schemas.ROLES.to_api(g.api_user.role), rotate=True)
        db.session.commit()  # a reused token revokes its session: keep that even when refusing
        if result is None:
            raise AuthFailed("This refresh token was already used; sign in again.")
        return _tokens_body(g.api_user, *result)


@auth_bp.route("/logout")
class LogoutView(MethodView):
    decorators = [auth_required()]

    @auth_bp.response(200, schemas.MessageSchema)
    def post(self):
        """End this session: its access and refresh tokens stop working"""
        auth.end_session(g.api_session)
        db.session.commit()
        return {"message": "Logged out."}


@auth_bp.route("/logout-all")
class LogoutAllView(MethodView):
    decorators = [auth_required()]

    @auth_bp.response(200, schemas.MessageSchema)
    def post(self):
        """End every session of this user, on every device and in the portal"""
        auth.end_all_sessions(current_user())
        db.session.commit()
        return {"message": "Logged out of all sessions."}


@auth_bp.route("/forgot-password")
class ForgotPasswordView(MethodView):
    decorators = [auth_rate_limit]

    @auth_bp.arguments(schemas.ForgotPasswordSchema)
    @auth_bp.response(200, schemas.MessageSchema)
    def post(self, body):
        """Send a reset token to the account's notifications (the answer never says whether it exists)"""
        identifier = body.get("email") or body.get("phone") or body.get("identifier")
        if not identifier:
            raise ValidationFailed({"email": ["Send the email or phone of the account."]})
        auth.request_password_reset(identifier)
        db.session.commit()
        return {"message": "If that account exists, a reset token has been sent to it."}


@auth_bp.route("/reset-password")
class ResetPasswordView(MethodView):
    decorators = [auth_rate_limit]

    @auth_bp.arguments(schemas.ResetPasswordSchema)
    @auth_bp.response(200, schemas.MessageSchema)
    def post(self, body):
        """Set a new password with a reset token; every existing session ends"""
        auth.reset_password(body["token"], body.get("new_password") or body.get("password"))
        db.session.commit()
        return {"message": "Password has been reset. Sign in with the new password."}


def _verify(purpose: CodePurpose, body: dict, contact: str | None, what: str):
    user = current_user()
    if not contact:
        raise ValidationFailed({what: [f"Add a {what} to your account first."]})
    if not body.get("code"):
        auth.issue_code(user, purpose)
        db.session.commit()
        return {"message": f"A verification code was sent for your {what}.", "verified": False}, 202
    ok = auth.verify_contact(user, purpose, body["code"])
    db.session.commit()  # a wrong code's attempt is counted even though we refuse
    if not ok:
        return api_error_response(400, "Invalid input data", {"code": ["This code is not correct."]})
    return {"message": f"Your {what} is verified.", "verified": True}


@auth_bp.route("/verify-email")
class VerifyEmailView(MethodView):
    decorators = [auth_required()]

    @auth_bp.arguments(schemas.VerifySchema)
    @auth_bp.response(200, schemas.VerifiedSchema)
    @auth_bp.alt_response(202, schema=schemas.VerifiedSchema, description="code sent")
    def post(self, body):
        """Without a code: send one. With a code: mark the e-mail verified"""
        return _verify(CodePurpose.VERIFY_EMAIL, body, current_user().email, "email")


@auth_bp.route("/verify-phone")
class VerifyPhoneView(MethodView):
    decorators = [auth_required()]

    @auth_bp.arguments(schemas.VerifySchema)
    @auth_bp.response(200, schemas.VerifiedSchema)
    @auth_bp.alt_response(202, schema=schemas.VerifiedSchema, description="code sent")
    def post(self, body):
        """Without a code: send one. With a code: mark the phone verified"""
        return _verify(CodePurpose.VERIFY_PHONE, body, current_user().phone, "phone")


@users_bp.route("/change-password")
class ChangePasswordView(MethodView):
    decorators = [auth_required()]

    @users_bp.arguments(schemas.ChangePasswordSchema)
    @users_bp.response(200, schemas.PasswordChangedSchema)
    def put(self, body):
        """Change the password; other sessions end and this one gets fresh tokens"""
        user = current_user()
        users.change_password(user, body["current_password"], body["new_password"])
        access, refresh = tokens.issue_pair(user, schemas.ROLES.to_api(user.role))
        db.session.commit()
        return {"message": "Password changed.", **_tokens_body(user, access, refresh)}


@customers_bp.route("/")
class CustomersView(MethodView):
    decorators = [auth_required()]

    @customers_bp.arguments(schemas.CustomerQueryArgsSchema, location="query", unknown=RAISE)
    @customers_bp.response(200, schemas.CustomerListSchema)
    @customers_bp.doc(responses={200: {"content": {
        "text/csv": {"schema": {"type": "string"}},
        exports.XLSX_MIMETYPE: {"schema": {"type": "string", "format": "binary"}}}}})
    def get(self, args):
        """List customers the caller may see, with search and filters; format=csv|excel exports them all"""
        return _listing(args, mine=False)

    @customers_bp.arguments(schemas.CustomerSchema)
    @customers_bp.response(201, schemas.CustomerSchema)
    def post(self, data):
        """Create a customer"""
        customer = customers.create(data, actor=current_user())
        db.session.commit()
        return customer


def _listing(args: dict, *, mine: bool):
    filters = customers.CustomerFilters(search=args.get("search"), created_by=args.get("created_by"),
                                        business_name=args.get("business_name"), location=args.get("location"),
                                        has_documents=args.get("has_documents"), mine=mine)
    if fmt := args.get("format"):
        export = exports.customer_export(filters, fmt, actor=current_user())
        return download(export.chunks, export.mimetype, export.filename, export.size)
    page = customers.search(filters, actor=current_user(), page=args["page"], per_page=args["per_page"])
    return {"customers": page.items, "total": page.total, "page": page.page, "pages": page.pages}


@customers_bp.route("/my_customers")
class MyCustomersView(MethodView):
    decorators = [auth_required()]

    @customers_bp.arguments(schemas.CustomerQueryArgsSchema, location="query", unknown=RAISE)
    @customers_bp.response(200, schemas.CustomerListSchema)
    def get(self, args):
        """Customers created by or assigned to the caller"""
        return _listing(args, mine=True)


@customers_bp.route("/openapi")
class CustomerListingSchemaView(MethodView):
    # Public, like /api/schema/: it describes the listing and holds no data.

    @customers_bp.response(200)
    def get(self):
        """The OpenAPI document of GET /customers/: its query parameters and the listing's JSON schema"""
        return operation_document("/customers/", "get")


@customers_bp.route("/<int:customer_id>")
class CustomerByIdView(MethodView):
    decorators = [auth_required()]

    @customers_bp.response(200, schemas.CustomerSchema)
    def get(self, customer_id):
        """A single customer"""
        return customers.get_visible(customer_id, actor=current_user())

    @customers_bp.arguments(schemas.CustomerSchema(partial=True))
    @customers_bp.response(200, schemas.CustomerSchema)
    def patch(self, data, customer_id):
        """Update a customer's details"""
        customer = customers.get_visible(customer_id, actor=current_user())
        customers.update(customer, data, actor=current_user())
        db.session.commit()
        return customer

    @customers_bp.response(200, schemas.MessageSchema)
    def delete(self, customer_id):
        """Delete a customer (admins only)"""
        customer = customers.get_visible(customer_id, actor=current_user())
        customers.delete(customer, actor=current_user())
        db.session.commit()
        return {"message": "Customer deleted."}


@customers_bp.route("/<int:customer_id>/upload")
class CustomerUploadView(MethodView):
    decorators = [auth_required(), document_size_cap]

    @customers_bp.arguments(schemas.DocumentUploadSchema, location="form", content_type="multipart/form-data")
    @customers_bp.response(201, schemas.DocumentSchema)
    def post(self, form, customer_id):
        """Upload a customer document (multipart: file + doc_type): JPEG, PNG or PDF, checked by content"""
        customer = customers.get_visible(customer_id, actor=current_user())
        file = request.files.get("file")
        document = documents.upload(customer, doc_type=form["doc_type"], filename=file.filename if file else None,
                                    content=file.stream if file else None, actor=current_user())
        db.session.commit()
        return document
