"""002's field names."""

from marshmallow import fields

from api.common import BaseSchema, RoleNames

ROLES = RoleNames(borrower="member")


class TokenRequestSchema(BaseSchema):
    email = fields.String(required=True)
    password = fields.String(required=True, load_only=True)


class TokenPairSchema(BaseSchema):
    access = fields.String()
    refresh = fields.String()
