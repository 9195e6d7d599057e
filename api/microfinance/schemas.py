"""000's field names (roles: `client` is a borrower profile, `user` a staff loan officer)."""

from marshmallow import ValidationError, fields, validate, validates_schema

from api.common import BaseSchema, MoneyField, RoleNames

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


def _local(moment):
    from zoneinfo import ZoneInfo

    from flask import current_app

    return moment.astimezone(ZoneInfo(current_app.config["DISPLAY_TIMEZONE"]))


TYPE_NAMES = {"deposit": "deposit", "withdrawal": "withdrawal", "loan_repayment": "loan repayment",
              "disbursement": "disbursement"}


class TransactionSchema(BaseSchema):
    id = fields.Integer()
    code = fields.String()
    user_id = fields.Integer(attribute="customer_id")
    amount = MoneyField()
    type = fields.Function(lambda t: TYPE_NAMES[t.kind.value])
    source = fields.String()
    time = fields.Function(lambda t: _local(t.created_at).strftime("%H:%M:%S"))
    date = fields.Function(lambda t: "{0.day}/{0.month}/{0.year}".format(_local(t.created_at)))
    balance = MoneyField(attribute="balance_after")


class DisbursementSchema(TransactionSchema):
    by = fields.Integer(attribute="created_by_id")


class MoneyRequestSchema(BaseSchema):
    amount = MoneyField(required=True)
    source = fields.String(load_default="mpesa", validate=validate.OneOf(["mpesa", "account", "cash"]))


class DisburseRequestSchema(BaseSchema):
    amount = MoneyField()
    destination = fields.String(load_default="mpesa", validate=validate.OneOf(["mpesa", "account"]))


class LoanDetailSchema(BaseSchema):
    loan_id = fields.Integer(attribute="id")
    loan_number = fields.String()
    loan_amount = MoneyField(attribute="principal")
    repayment_schedule = fields.Function(lambda loan: loan.frequency.value)
    outstanding_amount = MoneyField(attribute="outstanding_balance")
    status = fields.Function(lambda loan: loan.status.value)


class LoanDetailsSchema(LoanDetailSchema):
    """The current loan's details at the top level (as 000 shows one), every loan in `loans`."""

    user_id = fields.Integer()
    loans = fields.List(fields.Nested(LoanDetailSchema))


class LoanDetailsQueryArgsSchema(BaseSchema):
    status = fields.String(validate=validate.OneOf(["pending", "approved", "rejected", "disbursed", "closed",
                                                    "written_off"]))
