"""004 Vault5 admin routes: /v1/admin/users and the KYC queue with its decisions.

Mkopo's reviewers are admins and managers (a manager: their team's customers), as in the portal.
A decision is addressed to {userId}: the customer's borrower login, or "customer-<id>" for a customer
without one (the queue gives each entry's userId).
"""

import re

from flask.views import MethodView

from api.common import auth_required, current_user, surface_blueprint
from api.vault5 import schemas
from api.vault5.errors import SURFACE
from portal.models import Customer, KycStatus
from portal.models.base import db
from portal.services import customers, kyc
from portal.services.errors import NotFound

admin_bp = surface_blueprint(SURFACE, "admin", url_prefix="/v1/admin", description="004 Vault5: admin (users, KYC)")
BLUEPRINTS = [admin_bp]
CUSTOMER_REF = re.compile(r"customer-(\d{1,18})")


def _page(found, key: str) -> dict:
    return {"success": True, key: found.items, "pagination": found}


def _customer(user_id: str) -> Customer:
    """The customer `{userId}` names: a borrower login's id, or customer-<id>."""
    actor = current_user()
    if user_id.isdigit() and len(user_id) <= 18:
        return kyc.customer_for_user(int(user_id), actor=actor)
    if match := CUSTOMER_REF.fullmatch(user_id):
        return customers.get_visible(int(match.group(1)), actor=actor)
    raise NotFound("User not found.")


@admin_bp.route("/users")
class AdminUsersView(MethodView):
    decorators = [auth_required("user.list")]

    @admin_bp.arguments(schemas.AdminUsersArgsSchema, location="query")
    @admin_bp.response(200, schemas.AdminUsersSchema)
    def get(self, args):
        """Users (an admin: all; a manager: their team), with each borrower's KYC status and level"""
        found = kyc.users_with_kyc(
            actor=current_user(), search=args["search"], role=schemas.ROLES.from_api(args["role"]),
            kyc_status=KycStatus(args["kyc_status"]) if args["kyc_status"] else None,
            page=args["page"], per_page=args["limit"])
        return _page(found, "users")


@admin_bp.route("/kyc/queue")
class KycQueueView(MethodView):
    decorators = [auth_required("kyc.review")]

    @admin_bp.arguments(schemas.AdminListArgsSchema, location="query")
    @admin_bp.response(200, schemas.KycQueueSchema)
    def get(self, args):
        """Pending KYC submissions, oldest first, with their documents and flags (duplicate numbers, expiry)"""
        found = kyc.queue(actor=current_user(), search=args["search"], page=args["page"], per_page=args["limit"])
        return _page(found, "queue")


@admin_bp.route("/kyc/<string:userId>/approve")
class KycApproveView(MethodView):
    decorators = [auth_required("kyc.review")]

    @admin_bp.arguments(schemas.KycApproveSchema)
    @admin_bp.response(200, schemas.KycDecisionResultSchema)
    def post(self, body, userId):
        """Approve a KYC submission with a tier and the documents accepted"""
        submission = kyc.pending_for(_customer(userId), actor=current_user())
        kyc.approve(submission, kyc_level=body["kyc_level"], approved_documents=body["approved_documents"],
                    notes=body["notes"], actor=current_user())
        db.session.commit()
        return {"success": True, "message": "KYC approved.", "kyc": submission}


@admin_bp.route("/kyc/<string:userId>/reject")
class KycRejectView(MethodView):
    decorators = [auth_required("kyc.review")]

    @admin_bp.arguments(schemas.KycRejectSchema)
    @admin_bp.response(200, schemas.KycDecisionResultSchema)
    def post(self, body, userId):
        """Reject a KYC submission with a reason and notes (both told to the customer)"""
        submission = kyc.pending_for(_customer(userId), actor=current_user())
        kyc.reject(submission, reason=body["reason"], notes=body["notes"], actor=current_user())
        db.session.commit()
        return {"success": True, "message": "KYC rejected.", "kyc": submission}
