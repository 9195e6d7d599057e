"""All models, imported here so Alembic and the app see one metadata."""

from portal.models.api_logs import ApiLog
from portal.models.audit import AuditLog
from portal.models.auth import AuthSession, CodePurpose, OneTimeCode
from portal.models.base import db
from portal.models.customers import Customer, KycLevel, KycStatus
from portal.models.documents import CustomerDocument, DocumentKind, DocumentStatus
from portal.models.interactions import (
    DISPOSITIONS,
    ContactOutcome,
    Disposition,
    DispositionCategory,
    Interaction,
    InteractionKind,
    InteractionRevision,
    PromiseStatus,
)
from portal.models.jobs import Job, JobStatus
from portal.models.kyc import KycSubmission, KycSubmissionStatus
from portal.models.ledger import (
    DepositAccount,
    DepositKind,
    EntryKind,
    Gl,
    JournalEntry,
    Posting,
    Transaction,
    TransactionKind,
)
from portal.models.loans import (
    DisbursementChannel,
    FeeMode,
    FeeType,
    Frequency,
    Installment,
    InterestMethod,
    Loan,
    LoanProduct,
    LoanStatus,
    Payment,
    PaymentAllocation,
    PaymentSource,
    PaymentStatus,
)
from portal.models.mpesa import MpesaKind, MpesaReceipt, MpesaRequest, MpesaStatus, ReceiptStatus
from portal.models.notifications import Notification
from portal.models.users import STAFF_ROLES, Role, User

__all__ = [
    "DISPOSITIONS",
    "STAFF_ROLES",
    "ApiLog",
    "AuditLog",
    "AuthSession",
    "CodePurpose",
    "ContactOutcome",
    "Customer",
    "CustomerDocument",
    "DepositAccount",
    "DepositKind",
    "DisbursementChannel",
    "Disposition",
    "DispositionCategory",
    "DocumentKind",
    "DocumentStatus",
    "EntryKind",
    "FeeMode",
    "FeeType",
    "Frequency",
    "Gl",
    "Installment",
    "Interaction",
    "InteractionKind",
    "InteractionRevision",
    "InterestMethod",
    "Job",
    "JobStatus",
    "JournalEntry",
    "KycLevel",
    "KycStatus",
    "KycSubmission",
    "KycSubmissionStatus",
    "Loan",
    "LoanProduct",
    "LoanStatus",
    "MpesaKind",
    "MpesaReceipt",
    "MpesaRequest",
    "MpesaStatus",
    "Notification",
    "OneTimeCode",
    "Payment",
    "PaymentAllocation",
    "PaymentSource",
    "PaymentStatus",
    "Posting",
    "PromiseStatus",
    "ReceiptStatus",
    "Role",
    "Transaction",
    "TransactionKind",
    "User",
    "db",
]
