"""003 RepaySync routes: thin views over portal.services."""

from flask import g, request, url_for
from flask.views import MethodView

from api import tokens
from api.common import auth_rate_limit, auth_required, current_user, optional_auth, surface_blueprint
from api.repaysync import schemas
from api.repaysync.errors import SURFACE
from portal.models import InteractionKind
from portal.models.base import db
from portal.services import api_logs, customers, interactions, loans, users
from portal.services.errors import AuthFailed, ValidationFailed

auth_bp = surface_blueprint(SURFACE, "auth", url_prefix="/api/auth", description="003 RepaySync: JWT tokens")
users_bp = surface_blueprint(SURFACE, "users", url_prefix="/api/users", description="003 RepaySync: users")
customers_bp = surface_blueprint(SURFACE, "customers", url_prefix="/api/customers",
                                 description="003 RepaySync: customers")
logs_bp = surface_blueprint(SURFACE, "logs", url_prefix="/api/logs", description="003 RepaySync: API request log")
loans_bp = surface_blueprint(SURFACE, "loans", url_prefix="/api/loans", description="003 RepaySync: loans")
interactions_bp = surface_blueprint(SURFACE, "interactions", url_prefix="/api/interactions",
                                   description="003 RepaySync: field and calling interactions")
BLUEPRINTS = [auth_bp, users_bp, customers_bp, logs_bp, loans_bp, interactions_bp]


@auth_bp.route("/token/")
class TokenView(MethodView):
    decorators = [auth_rate_limit]

    @auth_bp.arguments(schemas.TokenRequestSchema)
    @auth_bp.response(200, schemas.TokenPairSchema)
    def post(self, creds):
        """Obtain an access and a refresh token"""
        user = users.authenticate(creds["username"], creds["password"])
        access, refresh = tokens.issue_pair(user, schemas.ROLES.to_api(user.role))
        db.session.commit()
        return {"access": access, "refresh": refresh}


@auth_bp.route("/token/refresh/")
class TokenRefreshView(MethodView):
    @auth_bp.arguments(schemas.RefreshRequestSchema)
    @auth_bp.response(200, schemas.AccessSchema)
    def post(self, body):
        """Exchange a refresh token for a new access token (the refresh token stays valid)"""
        tokens.verify_refresh(body["refresh"])
        result = tokens.refresh(schemas.ROLES.to_api(g.api_user.role), rotate=False)
        if result is None:
            raise AuthFailed("Token is invalid or expired.")
        return {"access": result[0]}


@users_bp.route("/register/")
class RegisterView(MethodView):
    decorators = [auth_rate_limit, optional_auth]

    @users_bp.arguments(schemas.UserRegisterSchema)
    @users_bp.response(201, schemas.UserSchema)
    def post(self, data):
        """Register a user; staff roles need an admin or manager token"""
        user = users.create(users.NewUser(
            username=data["username"], password=data["password"], role=schemas.ROLES.from_api(data["role"]),
            email=data.get("email"), phone=data.get("phone"), first_name=data["first_name"],
            last_name=data["last_name"], manager_id=data["manager"]), actor=g.api_user)
        db.session.commit()
        return user


@users_bp.route("/")
class UsersView(MethodView):
    decorators = [auth_required("user.list")]

    @users_bp.response(200, schemas.UserSchema(many=True))
    def get(self):
        """List the users the caller may see (admins: all; managers: their team)"""
        return users.list_visible(current_user())


PAGE_HEADERS = {  # for the OpenAPI document: what _page_headers sends
    "Link": {"description": 'The neighbouring pages, where there are any: <...>; rel="prev", <...>; rel="next"',
             "schema": {"type": "string"}},
    "X-Page": {"description": "This page's number", "schema": {"type": "integer"}},
    "X-Page-Size": {"description": "Rows a page", "schema": {"type": "integer"}},
    "X-Total-Count": {"description": "Rows in all pages; sent only with total=true", "schema": {"type": "integer"}},
}


def _page_headers(page) -> dict:
    """Where the neighbouring pages are (RFC 8288 Link), and the total when it was counted."""
    def link(number: int, rel: str) -> str:
        args = {**request.args.to_dict(flat=False), "page": number}  # a repeated argument keeps every value
        return f'<{url_for(request.endpoint, **args)}>; rel="{rel}"'

    links = ([link(page.page - 1, "prev")] if page.has_prev else []) + (
        [link(page.page + 1, "next")] if page.has_next else [])
    headers = {"X-Page": str(page.page), "X-Page-Size": str(page.per_page)}
    if links:
        headers["Link"] = ", ".join(links)
    if page.total is not None:
        headers["X-Total-Count"] = str(page.total)
    return headers


