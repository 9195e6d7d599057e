"""003's field names."""

from marshmallow import ValidationError, fields, missing, post_dump, validate

from api.common import BaseSchema, MoneyField, RateField, RoleNames

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


class AttributeString(fields.String):
    """A string read straight off the object's attribute: marshmallow's accessor (which also reads dict keys
    and dotted paths) and formatting are most of a field's cost, and a page of 500 customers is 6,000 fields."""

    def serialize(self, attr, obj, accessor=None, **kwargs):
        value = getattr(obj, self.attribute or attr, missing)
        return value if value is None or value is missing else str(value)


class AttributeInteger(fields.Integer):
    """An integer read straight off the object's attribute, as AttributeString."""

    def serialize(self, attr, obj, accessor=None, **kwargs):
        value = getattr(obj, self.attribute or attr, missing)
        return value if value is None or value is missing else int(value)


class CustomerSchema(BaseSchema):
    id = AttributeInteger(dump_only=True)
    customer_code = AttributeString(allow_none=True)
    name = AttributeString(allow_none=True)
    phone = AttributeString(allow_none=True)
    email = AttributeString(allow_none=True)
    assigned_collection_officer = AttributeInteger(attribute="assigned_officer_id", allow_none=True)
    address_line_1 = AttributeString(allow_none=True)
    address_line_2 = AttributeString(allow_none=True)
    city = AttributeString(allow_none=True)
    state = AttributeString(allow_none=True)
    pincode = AttributeString(allow_none=True)
    date_of_birth = AttributeString(allow_none=True)


class PagedArgsSchema(BaseSchema):
    """003's paging, and the total on request: counting reads every row the listing admits, where a page
    reads only its own (the Link header says whether another page follows)."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    page_size = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    total = fields.Boolean(load_default=False, metadata={"description": "also answer the total in X-Total-Count"})


class CustomerQueryArgsSchema(PagedArgsSchema):
    search = fields.String()


class LogSchema(BaseSchema):
    id = fields.Integer()
    user = fields.Integer(attribute="user_id")
    method = fields.String()
    endpoint = fields.String()
    request_payload = fields.String()
    response_payload = fields.String()
    status_code = fields.Integer()
    created_at = fields.DateTime()


class LogQueryArgsSchema(PagedArgsSchema):
    page_size = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class LoanSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    loan_account_number = fields.String(attribute="loan_number", allow_none=True)
    principal_amount = MoneyField(attribute="principal")
    interest_rate = RateField(attribute="annual_rate")
    loan_type = fields.String(allow_none=True)
    tenure_months = fields.Integer(attribute="term_periods", validate=validate.Range(min=1, max=600))
    loan_date = fields.Date(attribute="application_date")
    customer = fields.Integer(attribute="customer_id")
    co_borrowers = fields.Method("co_borrower_ids", deserialize="load_ids")
    status = fields.Function(lambda loan: loan.status.value, dump_only=True)

    def co_borrower_ids(self, loan):
        return [c.id for c in loan.co_borrowers]

    def load_ids(self, value):
        if not isinstance(value, list) or not all(isinstance(v, int) for v in value):
            raise ValidationError("Give a list of customer ids.")
        return value


class LoanCreateSchema(LoanSchema):
    principal_amount = MoneyField(attribute="principal", required=True)
    interest_rate = RateField(attribute="annual_rate", required=True)
    tenure_months = fields.Integer(attribute="term_periods", required=True, validate=validate.Range(min=1, max=600))
    customer = fields.Integer(attribute="customer_id", required=True)


LoanQueryArgsSchema = PagedArgsSchema  # 003's loan list takes the paging alone


class InteractionSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    loan = fields.Integer(attribute="loan_id")
    comment = fields.String(allow_none=True)
    disposition = fields.String(attribute="disposition_code")
    timestamp = fields.DateTime(attribute="created_at", dump_only=True)
    next_call_date = fields.Raw(allow_none=True)
    created_by = fields.Integer(attribute="created_by_id", dump_only=True)
    interaction_type = fields.Function(lambda i: i.kind.value, dump_only=True)
    contact_outcome = fields.Function(lambda i: i.contact_outcome.value if i.contact_outcome else None,
                                      deserialize=lambda value: value, allow_none=True)
    promise_amount = MoneyField(allow_none=True)
    promise_date = fields.Raw(allow_none=True)
    # Settled by the nightly job: pending, kept, partially_kept or broken.
    promise_status = fields.Function(lambda i: i.promise_status.value if i.promise_status else None, dump_only=True)
    promise_paid = MoneyField(dump_only=True, allow_none=True)
    latitude = fields.Raw(allow_none=True)
    longitude = fields.Raw(allow_none=True)

    @post_dump
    def iso_dates(self, data, **kwargs):
        for key in ("next_call_date", "promise_date"):
            if data.get(key) is not None:
                data[key] = str(data[key])
        for key in ("latitude", "longitude"):
            if data.get(key) is not None:
                data[key] = f"{data[key]:f}"
        return data


class InteractionCreateSchema(InteractionSchema):
    loan = fields.Integer(attribute="loan_id", required=True)
    disposition = fields.String(attribute="disposition_code", required=True)
