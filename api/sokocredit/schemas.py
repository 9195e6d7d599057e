"""001's field names (snake_case; roles admin, lender, mama_mboga)."""

from flask_smorest.fields import Upload
from marshmallow import ValidationError, fields, validate, validates_schema

from api.common import BaseSchema, MoneyField, RateField, RoleNames
from portal.services import business_day

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
    has_documents = fields.Boolean(metadata={"description": "true: only customers with a document; false: without"})
    format = fields.String(validate=validate.OneOf(["csv", "excel"]),
                           metadata={"description": "csv or excel: the whole filtered listing as a file "
                                                    "(page and per_page do not apply)"})


class CustomerListSchema(BaseSchema):
    customers = fields.List(fields.Nested(CustomerSchema))
    total = fields.Integer()
    page = fields.Integer()
    pages = fields.Integer()


class DocumentUploadSchema(BaseSchema):
    """multipart/form-data; the file is read from the request's files (webargs reads one location each)."""

    doc_type = fields.String(required=True, metadata={
        "description": "national_id (or id, id_card), passport, driving_licence, kra_pin, aadhaar, pan, "
                       "selfie (or photo), business_permit (or business_license), proof_of_address "
                       "(or utility_bill), bank_statement (or mpesa_statement), other"})
    file = Upload(metadata={"description": "JPEG, PNG or PDF (checked by content), at most "
                                                    "DOCUMENT_MAX_BYTES (5 MB unless configured)"})


class DocumentSchema(BaseSchema):
    id = fields.Integer()
    customer_id = fields.Integer()
    doc_type = fields.Function(lambda d: d.kind.value)
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer(attribute="size_bytes")
    status = fields.Function(lambda d: d.status.value)
    uploaded_by = fields.Integer(attribute="uploaded_by_id")
    created_at = fields.DateTime()


class LoanSchema(BaseSchema):
    id = fields.Integer()
    loan_number = fields.String()
    customer_id = fields.Integer()
    product_id = fields.Integer()
    amount = MoneyField(attribute="principal")
    interest_rate = RateField(attribute="annual_rate")
    interest_method = fields.Function(lambda loan: loan.interest_method.value)
    term = fields.Integer(attribute="term_periods")
    frequency = fields.Function(lambda loan: loan.frequency.value)
    fee = MoneyField(attribute="fee_amount")
    purpose = fields.String()
    status = fields.Function(lambda loan: loan.status.value)
    co_borrowers = fields.Function(lambda loan: [c.id for c in loan.co_borrowers])
    outstanding_balance = MoneyField()
    days_past_due = fields.Integer()
    rejection_reason = fields.String()
    disbursement_channel = fields.Function(
        lambda loan: loan.disbursement_channel.value if loan.disbursement_channel else None)
    created_at = fields.DateTime()
    decided_at = fields.DateTime()
    disbursed_at = fields.DateTime()


class LoanApplySchema(BaseSchema):
    product_id = fields.Integer(required=True)
    amount = MoneyField(required=True, attribute="principal")
    term = fields.Integer(attribute="term_periods")
    purpose = fields.String(load_default="")
    customer_id = fields.Integer()
    co_borrowers = fields.List(fields.Integer(), load_default=list)


class LoanQueryArgsSchema(BaseSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    status = fields.String(validate=validate.OneOf(["pending", "approved", "rejected", "disbursed", "closed",
                                                    "written_off"]))


class LoanListSchema(BaseSchema):
    loans = fields.List(fields.Nested(LoanSchema))
    total = fields.Integer()
    page = fields.Integer()
    pages = fields.Integer()


class RejectSchema(BaseSchema):
    reason = fields.String(required=True)


class DisburseSchema(BaseSchema):
    channel = fields.String(load_default="mpesa", validate=validate.OneOf(["mpesa", "savings"]))


class StatusSchema(BaseSchema):
    status = fields.String()
    service = fields.String()


class ProductSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    name = fields.String()
    interest_method = fields.String(validate=validate.OneOf(["flat", "declining"]))
    annual_rate = fields.Decimal(as_string=True)
    frequency = fields.String(validate=validate.OneOf(["daily", "weekly", "fortnightly", "monthly"]))
    term_periods = fields.Integer()
    min_principal = MoneyField()
    max_principal = MoneyField()
    fee_type = fields.String(validate=validate.OneOf(["fixed", "percent"]))
    fee_value = fields.Decimal(as_string=True)
    fee_mode = fields.String(validate=validate.OneOf(["deducted", "added"]))
    penalty_rate = fields.Decimal(as_string=True)
    grace_days = fields.Integer()
    active = fields.Boolean()


class ScheduleItemSchema(BaseSchema):
    loan_id = fields.Integer()
    loan_number = fields.Function(lambda inst: inst.loan.loan_number)
    installment = fields.Integer(attribute="number")
    due_date = fields.Date()
    amount_due = MoneyField(attribute="total_due")
    amount_paid = MoneyField(attribute="total_paid")
    balance = MoneyField(attribute="outstanding")
    status = fields.Function(lambda inst: inst.state(business_day.today()))


class ScheduleListSchema(BaseSchema):
    schedules = fields.List(fields.Nested(ScheduleItemSchema))


class RepaymentSchema(BaseSchema):
    id = fields.Integer()
    loan_id = fields.Integer()
    customer_id = fields.Integer()
    amount = MoneyField()
    mpesa_code = fields.String(attribute="receipt")
    phone_number = fields.String(attribute="phone")
    source = fields.Function(lambda p: p.source.value)
    status = fields.Function(lambda p: p.status.value)
    overpayment = MoneyField()
    received_at = fields.DateTime()


class RepaymentQueryArgsSchema(BaseSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    status = fields.String(validate=validate.OneOf(["applied", "unmatched", "reversed"]))


class RepaymentListSchema(BaseSchema):
    repayments = fields.List(fields.Nested(RepaymentSchema))
    total = fields.Integer()
    page = fields.Integer()
    pages = fields.Integer()


class WebhookSchema(BaseSchema):
    phone_number = fields.String(required=True)
    amount_paid = MoneyField(required=True)
    mpesa_code = fields.String(required=True, validate=validate.Length(min=6, max=40))
    account_reference = fields.String()


class WebhookResultSchema(BaseSchema):
    message = fields.String()
    duplicate = fields.Boolean()
    mpesa_code = fields.String(attribute="receipt")
    amount_paid = MoneyField(attribute="amount")
    status = fields.String(metadata={"description": "pending: recorded, being booked (within a second or so); "
                                                    "booked: see repayment; failed: held for staff to look at"})
    repayment = fields.Nested(RepaymentSchema, attribute="payment", allow_none=True)
