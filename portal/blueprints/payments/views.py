"""The reconciliation queue: money held in suspense, assigned to a loan by hand, and M-Pesa receipts whose
booking failed, retried."""

from flask import flash, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import or_

from portal.blueprints.forms import attach_errors
from portal.blueprints.payments import bp
from portal.blueprints.payments.forms import AssignForm
from portal.htmx import hx_event_or_redirect, hx_refusal_in_place, is_partial_request, render_page_or_partial
from portal.models import Loan, MpesaReceipt, Payment, PaymentStatus, ReceiptStatus
from portal.models.base import db
from portal.services import loans, mpesa_inbox, permissions, phones, repayments
from portal.services.errors import Conflict, Forbidden, NotFound, ValidationFailed
from portal.services.pagination import Page, paginate

PER_PAGE = 25
PAGE = "payments/reconciliation.html"


# --- the two lists --------------------------------------------------------------------------------------------


def _matching(q: str):
    """A receipt code (or part of one), or a phone in any format: the payer's number is stored as the gateway
    sent it (07..., 2547..., +2547...), so its last nine digits are what compare."""
    conditions = [Payment.receipt.contains(q.upper(), autoescape=True)]
    if number := phones.search_form(q):
        conditions.append(Payment.phone.endswith(number[-9:]))
    return or_(*conditions)


def _unmatched(q: str, page: int) -> Page:
    stmt = repayments.in_suspense(current_user)
    if q:
        stmt = stmt.where(_matching(q))
    return paginate(stmt, page, PER_PAGE)


def _failed(page: int) -> Page:
    return paginate(mpesa_inbox.failed(current_user), page, PER_PAGE)


def _queue(partial: str, *, unmatched: Page | None = None, failed: Page | None = None, q: str = "", **context):
    """The fragment an HTMX request asked for, or the whole page (which reads whichever list it was not given)."""
    if not is_partial_request():
        unmatched = unmatched if unmatched is not None else _unmatched(q, 1)
        failed = failed if failed is not None else _failed(1)
    return render_page_or_partial(PAGE, partial, unmatched=unmatched, failed=failed, q=q, **context)


@bp.get("/reconciliation")
@login_required
def reconciliation():
    """Payments held in suspense (searched and paged here) and M-Pesa receipts whose booking failed."""
    q = (request.args.get("q") or "").strip()
    return _queue("payments/partials/_unmatched.html", q=q, backlog=mpesa_inbox.backlog(),
                  unmatched=_unmatched(q, request.args.get("page", 1, type=int)))


@bp.get("/reconciliation/failed")
@login_required
def failed_receipts():
    return _queue("payments/partials/_failed.html", failed=_failed(request.args.get("page", 1, type=int)))


def _changed(message: str):
    """Flash `message` and have both lists reload: the row leaves, the message rides along."""
    flash(message, "success")
    return hx_event_or_redirect("reconciliation-changed", url_for("payments.reconciliation"))


# --- assigning a payment held in suspense ------------------------------------------------------------------------


def _payment(payment_id: int) -> Payment:
    payment = db.session.scalar(repayments.in_suspense(current_user).where(Payment.id == payment_id))
    if payment is None:
        raise NotFound("That payment is no longer in suspense: it has been assigned already.")
    return payment


def _form(payment: Payment, **kwargs) -> AssignForm:
    return AssignForm(prefix=f"assign-{payment.id}", **kwargs)


def _loan(form: AssignForm) -> Loan | None:
    """The loan the form names, among those the user may see; None, with the field's error, otherwise."""
    number = form.loan_number.data
    loan = db.session.scalar(permissions.visible_loans(current_user).where(Loan.loan_number == number))
    if loan is None:
        form.loan_number.errors.append(f"There is no loan {number} among the loans you can see.")
    return loan


def _assign_panel(payment: Payment, form: AssignForm, *, loan: Loan | None = None, error: str | None = None,
                  status: int = 200):
    """The row's assign form: the loan number to type, or the loan found, to confirm (with any refusal)."""
    response = render_page_or_partial("payments/assign.html", "payments/partials/_assign.html", status=status,
                                      payment=payment, form=form, loan=loan, error=error,
                                      owed=loans.outstanding(loan) if loan is not None else None)
    return hx_refusal_in_place(response, f"#assign-{payment.id}")


@bp.get("/reconciliation/<int:payment_id>/assign")
@login_required
def choose_loan(payment_id):
    """Find the loan typed for a payment and ask to confirm it; nothing moves yet."""
    payment = _payment(payment_id)
    if not request.args:  # "Change": the empty form again
        return _assign_panel(payment, _form(payment, formdata=None))
    form = _form(payment, formdata=request.args, meta={"csrf": False})
    loan = _loan(form) if form.validate() else None
    if loan is None:
        return _assign_panel(payment, form, status=422)
    return _assign_panel(payment, form, loan=loan)


@bp.post("/reconciliation/<int:payment_id>/assign")
@login_required
def assign(payment_id):
    payment = _payment(payment_id)
    form = _form(payment)
    loan = _loan(form) if form.validate_on_submit() else None
    if loan is None:
        return _assign_panel(payment, form, status=422)
    try:
        repayments.assign(payment, loan, actor=current_user)
    except ValidationFailed as exc:
        db.session.rollback()
        attach_errors(form, exc)
        return _assign_panel(payment, form, status=422)
    except (Conflict, Forbidden) as exc:
        db.session.rollback()
        return _assign_panel(payment, form, loan=loan, error=exc.message, status=exc.status)
    db.session.commit()
    saved = f" {payment.overpayment:,.2f} over the balance went to savings." if payment.overpayment else ""
    return _changed(f"Assigned {payment.amount:,.2f} (M-Pesa {payment.receipt}) to {loan.loan_number} of "
                    f"{loan.customer.name}.{saved}")


# --- retrying a receipt whose booking failed --------------------------------------------------------------------


def _receipt(receipt_id: int) -> MpesaReceipt:
    receipt = db.session.scalar(mpesa_inbox.failed(current_user).where(MpesaReceipt.id == receipt_id))
    if receipt is None:
        raise NotFound("That receipt is no longer waiting: it has been booked already.")
    return receipt


def _booked(receipt: MpesaReceipt) -> str:
    payment = receipt.payment
    if payment.loan is not None:
        where = f"to {payment.loan.loan_number}"
    elif payment.status == PaymentStatus.UNMATCHED:
        where = "into suspense: nothing matched it, so it is listed under unmatched payments"
    else:
        where = "to the customer's savings (they have no active loan)"
    return f"Booked M-Pesa {receipt.receipt} ({receipt.amount:,.2f}) {where}."


@bp.post("/reconciliation/failed/<int:receipt_id>/retry")
@login_required
def retry(receipt_id):
    receipt = mpesa_inbox.retry(_receipt(receipt_id), actor=current_user)
    db.session.commit()
    if receipt.status == ReceiptStatus.BOOKED:
        return _changed(_booked(receipt))
    # Refused again: the row stays, with the new reason.
    return _queue("payments/partials/_failed_row.html", receipt=receipt, retried=receipt.id)
