from flask import abort, flash, request, url_for
from flask_login import current_user, login_required

from portal.blueprints.forms import commit_form
from portal.blueprints.loans import bp
from portal.blueprints.loans.forms import (
    ApplicationForm,
    BulkApproveForm,
    DisburseForm,
    ReasonForm,
    RejectForm,
    RepaymentForm,
)
from portal.htmx import hx_event_or_redirect, hx_redirect, hx_refusal_in_place, hx_trigger, render_page_or_partial
from portal.models import DisbursementChannel, Loan, PaymentSource
from portal.models.base import db
from portal.services import (
    approvals,
    business_day,
    customers,
    loan_book,
    loan_preview,
    loans,
    permissions,
    products,
    repayments,
)
from portal.services.errors import Conflict, Forbidden, NotFound, ValidationFailed

PER_PAGE = 25
STATUS_TABS = {"": "All", "pending": "Pending", "approved": "To disburse", "disbursed": "Active",
               "closed": "Closed", "rejected": "Rejected", "written_off": "Written off"}


# --- the list -------------------------------------------------------------------------------------------------


@bp.get("/")
@login_required
def index():
    args = {k: v for k, v in request.args.items() if k in ("status", "q") and v}
    try:
        page = loan_book.listing(loan_book.LoanListFilters(status=args.get("status"), search=args.get("q")),
                                 actor=current_user, page=request.args.get("page", 1, type=int), per_page=PER_PAGE)
    except ValidationFailed:
        abort(400)
    return render_page_or_partial("loans/index.html", "loans/partials/_list.html", page=page, args=args,
                                  tabs=STATUS_TABS, today=business_day.today())


# --- applying ---------------------------------------------------------------------------------------------------


def _application_form(**kwargs) -> ApplicationForm:
    form = ApplicationForm(**kwargs)
    form.set_products(products.listing(actor=current_user, active_only=True))
    return form


def _render_application(form: ApplicationForm, customer, status: int = 200):
    preview = loan_preview.preview(customer, form.service_values(), actor=current_user)
    return render_page_or_partial("loans/apply.html", "loans/partials/_application.html", status=status,
                                  form=form, customer=customer, preview=preview)


@bp.get("/new")
@login_required
def new():
    """The application form for a customer (?customer_id=), or the search to choose one."""
    permissions.require(current_user, "loan.apply")
    customer_id = request.args.get("customer_id", type=int)
    if customer_id is None:
        return render_page_or_partial("loans/apply.html", "loans/partials/_customer_results.html",
                                      customer=None, found=None, q="")
    customer = customers.get_visible(customer_id, actor=current_user)
    return _render_application(_application_form(formdata=None, customer_id=customer.id), customer)


@bp.get("/new/customers")
@login_required
def choose_customer():
    """Active search for the customer an application is for."""
    permissions.require(current_user, "loan.apply")
    q = (request.args.get("q") or "").strip()
    found = customers.search(customers.CustomerFilters(search=q, sort="name"), actor=current_user,
                             per_page=10) if q else None
    return render_page_or_partial("loans/apply.html", "loans/partials/_customer_results.html",
                                  customer=None, found=found, q=q)


@bp.post("/new")
@login_required
def apply():
    form = _application_form()
    customer = customers.get_visible(_customer_id(form), actor=current_user)
    saved, loan = commit_form(form, lambda: loans.apply(customer, form.service_values(), actor=current_user))
    if saved:
        flash(f"Application {loan.loan_number} for {customer.name} ({loan.principal:,.2f}) sent for approval.",
              "success")
        return hx_redirect(url_for("loans.detail", loan_id=loan.id))
    return _render_application(form, customer, status=422)


def _customer_id(form: ApplicationForm) -> int:
    try:
        return int(form.customer_id.data)
    except (TypeError, ValueError):
        abort(400)


@bp.post("/new/preview")
@login_required
def preview():
    """The schedule and warnings of the application as typed so far."""
    form = _application_form()
    customer = customers.get_visible(_customer_id(form), actor=current_user)
    return render_page_or_partial("loans/apply.html", "loans/partials/_preview.html", form=form, customer=customer,
                                  preview=loan_preview.preview(customer, form.service_values(), actor=current_user))


# --- the approvals inbox ------------------------------------------------------------------------------------------


@bp.get("/approvals")
@login_required
def approvals_inbox():
    inbox = approvals.inbox(actor=current_user, page=request.args.get("page", 1, type=int), per_page=PER_PAGE)
    return render_page_or_partial("loans/approvals.html", "loans/partials/_inbox.html", inbox=inbox,
                                  bulk_form=BulkApproveForm())


def _decision(loan: Loan, *, form: RejectForm | None = None, error: str | None = None, status: int = 200):
    response = render_page_or_partial(
        "loans/decide.html", "loans/partials/_decision.html", status=status, loan=loan,
        context=approvals.context(loan, actor=current_user), form=form or RejectForm(formdata=None), error=error)
    return hx_refusal_in_place(response, f"#decision-{loan.id}")


@bp.get("/approvals/<int:loan_id>")
@login_required
def decision(loan_id):
    """What a checker needs on one application, with approve and reject (inline in the inbox)."""
    return _decision(approvals.get_for_decision(loan_id, actor=current_user))


def _decided(message: str):
    """Flash `message` and have the inbox reload: the row leaves, the message rides along."""
    flash(message, "success")
    return hx_event_or_redirect("inbox-changed", url_for("loans.approvals_inbox"))


