"""003's field names."""

from marshmallow import fields, validate

from api.common import BaseSchema, RoleNames

ROLES = RoleNames()


class TokenRequestSchema(BaseSchema):
    username = fields.String(required=True)
    password = fields.String(required=True, load_only=True)


class TokenPairSchema(BaseSchema):
    access = fields.String()
    refresh = fields.String()


class RefreshRequestSchema(BaseSchema):
    refresh = fields.String(required=True)


class AccessSchema(BaseSchema):
    access = fields.String()


class UserRegisterSchema(BaseSchema):
    username = fields.String(required=True)
    password = fields.String(required=True, load_only=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    first_name = fields.String(load_default="")
    last_name = fields.String(load_default="")
    role = fields.String(load_default="borrower", validate=validate.OneOf(ROLES.choices()))
    manager = fields.Integer(allow_none=True, load_default=None)


class UserSchema(BaseSchema):
    id = fields.Integer()
    username = fields.String()
    email = fields.String()
    role = fields.Function(lambda user: ROLES.to_api(user.role))
    manager = fields.Integer(attribute="manager_id")


class CustomerSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    customer_code = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    assigned_collection_officer = fields.Integer(attribute="assigned_officer_id", allow_none=True)
    address_line_1 = fields.String(allow_none=True)
    address_line_2 = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    state = fields.String(allow_none=True)
    pincode = fields.String(allow_none=True)
    date_of_birth = fields.String(allow_none=True)


class CustomerQueryArgsSchema(BaseSchema):
    search = fields.String()
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    page_size = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class LogSchema(BaseSchema):
    id = fields.Integer()
    user = fields.Integer(attribute="user_id")
    method = fields.String()
    endpoint = fields.String()
    request_payload = fields.String()
    response_payload = fields.String()
    status_code = fields.Integer()
    created_at = fields.DateTime()


class LogQueryArgsSchema(BaseSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    page_size = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