@customers_bp.route("/")
class CustomersView(MethodView):
    decorators = [auth_required()]

    @customers_bp.arguments(schemas.CustomerQueryArgsSchema, location="query")
    @customers_bp.response(200, schemas.CustomerSchema(many=True), headers=PAGE_HEADERS)
    def get(self, args):
        """List customers assigned to the caller (calling agents: all); newest first"""
        page = customers.search(customers.CustomerFilters(search=args.get("search")), actor=current_user(),
                                page=args["page"], per_page=args["page_size"], max_per_page=500,
                                with_officers=False,  # 003 gives the officer's id only
                                count=args["total"])
        return page.items, 200, _page_headers(page)

    @customers_bp.arguments(schemas.CustomerSchema)
    @customers_bp.response(201, schemas.CustomerSchema)
    def post(self, data):
        """Create a customer; a null or omitted customer_code is generated"""
        customer = customers.create(data, actor=current_user())
        db.session.commit()
        return customer


@customers_bp.route("/create/")
class CustomerCreateView(MethodView):
    decorators = [auth_required()]

    @customers_bp.arguments(schemas.CustomerSchema)
    @customers_bp.response(201, schemas.CustomerSchema)
    def post(self, data):
        """Create a single customer"""
        customer = customers.create(data, actor=current_user())
        db.session.commit()
        return customer


@customers_bp.route("/<int:customer_id>/")
class CustomerByIdView(MethodView):
    decorators = [auth_required()]

    @customers_bp.response(200, schemas.CustomerSchema)
    def get(self, customer_id):
        """Retrieve a customer"""
        return customers.get_visible(customer_id, actor=current_user())

    @customers_bp.arguments(schemas.CustomerSchema)
    @customers_bp.response(200, schemas.CustomerSchema)
    def put(self, data, customer_id):
        """Replace a customer's details (name is required)"""
        customer = customers.get_visible(customer_id, actor=current_user())
        customers.update(customer, data, actor=current_user(), replace=True)
        db.session.commit()
        return customer

    @customers_bp.arguments(schemas.CustomerSchema(partial=True))
    @customers_bp.response(200, schemas.CustomerSchema)
    def patch(self, data, customer_id):
        """Change some of a customer's details"""
        customer = customers.get_visible(customer_id, actor=current_user())
        customers.update(customer, data, actor=current_user())
        db.session.commit()
        return customer

    @customers_bp.response(200)
    def delete(self, customer_id):
        """Delete a customer (admins; refused while they have loans)"""
        customer = customers.get_visible(customer_id, actor=current_user())
        customers.delete(customer, actor=current_user())
        db.session.commit()
        return {"message": "Customer deleted."}


@logs_bp.route("/")
class LogsView(MethodView):
    decorators = [auth_required("apilog.view")]

    @logs_bp.arguments(schemas.LogQueryArgsSchema, location="query")
    @logs_bp.response(200, schemas.LogSchema(many=True), headers=PAGE_HEADERS)
    def get(self, args):
        """List API request logs, newest first (admins only); secrets are redacted"""
        page = api_logs.recent(actor=current_user(), page=args["page"], per_page=args["page_size"],
                               count=args["total"])
        return page.items, 200, _page_headers(page)


def _loan_values(data: dict, loan=None) -> dict:
    """003's loans carry their own rate and tenure (monthly, equal installments) rather than a product."""
    if loan is not None and data.get("customer_id") not in (None, loan.customer_id):
        raise ValidationFailed({"customer_id": ["A loan cannot move to another customer; "
                                                "create a new application for them."]})
    values = {k: v for k, v in data.items() if k != "customer_id"}
    if "co_borrowers" in values:
        values["co_borrowers"] = values["co_borrowers"] or []
    return values


@loans_bp.route("/")
class LoansView(MethodView):
    decorators = [auth_required()]

    @loans_bp.arguments(schemas.LoanQueryArgsSchema, location="query")
    @loans_bp.response(200, schemas.LoanSchema(many=True), headers=PAGE_HEADERS)
    def get(self, args):
        """List the loans of customers the caller may see, newest first"""
        page = loans.search(loans.LoanFilters(), actor=current_user(), page=args["page"],
                            per_page=args["page_size"], max_per_page=500, count=args["total"])
        return page.items, 200, _page_headers(page)

    @loans_bp.arguments(schemas.LoanCreateSchema)
    @loans_bp.response(201, schemas.LoanSchema)
    def post(self, data):
        """Create a loan application for a customer (up to two co-borrowers)"""
        customer = customers.get_visible(data["customer_id"], actor=current_user())
        loan = loans.apply(customer, _loan_values(data), actor=current_user())
        db.session.commit()
        return loan


