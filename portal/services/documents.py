"""Customer documents: uploads checked by their bytes, kept by content hash, read only by who may see the customer."""

import re
from pathlib import PurePosixPath
from typing import BinaryIO

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.models import Customer, CustomerDocument, DocumentKind, User
from portal.models.base import db
from portal.services import audit, customers, filestore, permissions
from portal.services.errors import NotFound, ValidationFailed

# How each accepted type begins -> (content type, extension). The name a client sends proves nothing.
SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"%PDF-", "application/pdf", ".pdf"),
)
# Other names clients give a kind (001 names the field, not its values). Kinds Mkopo has no
# value for yet (a KRA PIN certificate, a driving licence) are kept as "other".
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
    "kra_pin": DocumentKind.OTHER,
    "driving_licence": DocumentKind.OTHER,
    "driving_license": DocumentKind.OTHER,
}
AUDIT_FIELDS = ["id", "customer_id", "kind", "filename", "content_type", "size_bytes", "storage_key"]


def max_bytes() -> int:
    return current_app.config["DOCUMENT_MAX_BYTES"]


def size_text(size: int) -> str:
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} bytes"


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


def upload(customer: Customer, *, doc_type: str | None, filename: str | None, content: BinaryIO | None,
           actor: User) -> CustomerDocument:
    """Keep a JPEG, PNG or PDF of at most DOCUMENT_MAX_BYTES for `customer`."""
    permissions.require(actor, "customer.update")
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
    if errors:
        raise ValidationFailed(errors)
    content_type, extension = signature
    document = CustomerDocument(customer_id=customer.id, kind=kind, filename=display_name(filename, extension),
                                content_type=content_type, size_bytes=len(data), storage_key=filestore.put(data),
                                uploaded_by_id=actor.id)
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


def read(customer_id: int, document_id: int, *, actor: User) -> tuple[CustomerDocument, bytes]:
    """A document and its bytes, for someone who may see its customer."""
    permissions.require(actor, "customer.view")
    document = db.session.get(CustomerDocument, document_id, options=[joinedload(CustomerDocument.customer)])
    if document is None or document.customer_id != customer_id:
        raise NotFound("Document not found.")
    customers.ensure_visible(document.customer, actor)
    return document, filestore.read(document.storage_key)
