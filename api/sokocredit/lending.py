"""001 SokoCredit lending routes: /loans, /loan-products, /repayment-schedules, /repayments."""

import hmac
from functools import wraps

from flask import current_app, g, request
from flask.views import MethodView
from flask_jwt_extended import verify_jwt_in_request

from api import request_log
from api.common import auth_required, current_user, surface_blueprint
from api.sokocredit import schemas
from api.sokocredit.errors import SURFACE
from portal.models import DisbursementChannel, LoanStatus, PaymentStatus, Role
from portal.models.base import db
from portal.services import customers, loans, mpesa_inbox, permissions, products, repayments
from portal.services.errors import Forbidden, ValidationFailed
from portal.services.pagination import paginate

loans_bp = surface_blueprint(SURFACE, "loans", url_prefix="/loans", description="001 SokoCredit: loans")
products_bp = surface_blueprint(SURFACE, "loan_products", url_prefix="/loan-products",
                                description="001 SokoCredit: loan products")
schedules_bp = surface_blueprint(SURFACE, "repayment_schedules", url_prefix="/repayment-schedules",
                                 description="001 SokoCredit: repayment schedules")
repayments_bp = surface_blueprint(SURFACE, "repayments", url_prefix="/repayments",
                                  description="001 SokoCredit: repayments and the M-Pesa webhook")
BLUEPRINTS = [loans_bp, products_bp, schedules_bp, repayments_bp]


@loans_bp.route("/")
class LoansStatusView(MethodView):
    @loans_bp.response(200, schemas.StatusSchema)
    def get(self):
        """Status check of the loans service"""
        return {"status": "ok", "service": "loans"}


@loans_bp.route("")
class LoansView(MethodView):
    decorators = [auth_required()]

    @loans_bp.arguments(schemas.LoanQueryArgsSchema, location="query")
    @loans_bp.response(200, schemas.LoanListSchema)
    def get(self, args):
        """Loans the caller may see (a borrower: their own)"""
        status = LoanStatus(args["status"]) if args.get("status") else None
        page = loans.search(loans.LoanFilters(status=status), actor=current_user(), page=args["page"],
                            per_page=args["per_page"])
        return {"loans": page.items, "total": page.total, "page": page.page, "pages": page.pages}

    @loans_bp.arguments(schemas.LoanApplySchema)
    @loans_bp.response(201, schemas.LoanSchema)
    def post(self, data):
        """Apply for a loan: a mama_mboga for herself, or staff for a customer (customer_id)"""
        actor = current_user()
        if actor.role == Role.BORROWER:
            customer = customers.for_user(actor)
        elif data.get("customer_id") is None:
            raise ValidationFailed({"customer_id": ["Staff apply on a customer's behalf: give customer_id."]})
        else:
            customer = customers.get_visible(data["customer_id"], actor=actor)
        loan = loans.apply(customer, data, actor=actor)
        db.session.commit()
        return loan


@loans_bp.route("/<int:loan_id>/approve")
class ApproveView(MethodView):
    decorators = [auth_required()]

    @loans_bp.response(200, schemas.LoanSchema)
    def patch(self, loan_id):
        """Approve a pending loan (not by the person who submitted it)"""
        loan = loans.approve(loans.get_visible(loan_id, actor=current_user()), actor=current_user())
        db.session.commit()
        return loan


@loans_bp.route("/<int:loan_id>/reject")
class RejectView(MethodView):
    decorators = [auth_required()]

    @loans_bp.arguments(schemas.RejectSchema)
    @loans_bp.response(200, schemas.LoanSchema)
    def patch(self, body, loan_id):
        """Reject a pending loan with a reason the customer will see"""
        loan = loans.reject(loans.get_visible(loan_id, actor=current_user()), body["reason"], actor=current_user())
        db.session.commit()
        return loan


class DisburseView(MethodView):
    decorators = [auth_required()]

    @loans_bp.arguments(schemas.DisburseSchema)
    @loans_bp.response(200, schemas.LoanSchema)
    def patch(self, body, loan_id):
        """Disburse an approved loan to M-Pesa or the customer's savings (exactly once)"""
        loan = loans.get_visible(loan_id, actor=current_user())
        loans.disburse(loan, DisbursementChannel(body["channel"]), actor=current_user())
        db.session.commit()
        return loan


