"""All models, imported here so Alembic and the app see one metadata."""

from portal.models.api_logs import ApiLog
from portal.models.audit import AuditLog
from portal.models.auth import AuthSession, CodePurpose, OneTimeCode
from portal.models.base import db
from portal.models.customers import Customer, KycLevel, KycStatus
from portal.models.notifications import Notification
from portal.models.users import STAFF_ROLES, Role, User

__all__ = [
    "STAFF_ROLES",
    "ApiLog",
    "AuditLog",
    "AuthSession",
    "CodePurpose",
    "Customer",
    "KycLevel",
    "KycStatus",
    "Notification",
    "OneTimeCode",
    "Role",
    "User",
    "db",
]
