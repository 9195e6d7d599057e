"""000 Microfinance routes: profiles, token, transactions and loan details."""

import secrets
from dataclasses import dataclass
from functools import wraps

from flask import jsonify, request
from flask.views import MethodView
from flask_jwt_extended import verify_jwt_in_request

from api import tokens
from api.common import auth_rate_limit, auth_required, current_user, surface_blueprint
from api.microfinance import schemas
from api.microfinance.errors import SURFACE
from portal.models import (
    CodePurpose,
    DisbursementChannel,
    Loan,
    LoanStatus,
    PaymentSource,
    Role,
)
from portal.models.base import db
from portal.services import auth, customers, loans, repayments, savings, users
from portal.services.errors import AuthFailed, Conflict, NotFound, ValidationFailed

users_bp = surface_blueprint(SURFACE, "users", url_prefix="/users", description="000 Microfinance: profiles")
auth_bp = surface_blueprint(SURFACE, "auth", url_prefix="/auth", description="000 Microfinance: token")
BLUEPRINTS = [users_bp, auth_bp]


@users_bp.route("")
class ProfilesView(MethodView):
    decorators = [auth_required()]

    @users_bp.arguments(schemas.ProfileRequestSchema)
    @users_bp.response(201, schemas.ClientProfileSchema)
    @users_bp.alt_response(201, schema=schemas.UserProfileSchema, description="a staff profile (role=user)")
    def post(self, data):
        """Create a client profile (an account number is generated) or a staff user profile"""
        actor = current_user()
        if data["role"] == "client":
            customer = customers.create({"name": data["name"], "email": data.get("email"),
                                         "national_id": data.get("national_id"), "phone": data.get("phone")},
                                        actor=actor)
            db.session.commit()
            return customer
        first, _, last = data["name"].strip().partition(" ")
        invited = not data.get("password")
        user = users.create(users.NewUser(
            username=data["email"], email=data["email"], phone=data.get("phone"),
            password=data.get("password") or secrets.token_urlsafe(16) + "1a", role=Role.LOAN_OFFICER,
            first_name=first, last_name=last), actor=actor)
        if invited:
            auth.issue_code(user, CodePurpose.RESET_PASSWORD)  # they choose their own password
        db.session.commit()
        # Not the client shape: a Response passes flask-smorest's serializer untouched.
        response = jsonify(schemas.UserProfileSchema().dump(user))
        response.status_code = 201
        return response


@auth_bp.route("/token")
class TokenView(MethodView):
    decorators = [auth_rate_limit]

    @auth_bp.arguments(schemas.TokenRequestSchema)
    @auth_bp.response(200, schemas.TokenSchema)
    def post(self, creds):
        """Obtain an access token"""
        user = users.authenticate(creds["username"], creds["password"])
        access, _ = tokens.issue_pair(user, schemas.ROLES.to_api(user.role))
        db.session.commit()
        return {"token": access}


transactions_bp = surface_blueprint(SURFACE, "transactions", url_prefix="/api/transactions",
                                    description="000 Microfinance: transactions")
loans_bp = surface_blueprint(SURFACE, "loans", url_prefix="/loans", description="000 Microfinance: loan details")
BLUEPRINTS += [transactions_bp, loans_bp]


