"""004's field names: camelCase, `_id` for identifiers."""

from marshmallow import fields, validate

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


# --- Admin (/v1/admin/): users and the KYC queue -----------------------------------------------------------------


def user_ref(customer) -> str:
    """The {userId} a KYC decision is addressed to: the customer's login, or, for a customer without one,
    "customer-<id>" (004's ids are opaque strings)."""
    return str(customer.user_id) if customer.user_id else f"customer-{customer.id}"


class AdminListArgsSchema(BaseSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    search = fields.String(load_default=None)


class AdminUsersArgsSchema(AdminListArgsSchema):
    role = fields.String(load_default=None, validate=validate.OneOf(ROLES.choices()))
    kycStatus = fields.String(load_default=None, attribute="kyc_status",
                              validate=validate.OneOf(["unverified", "pending", "verified", "rejected"]))


class PaginationSchema(BaseSchema):
    page = fields.Integer()
    limit = fields.Integer(attribute="per_page")
    total = fields.Integer()
    pages = fields.Integer()


class AdminUserSchema(BaseSchema):
    """A user with the KYC of the customer record they are (borrowers); staff have none."""

    _id = fields.Function(lambda row: str(row.user.id), data_key="_id")
    primaryEmail = fields.String(attribute="user.email")
    primaryPhone = fields.String(attribute="user.phone")
    firstName = fields.String(attribute="user.first_name")
    lastName = fields.String(attribute="user.last_name")
    role = fields.Function(lambda row: ROLES.to_api(row.user.role))
    isActive = fields.Boolean(attribute="user.is_active")
    emailVerified = fields.Boolean(attribute="user.email_verified")
    phoneVerified = fields.Boolean(attribute="user.phone_verified")
    createdAt = fields.DateTime(attribute="user.created_at")
    customerId = fields.Function(lambda row: str(row.customer.id) if row.customer else None)
    kycStatus = fields.Function(lambda row: row.customer.kyc_status.value if row.customer else None)
    kycLevel = fields.Function(lambda row: row.customer.kyc_level.value if row.customer else None)


class AdminUsersSchema(BaseSchema):
    success = fields.Boolean()
    users = fields.List(fields.Nested(AdminUserSchema))
    pagination = fields.Nested(PaginationSchema)


class KycDocumentSchema(BaseSchema):
    _id = fields.Function(lambda d: str(d.id), data_key="_id")
    type = fields.Function(lambda d: d.kind.value)
    number = fields.String(attribute="document_number")
    issueDate = fields.Date(attribute="issue_date")
    expiryDate = fields.Date(attribute="expiry_date")
    status = fields.Function(lambda d: d.status.value)
    fileName = fields.String(attribute="filename")
    contentType = fields.String(attribute="content_type")
    size = fields.Integer(attribute="size_bytes")
    uploadedAt = fields.DateTime(attribute="created_at")


class KycFlagSchema(BaseSchema):
    code = fields.String()
    message = fields.String()
    documentId = fields.Function(lambda f: str(f.document_id) if f.document_id else None)
    otherCustomerIds = fields.Function(lambda f: [str(i) for i, _code in f.others])


class KycQueueItemSchema(BaseSchema):
    _id = fields.Function(lambda r: str(r.submission.id), data_key="_id")
    userId = fields.Function(lambda r: user_ref(r.customer))
    customerId = fields.Function(lambda r: str(r.customer.id))
    customerCode = fields.String(attribute="customer.customer_code")
    name = fields.String(attribute="customer.name")
    primaryPhone = fields.String(attribute="customer.phone")
    primaryEmail = fields.String(attribute="customer.email")
    nationalId = fields.String(attribute="customer.national_id")
    dateOfBirth = fields.Date(attribute="customer.date_of_birth")
    kycStatus = fields.Function(lambda r: r.customer.kyc_status.value)
    kycLevel = fields.Function(lambda r: r.customer.kyc_level.value)
    submittedAt = fields.DateTime(attribute="submission.created_at")
    submittedBy = fields.Function(lambda r: str(r.submission.submitted_by_id) if r.submission.submitted_by_id
                                  else None)
    documents = fields.List(fields.Nested(KycDocumentSchema))
    flags = fields.List(fields.Nested(KycFlagSchema))


class KycQueueSchema(BaseSchema):
    success = fields.Boolean()
    queue = fields.List(fields.Nested(KycQueueItemSchema))
    pagination = fields.Nested(PaginationSchema)


class KycApproveSchema(BaseSchema):
    kycLevel = fields.String(required=True, attribute="kyc_level", metadata={"description": "tier_1, tier_2 or tier_3"})
    approvedDocuments = fields.List(fields.Raw(), required=True, attribute="approved_documents", metadata={
        "description": "The documents accepted: their _id, or their type (passport, national_id ...)"})
    notes = fields.String(load_default=None, allow_none=True)


class KycRejectSchema(BaseSchema):
    reason = fields.String(required=True, metadata={"description": "Told to the customer"})
    notes = fields.String(load_default=None, allow_none=True, metadata={"description": "Told to the customer too"})


class KycDecisionSchema(BaseSchema):
    _id = fields.Function(lambda s: str(s.id), data_key="_id")
    userId = fields.Function(lambda s: user_ref(s.customer))
    customerId = fields.Function(lambda s: str(s.customer_id))
    status = fields.Function(lambda s: s.status.value)
    kycStatus = fields.Function(lambda s: s.customer.kyc_status.value)
    kycLevel = fields.Function(lambda s: s.customer.kyc_level.value)
    approvedDocuments = fields.Function(lambda s: [str(d.id) for d in s.documents if d.status.value == "approved"])
    reason = fields.String()
    notes = fields.String()
    reviewedBy = fields.Function(lambda s: str(s.decided_by_id) if s.decided_by_id else None)
    reviewedAt = fields.DateTime(attribute="decided_at")


class KycDecisionResultSchema(BaseSchema):
    success = fields.Boolean()
    message = fields.String()
    kyc = fields.Nested(KycDecisionSchema)
