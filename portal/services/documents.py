"""Customer documents: uploads checked by their bytes, kept by content hash, read only by who may see the customer."""

import re
from datetime import date
from pathlib import PurePosixPath
from typing import BinaryIO

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.models import Customer, CustomerDocument, DocumentKind, User
from portal.models.base import db
from portal.services import audit, business_day, customers, filestore, permissions
from portal.services.errors import NotFound, ValidationFailed

# How each accepted type begins -> (content type, extension). The name a client sends proves nothing.
SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"%PDF-", "application/pdf", ".pdf"),
)
# Other names clients give a kind (001 names the field, not its values; 002 writes them in capitals).
KIND_ALIASES = {
    "id": DocumentKind.NATIONAL_ID,
    "id_card": DocumentKind.NATIONAL_ID,
    "national_id_card": DocumentKind.NATIONAL_ID,
    "photo": DocumentKind.SELFIE,
    "business_license": DocumentKind.BUSINESS_PERMIT,
    "business_licence": DocumentKind.BUSINESS_PERMIT,
    "trading_licence": DocumentKind.BUSINESS_PERMIT,
    "utility_bill": DocumentKind.PROOF_OF_ADDRESS,
    "mpesa_statement": DocumentKind.BANK_STATEMENT,
    "driving_license": DocumentKind.DRIVING_LICENCE,
    "drivers_license": DocumentKind.DRIVING_LICENCE,
    "drivers_licence": DocumentKind.DRIVING_LICENCE,
    "aadhar": DocumentKind.AADHAAR,
    "aadhaar_card": DocumentKind.AADHAAR,
    "pan_card": DocumentKind.PAN,
    "kra_pin_certificate": DocumentKind.KRA_PIN,
}
# What a number printed on each kind looks like, once spaces and hyphens are taken out.
NUMBER_FORMATS = {
    DocumentKind.NATIONAL_ID: (r"[A-Z0-9]{5,20}", "An ID number is 5 to 20 letters or digits."),
    DocumentKind.PASSPORT: (r"[A-Z0-9]{6,12}", "A passport number is 6 to 12 letters or digits."),
    DocumentKind.DRIVING_LICENCE: (r"[A-Z0-9/]{5,20}", "A licence number is 5 to 20 letters or digits."),
    DocumentKind.AADHAAR: (r"\d{12}", "An Aadhaar number is 12 digits."),
    DocumentKind.PAN: (r"[A-Z]{5}\d{4}[A-Z]", "A PAN is 5 letters, 4 digits and a letter, e.g. ABCDE1234F."),
    DocumentKind.KRA_PIN: (r"[AP]\d{9}[A-Z]", "A KRA PIN is A or P, 9 digits and a letter, e.g. A123456789B."),
}
OTHER_NUMBER = (r"[A-Z0-9/.]{1,40}", "Use at most 40 letters, digits, '/' or '.'.")
# Kinds that prove who someone is, and the kinds whose number a KYC upload must give.
IDENTITY_KINDS = frozenset({DocumentKind.NATIONAL_ID, DocumentKind.PASSPORT, DocumentKind.DRIVING_LICENCE,
                            DocumentKind.AADHAAR})
NUMBERED_KINDS = frozenset(NUMBER_FORMATS)
AUDIT_FIELDS = ["id", "customer_id", "kind", "filename", "content_type", "size_bytes", "storage_key",
                "document_number", "issue_date", "expiry_date"]


def max_bytes() -> int:
    return current_app.config["DOCUMENT_MAX_BYTES"]


def size_text(size: int) -> str:
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} bytes"


def accepted() -> str:
    """What an upload may be, as a form's hint puts it."""
    return f"JPEG, PNG or PDF, at most {size_text(max_bytes())}"


def too_large() -> ValidationFailed:
    return ValidationFailed({"file": [f"A document may be at most {size_text(max_bytes())}."]})


def kind_for(doc_type: str | None) -> DocumentKind | None:
    """The kind a client's doc_type names (its own value or an alias), or None."""
    name = re.sub(r"[\s-]+", "_", (doc_type or "").strip().lower())
    if name in KIND_ALIASES:
        return KIND_ALIASES[name]
    try:
        return DocumentKind(name)
    except ValueError:
        return None


def sniff(data: bytes) -> tuple[str, str] | None:
    """(content type, extension) of a JPEG, PNG or PDF by its first bytes; None for anything else."""
    return next(((kind, ext) for magic, kind, ext in SIGNATURES if data.startswith(magic)), None)


def display_name(raw: str | None, extension: str) -> str:
    """The name shown and offered on download: no folders, no control characters, the real type's extension
    (so a PDF named page.html is never saved as HTML)."""
    stem = PurePosixPath(PurePosixPath((raw or "").replace("\\", "/")).name).stem
    stem = re.sub(r"[\x00-\x1f\x7f]", "", stem).strip(" .") or "document"
    return stem[:200 - len(extension)] + extension