def token_in_body_or_header(view):
    """000 sends its token in the body (`token`, `client_token`, `user_token`); a bearer header works too."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if request.headers.get("Authorization"):
            verify_jwt_in_request()
        else:
            body = request.get_json(silent=True) or {}
            token = next((body[k] for k in ("token", "client_token", "user_token") if body.get(k)), None)
            if not token:
                raise AuthFailed("Authentication credentials were not provided.")
            tokens.verify_token(str(token), "access")
        return view(*args, **kwargs)
    return wrapper


def _client(client_id: int):
    return customers.get_visible(client_id, actor=current_user())


@transactions_bp.route("/<int:client_id>")
class ClientTransactionsView(MethodView):
    decorators = [token_in_body_or_header]

    @transactions_bp.response(200, schemas.TransactionSchema(many=True))
    def get(self, client_id):
        """All transactions of one client, newest first"""
        return savings.transactions_of(_client(client_id), actor=current_user())

    @transactions_bp.response(200, schemas.TransactionSchema(many=True))
    def post(self, client_id):
        """The same listing for clients that send their token in the body, as 000 documents"""
        return savings.transactions_of(_client(client_id), actor=current_user())


@transactions_bp.route("/disburse/<int:client_id>")
class DisburseView(MethodView):
    decorators = [token_in_body_or_header]

    @transactions_bp.arguments(schemas.DisburseRequestSchema)
    @transactions_bp.response(201, schemas.DisbursementSchema)
    def post(self, body, client_id):
        """Disburse the client's approved loan to M-Pesa or their account (staff)"""
        client = _client(client_id)
        loan = loans.oldest_approved(client)
        if loan is None:
            raise Conflict("This client has no approved loan waiting to be disbursed.")
        if body.get("amount") is not None and body["amount"] != loan.principal:
            raise ValidationFailed({"amount": [f"The approved loan is {loan.principal:,.2f}; send that amount."]})
        channel = DisbursementChannel.SAVINGS if body["destination"] == "account" else DisbursementChannel.MPESA
        loans.disburse(loan, channel, actor=current_user())
        db.session.commit()
        return savings.transaction_for(loan.disbursement_entry_id)


@transactions_bp.route("/loans/repayment/<int:client_id>")
class RepaymentView(MethodView):
    decorators = [token_in_body_or_header]

    @transactions_bp.arguments(schemas.MoneyRequestSchema)
    @transactions_bp.response(201, schemas.TransactionSchema)
    def post(self, body, client_id):
        """Repay the client's oldest active loan from M-Pesa or their account; `balance` is what is still owed"""
        client = _client(client_id)
        loan = loans.oldest_active(client)
        if loan is None:
            raise Conflict("This client has no active loan to repay.")
        if body["source"] == "account":
            payment = repayments.pay_from_savings(loan, body["amount"], actor=current_user())
        else:
            source = PaymentSource.CASH if body["source"] == "cash" else PaymentSource.MPESA
            payment = repayments.record_payment(loan, body["amount"], actor=current_user(), source=source)
        db.session.commit()
        return savings.transaction_for(payment.entry_id)


@transactions_bp.route("/deposit/<int:client_id>")
class DepositView(MethodView):
    decorators = [token_in_body_or_header]

    @transactions_bp.arguments(schemas.MoneyRequestSchema)
    @transactions_bp.response(201, schemas.TransactionSchema)
    def post(self, body, client_id):
        """Deposit to the client's savings; `balance` is the balance after"""
        txn = savings.deposit(_client(client_id), body["amount"], source=body["source"], actor=current_user())
        db.session.commit()
        return txn


@transactions_bp.route("/withdraw/<int:client_id>")
class WithdrawView(MethodView):
    decorators = [token_in_body_or_header]

    @transactions_bp.arguments(schemas.MoneyRequestSchema)
    @transactions_bp.response(201, schemas.TransactionSchema)
    def post(self, body, client_id):
        """Withdraw from the client's savings (never below zero); `balance` is the balance after"""
        txn = savings.withdraw(_client(client_id), body["amount"], actor=current_user())
        db.session.commit()
        return txn


@loans_bp.route("/<int:user_id>")
class LoanDetailsView(MethodView):
    decorators = [token_in_body_or_header]

    @loans_bp.arguments(schemas.LoanDetailsQueryArgsSchema, location="query")
    @loans_bp.response(200, schemas.LoanDetailsSchema)
    def get(self, args, user_id):
        """A client's loans: the newest at the top level, all of them (pending and previous) in `loans`"""
        client = _client(user_id)
        status = LoanStatus(args["status"]) if args.get("status") else None
        found = loans.search(loans.LoanFilters(status=status, customer_id=client.id), actor=current_user(),
                             per_page=100).items
        if not found:
            raise NotFound(f"No {status.value + ' ' if status else ''}loans for this client.")
        return LoanDetails(user_id=client.id, current=found[0], loans=found)


@dataclass
class LoanDetails:
    """000's loan details: one loan's fields at the top level, with the client's loans beside them."""

    user_id: int
    current: Loan
    loans: list[Loan]

    def __getattr__(self, name):
        return getattr(self.current, name)