@loans_bp.route("/<int:loan_id>/")
class LoanByIdView(MethodView):
    decorators = [auth_required()]

    @loans_bp.response(200, schemas.LoanSchema)
    def get(self, loan_id):
        """Retrieve a loan"""
        return loans.get_visible(loan_id, actor=current_user())

    @loans_bp.arguments(schemas.LoanCreateSchema)
    @loans_bp.response(200, schemas.LoanSchema)
    def put(self, data, loan_id):
        """Replace a pending loan's terms (409 once it is decided: its money terms are fixed)"""
        loan = loans.get_visible(loan_id, actor=current_user())
        loans.update_pending(loan, _loan_values(data, loan), actor=current_user())
        db.session.commit()
        return loan

    @loans_bp.arguments(schemas.LoanSchema(partial=True))
    @loans_bp.response(200, schemas.LoanSchema)
    def patch(self, data, loan_id):
        """Change some of a pending loan's terms (409 once it is decided)"""
        loan = loans.get_visible(loan_id, actor=current_user())
        loans.update_pending(loan, _loan_values(data, loan), actor=current_user())
        db.session.commit()
        return loan

    @loans_bp.response(200)
    def delete(self, loan_id):
        """Delete a pending or rejected application (409 otherwise)"""
        loans.delete_pending(loans.get_visible(loan_id, actor=current_user()), actor=current_user())
        db.session.commit()
        return {"message": "Loan deleted."}


@loans_bp.route("/customer/<int:customer_id>/")
class CustomerLoansView(MethodView):
    decorators = [auth_required()]

    @loans_bp.response(200, schemas.LoanSchema(many=True))
    def get(self, customer_id):
        """All loans of one customer"""
        customer = customers.get_visible(customer_id, actor=current_user())
        return loans.search(loans.LoanFilters(customer_id=customer.id), actor=current_user(), per_page=500,
                            max_per_page=500).items


def _interaction_views(kind: InteractionKind) -> None:
    """003's interaction endpoints for one kind (field or calling); the rules live in the service."""
    name = kind.value

    class CreateView(MethodView):
        decorators = [auth_required()]

        @interactions_bp.arguments(schemas.InteractionCreateSchema)
        @interactions_bp.response(201, schemas.InteractionSchema)
        def post(self, data):
            interaction = interactions.create(kind, data.pop("loan_id"), data, actor=current_user())
            db.session.commit()
            return interaction

    class ByIdView(MethodView):
        decorators = [auth_required()]

        @interactions_bp.response(200, schemas.InteractionSchema)
        def get(self, interaction_id):
            return interactions.get_visible(interaction_id, kind, actor=current_user())

        @interactions_bp.arguments(schemas.InteractionCreateSchema)
        @interactions_bp.response(200, schemas.InteractionSchema)
        def put(self, data, interaction_id):
            interaction = interactions.get_visible(interaction_id, kind, actor=current_user())
            _same_loan(interaction, data)
            interactions.update(interaction, data, actor=current_user(), replace=True)
            db.session.commit()
            return interaction

        @interactions_bp.arguments(schemas.InteractionSchema(partial=True))
        @interactions_bp.response(200, schemas.InteractionSchema)
        def patch(self, data, interaction_id):
            interaction = interactions.get_visible(interaction_id, kind, actor=current_user())
            _same_loan(interaction, data)
            interactions.update(interaction, data, actor=current_user())
            db.session.commit()
            return interaction

        @interactions_bp.response(200)
        def delete(self, interaction_id):
            interactions.delete(interactions.get_visible(interaction_id, kind, actor=current_user()),
                                actor=current_user())
            db.session.commit()
            return {"message": "Interaction deleted; it stays on record."}

    class ForLoanView(MethodView):
        decorators = [auth_required()]

        @interactions_bp.response(200, schemas.InteractionSchema(many=True))
        def get(self, loan_id):
            return interactions.for_loan(loan_id, kind, actor=current_user())

    CreateView.post.__doc__ = f"Log a {name} interaction on a loan"
    ByIdView.get.__doc__ = f"Retrieve a {name} interaction"
    ByIdView.put.__doc__ = f"Replace a {name} interaction (its author on the day, or a manager; kept as a revision)"
    ByIdView.patch.__doc__ = f"Change a {name} interaction (its author on the day, or a manager; kept as a revision)"
    ByIdView.delete.__doc__ = f"Delete a {name} interaction (hidden, never erased)"
    ForLoanView.get.__doc__ = f"A loan's {name} interactions, newest first"
    interactions_bp.route(f"/{name}/create/", endpoint=f"{name}_create")(CreateView)
    interactions_bp.route(f"/{name}/<int:interaction_id>/", endpoint=f"{name}_by_id")(ByIdView)
    interactions_bp.route(f"/{name}/loan/<int:loan_id>/", endpoint=f"{name}_for_loan")(ForLoanView)


def _same_loan(interaction, data: dict) -> None:
    if data.get("loan_id") not in (None, interaction.loan_id):
        raise ValidationFailed({"loan_id": ["An interaction cannot move to another loan."]})
    data.pop("loan_id", None)


for _kind in InteractionKind:
    _interaction_views(_kind)