@bp.post("/<int:loan_id>/approve")
@login_required
def approve(loan_id):
    loan = approvals.get_for_decision(loan_id, actor=current_user)
    try:
        loans.approve(loan, actor=current_user)
    except (Forbidden, Conflict) as exc:
        db.session.rollback()
        return _decision(loan, error=exc.message, status=exc.status)
    db.session.commit()
    return _decided(f"Approved {loan.loan_number} for {loan.customer.name} ({loan.principal:,.2f}); "
                    "it can now be disbursed.")


@bp.post("/<int:loan_id>/reject")
@login_required
def reject(loan_id):
    loan = approvals.get_for_decision(loan_id, actor=current_user)
    form = RejectForm()
    try:
        saved, _ = commit_form(form, lambda: loans.reject(loan, form.reason.data, actor=current_user))
    except Conflict as exc:
        return _decision(loan, form=form, error=exc.message, status=exc.status)
    if saved:
        return _decided(f"Rejected {loan.loan_number} for {loan.customer.name}: {loan.rejection_reason}")
    return _decision(loan, form=form, status=422)


@bp.post("/approvals/bulk")
@login_required
def approve_selected():
    form = BulkApproveForm()
    if not form.validate_on_submit():
        abort(400)
    outcomes = approvals.approve_many(form.loan_ids.data or [], actor=current_user)
    db.session.commit()
    response = render_page_or_partial("loans/bulk_result.html", "loans/partials/_bulk_result.html",
                                      outcomes=outcomes)
    return hx_trigger(response, "inbox-changed") if request.htmx else response


# --- one loan -------------------------------------------------------------------------------------------------------


def _loan_page(loan: Loan, status: int = 200, **forms):
    forms.setdefault("repayment_form", RepaymentForm(formdata=None))
    forms.setdefault("write_off_form", ReasonForm(formdata=None, prefix="write_off"))
    forms.setdefault("disburse_form", DisburseForm(formdata=None, channel=DisbursementChannel.MPESA.value))
    forms.setdefault("reverse_forms", {})
    return render_page_or_partial("loans/detail.html", "loans/partials/_loan.html", status=status, loan=loan,
                                  book=loan_book.book(loan, actor=current_user),
                                  receipt=loan_book.receipt(loan, actor=current_user), **forms)


def _done(loan: Loan, message: str):
    """After a change on the loan page: the whole loan again (schedule, payments, ledger all move)."""
    flash(message, "success")
    if request.htmx:
        return _loan_page(loan)
    return hx_redirect(url_for("loans.detail", loan_id=loan.id))


@bp.get("/<int:loan_id>")
@login_required
def detail(loan_id):
    return _loan_page(loans.get_visible(loan_id, actor=current_user))


@bp.post("/<int:loan_id>/disburse")
@login_required
def disburse(loan_id):
    loan = loans.get_visible(loan_id, actor=current_user)
    form = DisburseForm()
    done, _ = commit_form(form, lambda: loans.disburse(loan, DisbursementChannel(form.channel.data),
                                                       actor=current_user))
    if not done:  # e.g. M-Pesa for a customer with no phone, or a payout with cents: shown beside the channel
        return _loan_page(loan, status=422, disburse_form=form)
    receipt = loan_book.receipt(loan, actor=current_user)
    if receipt.channel == DisbursementChannel.MPESA:
        return _done(loan, f"Sent {receipt.paid_out:,.2f} of {loan.loan_number} to {loan.customer.name} by M-Pesa; "
                           "the receipt shows when M-Pesa confirms it.")
    return _done(loan, f"Paid out {receipt.paid_out:,.2f} of {loan.loan_number} to {loan.customer.name} "
                       "into their savings account.")


@bp.get("/<int:loan_id>/receipt")
@login_required
def receipt(loan_id):
    loan = loans.get_visible(loan_id, actor=current_user)
    found = loan_book.receipt(loan, actor=current_user)
    if found is None:
        raise NotFound(f"{loan.loan_number} has not been paid out.")
    return render_page_or_partial("loans/receipt.html", "loans/partials/_receipt.html", loan=loan, receipt=found)


@bp.post("/<int:loan_id>/repayments")
@login_required
def record_repayment(loan_id):
    loan = loans.get_visible(loan_id, actor=current_user)
    form = RepaymentForm()
    saved, payment = commit_form(form, lambda: repayments.record_payment(loan, form.amount.data, actor=current_user,
                                                                         source=PaymentSource.CASH))
    if saved:
        extra = f" {payment.overpayment:,.2f} over the balance went to savings." if payment.overpayment else ""
        return _done(loan, f"Recorded {payment.amount:,.2f} cash on {loan.loan_number}.{extra}")
    return _loan_page(loan, status=422, repayment_form=form)


@bp.post("/<int:loan_id>/payments/<int:payment_id>/reverse")
@login_required
def reverse_payment(loan_id, payment_id):
    loan = loans.get_visible(loan_id, actor=current_user)
    payment = loan_book.payment_on(loan, payment_id, actor=current_user)
    form = ReasonForm(prefix=f"reverse-{payment.id}")
    saved, _ = commit_form(form, lambda: repayments.reverse(payment, form.reason.data, actor=current_user))
    if saved:
        return _done(loan, f"Reversed the payment of {payment.amount:,.2f} on {loan.loan_number}.")
    return _loan_page(loan, status=422, reverse_forms={payment.id: form})


@bp.post("/<int:loan_id>/write-off")
@login_required
def write_off(loan_id):
    loan = loans.get_visible(loan_id, actor=current_user)
    form = ReasonForm(prefix="write_off")
    saved, _ = commit_form(form, lambda: loans.write_off(loan, form.reason.data, actor=current_user))
    if saved:
        return _done(loan, f"Wrote off {loan.loan_number}.")
    return _loan_page(loan, status=422, write_off_form=form)