# 001's table shows /loans/:id/disburse inside the /loans prefix; /loans/loans/:id/disburse is kept too.
loans_bp.add_url_rule("/<int:loan_id>/disburse", view_func=DisburseView.as_view("disburse"))
loans_bp.add_url_rule("/loans/<int:loan_id>/disburse", view_func=DisburseView.as_view("disburse_alias"))


@products_bp.route("")
class ProductsView(MethodView):
    decorators = [auth_required()]

    @products_bp.response(200, schemas.ProductSchema(many=True))
    def get(self):
        """Loan products (borrowers see the active ones)"""
        return products.listing(actor=current_user())

    @products_bp.arguments(schemas.ProductSchema)
    @products_bp.response(201, schemas.ProductSchema)
    def post(self, data):
        """Create a loan product (admins and managers)"""
        product = products.create(data, actor=current_user())
        db.session.commit()
        return product


@products_bp.route("/<int:product_id>")
class ProductByIdView(MethodView):
    decorators = [auth_required()]

    @products_bp.response(200, schemas.ProductSchema)
    def get(self, product_id):
        """A loan product"""
        return products.get(product_id, actor=current_user())

    @products_bp.arguments(schemas.ProductSchema(partial=True))
    @products_bp.response(200, schemas.ProductSchema)
    def patch(self, data, product_id):
        """Change a product; existing loans keep their terms"""
        product = products.update(products.get(product_id, actor=current_user()), data, actor=current_user())
        db.session.commit()
        return product

    @products_bp.response(200, schemas.MessageSchema)
    def delete(self, product_id):
        """Delete a product no loan uses (otherwise set it inactive)"""
        products.delete(products.get(product_id, actor=current_user()), actor=current_user())
        db.session.commit()
        return {"message": "Loan product deleted."}


@schedules_bp.route("")
class SchedulesView(MethodView):
    decorators = [auth_required()]

    @schedules_bp.response(200, schemas.ScheduleListSchema)
    def get(self):
        """The calling borrower's unpaid installments on active loans, soonest first"""
        actor = current_user()
        if actor.role != Role.BORROWER:
            raise Forbidden("Repayment schedules are listed for the borrower who owns them (mama_mboga).")
        return {"schedules": repayments.installments_due(customers.for_user(actor))}


@repayments_bp.route("")
class RepaymentsView(MethodView):
    decorators = [auth_required("loan.view")]

    @repayments_bp.arguments(schemas.RepaymentQueryArgsSchema, location="query")
    @repayments_bp.response(200, schemas.RepaymentListSchema)
    def get(self, args):
        """Repayments the caller may see, newest first"""
        status = PaymentStatus(args["status"]) if args.get("status") else None
        page = paginate(repayments.visible_payments(current_user(), status=status), args["page"], args["per_page"])
        return {"repayments": page.items, "total": page.total, "page": page.page, "pages": page.pages}


def webhook_caller(view):
    """Fail closed, before the body is read: the configured shared secret, or a staff token
    allowed to take payments."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        secret = current_app.config.get("MPESA_WEBHOOK_SECRET")
        presented = request.headers.get("X-Webhook-Secret") or request.args.get("secret", "")
        if secret and presented and hmac.compare_digest(presented, secret):
            g.api_user = None
        else:
            verify_jwt_in_request()
            permissions.require(g.api_user, "repayment.webhook")
        return view(*args, **kwargs)
    return wrapper


@repayments_bp.route("/mpesa-webhook")
class MpesaWebhookView(MethodView):
    decorators = [webhook_caller]

    @repayments_bp.arguments(schemas.WebhookSchema)
    @repayments_bp.response(202, schemas.WebhookResultSchema)
    @repayments_bp.alt_response(200, schema=schemas.WebhookResultSchema, description="a receipt seen before")
    def post(self, body):
        """Take an M-Pesa payment: recorded at once and booked right after; one mpesa_code is one payment
        however often it is delivered"""
        accepted = mpesa_inbox.accept(receipt=body["mpesa_code"], amount=body["amount_paid"],
                                      phone=body["phone_number"], reference=body.get("account_reference"))
        if accepted.created:
            db.session.commit()  # kept before answering (the answer is plain values: nothing reloads after)
            request_log.leave_out()
            return {"message": "Payment received; it is being applied.", "duplicate": False, **vars(accepted)}
        # A repeat wrote nothing: its answer is built from what it read, and the request's end closes
        # the transaction (a commit here would expire the payment it answers with, to be read again).
        return {"message": "This M-Pesa code was already received.", "duplicate": True, **vars(accepted)}, 200
