"""001's field names (snake_case; roles admin, lender, mama_mboga)."""

from marshmallow import ValidationError, fields, validate, validates_schema

from api.common import BaseSchema, RoleNames

ROLES = RoleNames(loan_officer="lender", borrower="mama_mboga")


class LoginSchema(BaseSchema):
    identifier = fields.String()
    email = fields.String()
    username = fields.String()
    phone = fields.String()
    password = fields.String(required=True, load_only=True)

    @validates_schema
    def one_identifier(self, data, **kwargs):
        if not any(data.get(k) for k in ("identifier", "email", "username", "phone")):
            raise ValidationError("Send email, phone or username.", "email")


class UserSchema(BaseSchema):
    id = fields.Integer()
    username = fields.String()
    email = fields.String()
    phone = fields.String()
    first_name = fields.String()
    last_name = fields.String()
    role = fields.Function(lambda user: ROLES.to_api(user.role))
    is_email_verified = fields.Boolean(attribute="email_verified")
    is_phone_verified = fields.Boolean(attribute="phone_verified")
    created_at = fields.DateTime()


class TokensSchema(BaseSchema):
    access_token = fields.String()
    refresh_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()
    user = fields.Nested(UserSchema)


class RegisterSchema(BaseSchema):
    username = fields.String()
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    password = fields.String(required=True, load_only=True)
    first_name = fields.String(load_default="")
    last_name = fields.String(load_default="")
    role = fields.String(load_default="mama_mboga", validate=validate.OneOf(ROLES.choices()))

    @validates_schema
    def some_contact(self, data, **kwargs):
        if not any(data.get(k) for k in ("username", "email", "phone")):
            raise ValidationError("Send an email, a phone or a username.", "email")


class RegisteredSchema(BaseSchema):
    message = fields.String()
    user = fields.Nested(UserSchema)


class MeSchema(BaseSchema):
    user = fields.Nested(UserSchema)


class RefreshSchema(BaseSchema):
    refresh_token = fields.String()
    refreshToken = fields.String()
    refresh = fields.String()


class MessageSchema(BaseSchema):
    message = fields.String()


class ForgotPasswordSchema(BaseSchema):
    email = fields.String()
    phone = fields.String()
    identifier = fields.String()


class ResetPasswordSchema(BaseSchema):
    token = fields.String(required=True)
    new_password = fields.String(load_only=True)
    password = fields.String(load_only=True)

    @validates_schema
    def has_password(self, data, **kwargs):
        if not (data.get("new_password") or data.get("password")):
            raise ValidationError("Enter a new password.", "new_password")


class VerifySchema(BaseSchema):
    code = fields.String()


class VerifiedSchema(BaseSchema):
    message = fields.String()
    verified = fields.Boolean()


class ChangePasswordSchema(BaseSchema):
    current_password = fields.String(required=True, load_only=True)
    new_password = fields.String(required=True, load_only=True)


class PasswordChangedSchema(TokensSchema):
    message = fields.String()


class CustomerSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    customer_code = fields.String(allow_none=True)
    account_number = fields.String(dump_only=True)
    name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    national_id = fields.String(allow_none=True)
    business_name = fields.String(allow_none=True)
    location = fields.String(allow_none=True)
    address_line_1 = fields.String(allow_none=True)
    address_line_2 = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    state = fields.String(allow_none=True)
    pincode = fields.String(allow_none=True)
    date_of_birth = fields.String(allow_none=True)
    assigned_officer = fields.Integer(attribute="assigned_officer_id", allow_none=True)
    created_by = fields.Integer(attribute="created_by_id", dump_only=True)
    kyc_status = fields.Function(lambda c: c.kyc_status.value, dump_only=True)
    kyc_level = fields.Function(lambda c: c.kyc_level.value, dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class CustomerQueryArgsSchema(BaseSchema):
    """Routes pass unknown=RAISE: in 001 an unknown filter is a clear 400, not silently ignored."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    search = fields.String()
    created_by = fields.Integer()
    business_name = fields.String()
    location = fields.String()


class CustomerListSchema(BaseSchema):
    customers = fields.List(fields.Nested(CustomerSchema))
    total = fields.Integer()
    page = fields.Integer()
    pages = fields.Integer()
