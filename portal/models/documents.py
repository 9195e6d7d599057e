"""Files kept about a customer (KYC documents and the like), stored by content hash."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import TimestampMixin, UTCDateTime, db, enum_column
from portal.models.customers import Customer
from portal.models.kyc import KycSubmission
from portal.models.users import User


class DocumentKind(StrEnum):
    NATIONAL_ID = "national_id"
    PASSPORT = "passport"
    DRIVING_LICENCE = "driving_licence"
    AADHAAR = "aadhaar"
    KRA_PIN = "kra_pin"  # Kenya's tax PIN certificate
    PAN = "pan"  # India's tax card
    SELFIE = "selfie"
    BUSINESS_PERMIT = "business_permit"
    PROOF_OF_ADDRESS = "proof_of_address"
    BANK_STATEMENT = "bank_statement"
    OTHER = "other"

    @property
    def label(self) -> str:
        return KIND_LABELS.get(self, self.value.replace("_", " ").capitalize())


KIND_LABELS = {DocumentKind.NATIONAL_ID: "National ID", DocumentKind.DRIVING_LICENCE: "Driving licence",
               DocumentKind.KRA_PIN: "KRA PIN certificate", DocumentKind.PAN: "PAN card",
               DocumentKind.PROOF_OF_ADDRESS: "Proof of address (utility bill)"}


class DocumentStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class CustomerDocument(TimestampMixin, db.Model):
    __tablename__ = "customer_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    kind: Mapped[DocumentKind] = mapped_column(enum_column(DocumentKind, 30))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int]
    storage_key: Mapped[str] = mapped_column(String(80))
    status: Mapped[DocumentStatus] = mapped_column(enum_column(DocumentStatus), default=DocumentStatus.PENDING,
                                                   index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    # What is printed on the document: duplicates across customers and expiry are KYC flags.
    document_number: Mapped[str | None] = mapped_column(String(40), index=True)
    issue_date: Mapped[date | None]
    expiry_date: Mapped[date | None]
    # The KYC review it was sent with (None: uploaded but not submitted, or from before KYC reviews).
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("kyc_submissions.id", ondelete="SET NULL"),
                                                      index=True)

    customer: Mapped[Customer] = relationship()
    uploaded_by: Mapped[User | None] = relationship(foreign_keys=[uploaded_by_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])
    submission: Mapped[KycSubmission | None] = relationship(back_populates="documents")

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")

    def expired_on(self, day: date) -> bool:
        return self.expiry_date is not None and self.expiry_date < day

    def __repr__(self) -> str:
        return f"<CustomerDocument {self.id} {self.kind} customer={self.customer_id}>"
