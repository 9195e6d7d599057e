"""000's field names (roles: `client` is a borrower profile, `user` a staff loan officer)."""

from marshmallow import ValidationError, fields, validate, validates_schema

from api.common import BaseSchema, RoleNames

ROLES = RoleNames(loan_officer="user", borrower="client")


class TokenRequestSchema(BaseSchema):
    username = fields.String(required=True)
    password = fields.String(required=True, load_only=True)


class TokenSchema(BaseSchema):
    token = fields.String()


class ProfileRequestSchema(BaseSchema):
    name = fields.String(required=True)
    email = fields.String(allow_none=True)
    role = fields.String(required=True, validate=validate.OneOf(["client", "user"]))
    id_number = fields.String(allow_none=True, attribute="national_id")
    phone = fields.String(allow_none=True)
    password = fields.String(load_only=True)

    @validates_schema
    def staff_need_email(self, data, **kwargs):
        if data.get("role") == "user" and not data.get("email"):
            raise ValidationError("A staff profile needs an e-mail: it is their username.", "email")


class ClientProfileSchema(BaseSchema):
    id = fields.Integer()
    name = fields.String()
    email = fields.String()
    role = fields.Constant("client")
    account_number = fields.String(data_key="a/c")


class UserProfileSchema(BaseSchema):
    id = fields.Integer()
    name = fields.String(attribute="full_name")
    email = fields.String()
    role = fields.Function(lambda user: ROLES.to_api(user.role))
