"""002's field names."""

from flask import url_for
from flask_smorest.fields import Upload
from marshmallow import fields, validate

from api.chamahub.pagination import ListArgsSchema, page_schema
from api.common import BaseSchema, RoleNames
from portal.services.business_day import today as business_today

ROLES = RoleNames(borrower="member")


class TokenRequestSchema(BaseSchema):
    email = fields.String(required=True)
    password = fields.String(required=True, load_only=True)


class TokenPairSchema(BaseSchema):
    access = fields.String()
    refresh = fields.String()


# --- KYC (/api/v1/kyc/): 002 names the upload's fields; the rest follows them in snake_case, enums in capitals ---


def _file_url(document) -> str:
    return url_for("chamahub_kyc_documents.file", document_id=document.id, _external=True)


def _upper(value) -> str | None:
    return None if value is None else value.value.upper()


class KycDocumentUploadSchema(BaseSchema):
    """multipart/form-data; the file is read from the request's files (webargs reads one location each)."""

    document_type = fields.String(required=True, attribute="doc_type", metadata={
        "description": "NATIONAL_ID, PASSPORT, DRIVING_LICENCE, AADHAAR, KRA_PIN, PAN, SELFIE, UTILITY_BILL "
                       "(or PROOF_OF_ADDRESS), BUSINESS_PERMIT, BANK_STATEMENT, OTHER"})
    document_number = fields.String(load_default=None, metadata={
        "description": "Required for identity and tax documents"})
    issue_date = fields.String(load_default=None, metadata={"description": "YYYY-MM-DD"})
    expiry_date = fields.String(load_default=None, metadata={"description": "YYYY-MM-DD"})
    customer = fields.Integer(load_default=None, metadata={
        "description": "Staff: the customer the document belongs to (a member uploads their own)"})
    document_file = Upload(attribute="file", metadata={
        "description": "JPEG, PNG or PDF (checked by content), at most DOCUMENT_MAX_BYTES (5 MB unless configured)"})


class KycDocumentSchema(BaseSchema):
    id = fields.Integer()
    customer = fields.Integer(attribute="customer_id")
    user = fields.Function(lambda d: d.customer.user_id)
    document_type = fields.Function(lambda d: _upper(d.kind))
    document_number = fields.String()
    document_file = fields.Function(_file_url)
    file_name = fields.String(attribute="filename")
    content_type = fields.String()
    file_size = fields.Integer(attribute="size_bytes")
    issue_date = fields.Date()
    expiry_date = fields.Date()
    is_expired = fields.Function(lambda d: d.expired_on(business_today()))
    status = fields.Function(lambda d: _upper(d.status))
    rejection_reason = fields.String()
    verification = fields.Integer(attribute="submission_id", metadata={"description": "Its verification workflow"})
    verified_by = fields.Integer(attribute="reviewed_by_id")
    verified_at = fields.DateTime(attribute="reviewed_at")
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class BiometricDataSchema(BaseSchema):
    """Mkopo's biometric data are face photos (selfies) kept as documents; it holds no fingerprints."""

    id = fields.Integer()
    customer = fields.Integer(attribute="customer_id")
    user = fields.Function(lambda d: d.customer.user_id)
    biometric_type = fields.Constant("FACE")
    document = fields.Function(lambda d: d.id)
    image = fields.Function(_file_url)
    content_type = fields.String()
    status = fields.Function(lambda d: _upper(d.status))
    verification = fields.Integer(attribute="submission_id")
    captured_at = fields.DateTime(attribute="created_at")


class VerificationWorkflowQueryArgsSchema(ListArgsSchema):
    status = fields.String(load_default=None, validate=validate.OneOf(["PENDING", "APPROVED", "REJECTED"]))


class VerificationWorkflowSchema(BaseSchema):
    id = fields.Integer()
    customer = fields.Integer(attribute="customer_id")
    user = fields.Function(lambda s: s.customer.user_id)
    status = fields.Function(lambda s: _upper(s.status))
    kyc_level = fields.Function(lambda s: s.kyc_level.value if s.kyc_level else None)
    customer_kyc_status = fields.Function(lambda s: _upper(s.customer.kyc_status))
    documents = fields.Function(lambda s: [d.id for d in s.documents])
    submitted_by = fields.Integer(attribute="submitted_by_id")
    submitted_at = fields.DateTime(attribute="created_at")
    reviewed_by = fields.Integer(attribute="decided_by_id")
    reviewed_at = fields.DateTime(attribute="decided_at")
    rejection_reason = fields.String(attribute="reason")
    notes = fields.String()


KycDocumentPageSchema = page_schema(KycDocumentSchema)
BiometricDataPageSchema = page_schema(BiometricDataSchema)
VerificationWorkflowPageSchema = page_schema(VerificationWorkflowSchema)
