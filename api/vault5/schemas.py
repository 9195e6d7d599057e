"""004's field names: camelCase, `_id` for identifiers."""

from marshmallow import fields

from api.common import BaseSchema, RoleNames

ROLES = RoleNames(borrower="user")


class LoginSchema(BaseSchema):
    identifier = fields.String(required=True)
    password = fields.String(required=True, load_only=True)


class RegisterSchema(BaseSchema):
    class Meta(BaseSchema.Meta):
        error_aliases = {"username": "primaryEmail"}

    primaryEmail = fields.String(required=True, attribute="email")
    primaryPhone = fields.String(load_default=None, allow_none=True, attribute="phone")
    password = fields.String(required=True, load_only=True)
    firstName = fields.String(load_default="")
    lastName = fields.String(load_default="")


class UserSchema(BaseSchema):
    _id = fields.Function(lambda user: str(user.id), data_key="_id")
    primaryEmail = fields.String(attribute="email")
    primaryPhone = fields.String(attribute="phone")
    firstName = fields.String(attribute="first_name")
    lastName = fields.String(attribute="last_name")
    role = fields.Function(lambda user: ROLES.to_api(user.role))
    emailVerified = fields.Boolean(attribute="email_verified")
    phoneVerified = fields.Boolean(attribute="phone_verified")
    createdAt = fields.DateTime(attribute="created_at")


class AuthResultSchema(BaseSchema):
    success = fields.Boolean()
    token = fields.String()
    refreshToken = fields.String()
    user = fields.Nested(UserSchema)


class ProfileSchema(BaseSchema):
    success = fields.Boolean()
    user = fields.Nested(UserSchema)


class ProfileUpdateSchema(BaseSchema):
    firstName = fields.String(attribute="first_name")
    lastName = fields.String(attribute="last_name")
    primaryEmail = fields.String(attribute="email", allow_none=True)
    primaryPhone = fields.String(attribute="phone", allow_none=True)


class ChangePasswordSchema(BaseSchema):
    currentPassword = fields.String(required=True, load_only=True, attribute="current_password")
    newPassword = fields.String(required=True, load_only=True, attribute="new_password")


class PasswordChangedSchema(AuthResultSchema):
    message = fields.String()