def clean_number(kind: DocumentKind | None, raw) -> str | None:
    """A document number as stored (capitals, no spaces or hyphens); ValueError when it cannot be one."""
    value = re.sub(r"[\s-]", "", str(raw or "")).upper()
    if not value:
        return None
    pattern, message = NUMBER_FORMATS.get(kind, OTHER_NUMBER)
    if not re.fullmatch(pattern, value):
        raise ValueError(message)
    return value


def clean_date(raw) -> date | None:
    if raw is None or isinstance(raw, date):
        return raw
    text = str(raw).strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError("Enter the date as YYYY-MM-DD.") from None


def _details(kind: DocumentKind | None, document_number, issue_date, expiry_date, *, number_required: bool,
             errors: dict[str, list[str]]) -> tuple[str | None, date | None, date | None]:
    """The number and dates printed on a document, checked; problems go into `errors` by field."""
    number = issued = expires = None
    try:
        number = clean_number(kind, document_number)
        if number is None and number_required and kind in NUMBERED_KINDS:
            errors["document_number"] = [f"Give the number printed on the {kind.label}."]
    except ValueError as exc:
        errors["document_number"] = [str(exc)]
    for key, raw in (("issue_date", issue_date), ("expiry_date", expiry_date)):
        try:
            value = clean_date(raw)
        except ValueError as exc:
            errors[key] = [str(exc)]
            continue
        if key == "issue_date":
            issued = value
        else:
            expires = value
    if issued is not None and issued > business_day.today():
        errors["issue_date"] = ["The issue date cannot be in the future."]
    if issued is not None and expires is not None and expires <= issued:
        errors["expiry_date"] = ["The expiry date must come after the issue date."]
    return number, issued, expires


def upload(customer: Customer, *, doc_type: str | None, filename: str | None, content: BinaryIO | None,
           actor: User, document_number=None, issue_date=None, expiry_date=None,
           number_required: bool = False) -> CustomerDocument:
    """Keep a JPEG, PNG or PDF of at most DOCUMENT_MAX_BYTES for `customer`, with what is printed on it
    (with `number_required`, identity and tax documents must give their number)."""
    permissions.require(actor, "document.upload")
    customers.ensure_visible(customer, actor)
    kind = kind_for(doc_type)
    limit = max_bytes()
    data = content.read(limit + 1) if content is not None else b""
    errors: dict[str, list[str]] = {}
    if kind is None:
        errors["doc_type"] = [f"Choose one of {', '.join(k.value for k in DocumentKind)}."]
    signature = sniff(data)
    if not data:
        errors["file"] = ["Attach the document as a file."]
    elif len(data) > limit:
        errors.update(too_large().errors)
    elif signature is None:
        errors["file"] = ["Upload a JPEG, PNG or PDF file."]
    number, issued, expires = _details(kind, document_number, issue_date, expiry_date,
                                       number_required=number_required, errors=errors)
    if errors:
        raise ValidationFailed(errors)
    content_type, extension = signature
    document = CustomerDocument(customer_id=customer.id, kind=kind, filename=display_name(filename, extension),
                                content_type=content_type, size_bytes=len(data), storage_key=filestore.put(data),
                                uploaded_by_id=actor.id, document_number=number, issue_date=issued,
                                expiry_date=expires)
    db.session.add(document)
    db.session.flush()
    audit.record(actor, "customer_document.upload", "customer_document", document.id,
                 after=audit.snapshot(document, AUDIT_FIELDS))
    return document


def for_customer(customer: Customer, *, actor: User) -> list[CustomerDocument]:
    """A customer's documents, newest first (one query)."""
    permissions.require(actor, "customer.view")
    customers.ensure_visible(customer, actor)
    return list(db.session.scalars(
        select(CustomerDocument).where(CustomerDocument.customer_id == customer.id)
        .options(joinedload(CustomerDocument.uploaded_by))
        .order_by(CustomerDocument.created_at.desc(), CustomerDocument.id.desc())))


def read(customer_id: int | None, document_id: int, *, actor: User) -> tuple[CustomerDocument, bytes]:
    """A document and its bytes, for someone who may see its customer (of `customer_id`, when given)."""
    permissions.require(actor, "customer.view")
    document = db.session.get(CustomerDocument, document_id, options=[joinedload(CustomerDocument.customer)])
    if document is None or customer_id not in (None, document.customer_id):
        raise NotFound("Document not found.")
    customers.ensure_visible(document.customer, actor)
    return document, filestore.read(document.storage_key)
