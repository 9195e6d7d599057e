from flask import flash, request, url_for
from flask_login import current_user, login_required

from portal.blueprints.forms import commit_form, flash_errors
from portal.blueprints.kyc import bp
from portal.blueprints.kyc.forms import ApproveForm, KycUploadForm, RejectForm
from portal.files import inline
from portal.htmx import hx_event_or_redirect, hx_redirect, hx_refusal_in_place, render_page_or_partial
from portal.models import KycSubmission
from portal.models.base import db
from portal.services import business_day, customers, documents, kyc, permissions
from portal.services.errors import Conflict, Forbidden, ValidationFailed

PER_PAGE = 25


# --- the queue ------------------------------------------------------------------------------------------------


@bp.get("/")
@login_required
def queue():
    q = (request.args.get("q") or "").strip()
    found = kyc.queue(actor=current_user, page=request.args.get("page", 1, type=int), per_page=PER_PAGE, search=q)
    return render_page_or_partial("kyc/queue.html", "kyc/partials/_queue.html", queue=found, q=q)


def _forms(submission: KycSubmission, approve: ApproveForm | None = None, reject: RejectForm | None = None):
    prefix = f"kyc{submission.id}"
    return (approve or ApproveForm(formdata=None, prefix=f"{prefix}-approve"),
            reject or RejectForm(formdata=None, prefix=f"{prefix}-reject"))


def _review(submission_id: int, *, approve: ApproveForm | None = None, reject: RejectForm | None = None,
            error: str | None = None, status: int = 200):
    review = kyc.review(submission_id, actor=current_user)
    approve_form, reject_form = _forms(review.submission, approve, reject)
    response = render_page_or_partial("kyc/review.html", "kyc/partials/_review.html", status=status, review=review,
                                      approve_form=approve_form, reject_form=reject_form, error=error,
                                      today=business_day.today())
    return hx_refusal_in_place(response, f"#review-{submission_id}")


@bp.get("/<int:submission_id>")
@login_required
def review(submission_id):
    """A pending submission beside the customer's data, with approve and reject (inline in the queue)."""
    return _review(submission_id)


def _decided(message: str):
    """Flash `message` and have the queue reload: the row leaves, the message rides along."""
    flash(message, "success")
    return hx_event_or_redirect("kyc-changed", url_for("kyc.queue"))


@bp.post("/<int:submission_id>/approve")
@login_required
def approve(submission_id):
    submission = kyc.get_submission(submission_id, actor=current_user)
    form = ApproveForm(prefix=f"kyc{submission.id}-approve")
    try:
        saved, _ = commit_form(form, lambda: kyc.approve(
            submission, kyc_level=form.kyc_level.data, approved_documents=form.approved_documents.data,
            notes=form.notes.data, actor=current_user))
    except (Conflict, Forbidden) as exc:
        return _review(submission_id, approve=form, error=exc.message, status=exc.status)
    if saved:
        customer = submission.customer
        return _decided(f"Verified {customer.name} ({customer.customer_code}) at KYC "
                        f"{customer.kyc_level.value.replace('_', ' ')}.")
    return _review(submission_id, approve=form, status=422)


@bp.post("/<int:submission_id>/reject")
@login_required
def reject(submission_id):
    submission = kyc.get_submission(submission_id, actor=current_user)
    form = RejectForm(prefix=f"kyc{submission.id}-reject")
    try:
        saved, _ = commit_form(form, lambda: kyc.reject(submission, reason=form.reason.data, notes=form.notes.data,
                                                        actor=current_user))
    except (Conflict, Forbidden) as exc:
        return _review(submission_id, reject=form, error=exc.message, status=exc.status)
    if saved:
        return _decided(f"Rejected the KYC documents of {submission.customer.name}: {submission.reason}")
    return _review(submission_id, reject=form, status=422)


@bp.get("/documents/<int:document_id>")
@login_required
def document(document_id):
    """A document's bytes to show inline (<img>, <iframe>), for whoever may see its customer."""
    found, data = documents.read(None, document_id, actor=current_user)
    return inline(data, found.content_type, found.filename)


# --- a customer's KYC: documents, submitting, decisions so far ---------------------------------------------------


def _customer_page(customer, form: KycUploadForm | None = None, status: int = 200):
    form = form or KycUploadForm(formdata=None)
    form.file.description = documents.accepted()
    return render_page_or_partial(
        "kyc/customer.html", "kyc/partials/_customer.html", status=status, customer=customer, form=form,
        unsubmitted=kyc.unsubmitted(customer), history=kyc.history(customer, actor=current_user),
        may_submit=permissions.can(current_user, "kyc.submit"), today=business_day.today())


@bp.get("/customers/<int:customer_id>")
@login_required
def customer(customer_id):
    return _customer_page(customers.get_visible(customer_id, actor=current_user))


@bp.post("/customers/<int:customer_id>/documents")
@login_required
def upload(customer_id):
    found = customers.get_visible(customer_id, actor=current_user)
    form = KycUploadForm()
    file = request.files.get("file")
    saved, document = commit_form(form, lambda: kyc.upload(
        found, doc_type=form.doc_type.data, filename=file.filename if file else None,
        content=file.stream if file and file.filename else None, document_number=form.document_number.data,
        issue_date=form.issue_date.data, expiry_date=form.expiry_date.data, actor=current_user))
    if saved:
        flash(f"Kept {document.kind.label} {document.filename}. Send the documents for review when all are in.",
              "success")
        if not request.htmx:
            return hx_redirect(url_for("kyc.customer", customer_id=found.id))
        return _customer_page(found)
    return _customer_page(found, form, status=422)


@bp.post("/customers/<int:customer_id>/submit")
@login_required
def submit(customer_id):
    found = customers.get_visible(customer_id, actor=current_user)
    try:
        kyc.submit(found, actor=current_user)
    except ValidationFailed as exc:
        db.session.rollback()
        flash_errors(exc)
    else:
        db.session.commit()
        flash(f"{found.name}'s documents are in the KYC queue.", "success")
    if not request.htmx:
        return hx_redirect(url_for("kyc.customer", customer_id=found.id))
    return _customer_page(found)
