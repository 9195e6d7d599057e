
from flask import abort, flash, request, url_for
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from portal.blueprints.customers import bp
from portal.blueprints.customers.forms import CustomerFilterForm, CustomerForm, DocumentUploadForm
from portal.blueprints.forms import commit_form
from portal.files import download
from portal.htmx import hx_redirect, is_partial_request, render_page_or_partial
from portal.models import Role
from portal.models.base import db
from portal.services import business_day, customer_activity, customers, documents, exports, permissions, users

PER_PAGE = 25
TABS = {"profile": "Profile", "loans": "Loans", "repayments": "Repayments", "interactions": "Interactions",
        "documents": "Documents"}


def _filters_from(args, form: CustomerFilterForm) -> customers.CustomerFilters:
    officer = args.get("assigned_officer", type=int)
    return customers.CustomerFilters(search=form.q.data, location=form.location.data,
                                     kyc_status=form.kyc_status.data or None, sort=form.sort.data or "newest",
                                     has_documents={"yes": True, "no": False}.get(form.has_documents.data),
                                     assigned_officer=officer, unassigned=args.get("unassigned") == "1")


@bp.get("/")
@login_required
def index():
    form = CustomerFilterForm(request.args)
    page = customers.search(_filters_from(request.args, form), actor=current_user,
                            page=request.args.get("page", 1, type=int), per_page=PER_PAGE)
    return render_page_or_partial("customers/index.html", "customers/partials/_results.html",
                                  form=form, page=page, args=request.args.to_dict())


@bp.get("/export/<any(csv, excel):fmt>")
@login_required
def export(fmt):
    """The whole list under the current search and filters, as a file streamed while it is written."""
    form = CustomerFilterForm(request.args)
    result = exports.customer_export(_filters_from(request.args, form), fmt, actor=current_user)
    return download(result.chunks, result.mimetype, result.filename, result.size)


def _officer_picker(form: CustomerForm, allowed: bool) -> bool:
    """Fill the officer picker when the actor may choose an officer; say whether they may."""
    if allowed:
        officers = users.staff_choices(current_user, (Role.COLLECTION_OFFICER,))
        form.assigned_officer_id.choices = [SelectChoice("", "Not assigned")] + [
            SelectChoice(str(o.id), o.full_name) for o in officers]
    return allowed


def _render_form(form, customer=None, status=200):
    return render_page_or_partial("customers/form.html", "customers/partials/_form.html", status=status,
                                  form=form, customer=customer)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    permissions.require(current_user, "customer.create")
    form = CustomerForm()
    can_assign = _officer_picker(form, permissions.can(current_user, "customer.choose_officer"))
    saved, customer = commit_form(form, lambda: customers.create(form.service_values(can_assign), actor=current_user))
    if saved:
        flash(f"Customer {customer.name} ({customer.customer_code}) created.", "success")
        return hx_redirect(url_for("customers.detail", customer_id=customer.id))
    return _render_form(form, status=422 if form.errors or form.form_errors else 200)


@bp.get("/<int:customer_id>")
@login_required
def detail(customer_id):
    """The customer page; ?tab= picks the tab rendered, alone for an HTMX tab load, in the page otherwise."""
    customer = customers.get_visible(customer_id, actor=current_user)
    tab = request.args.get("tab", "profile")
    if tab not in TABS:
        abort(404)
    return _render_tab(customer, tab, **_tab_context(customer, tab))


def _tab_context(customer, tab: str) -> dict:
    page = request.args.get("page", 1, type=int)
    if tab == "loans":
        return {"positions": customer_activity.loan_positions(customer, actor=current_user,
                                                              today=business_day.today(), page=page)}
    if tab == "repayments":
        return {"payments": customer_activity.payments(customer, actor=current_user, page=page)}
    if tab == "interactions":
        return {"timeline": customer_activity.timeline(customer, actor=current_user, page=page)}
    if tab == "documents":
        return _documents_context(customer, _upload_form())
    return {}


def _render_tab(customer, tab: str, status: int = 200, **context):
    return render_page_or_partial("customers/detail.html", f"customers/partials/_{tab}.html", status=status,
                                  customer=customer, tab=tab, tabs=TABS, **context)


def _documents_context(customer, form: DocumentUploadForm, **extra) -> dict:
    return {"documents": documents.for_customer(customer, actor=current_user), "form": form,
            **extra}


def _upload_form(**kwargs) -> DocumentUploadForm:
    form = DocumentUploadForm(**kwargs)
    form.file.description = documents.accepted()
    return form


@bp.post("/<int:customer_id>/documents")
@login_required
def upload_document(customer_id):
    customer = customers.get_visible(customer_id, actor=current_user)
    form = _upload_form()
    file = form.file.data
    saved, uploaded = commit_form(form, lambda: documents.upload(
        customer, doc_type=form.doc_type.data, filename=file.filename if file else None,
        content=file.stream if file else None, actor=current_user))
    if saved:
        if not is_partial_request():
            flash(f"{uploaded.filename} uploaded.", "success")
            return hx_redirect(url_for("customers.detail", customer_id=customer.id, tab="documents"))
        form = _upload_form(formdata=None)
    return _render_tab(customer, "documents", status=422 if form.errors or form.form_errors else 200,
                       **_documents_context(customer, form, uploaded=uploaded))


@bp.get("/<int:customer_id>/documents/<int:document_id>")
@login_required
def download_document(customer_id, document_id):
    document, data = documents.read(customer_id, document_id, actor=current_user)
    return download(data, document.content_type, document.filename)


@bp.route("/<int:customer_id>/edit", methods=["GET", "POST"])
@login_required
def edit(customer_id):
    customer = customers.get_visible(customer_id, actor=current_user)
    permissions.require(current_user, "customer.update")
    form = CustomerForm(obj=customer)
    can_assign = _officer_picker(form, permissions.can(current_user, "customer.assign"))
    saved, _ = commit_form(form, lambda: customers.update(customer, form.service_values(can_assign),
                                                          actor=current_user))
    if saved:
        flash("Changes saved.", "success")
        return hx_redirect(url_for("customers.detail", customer_id=customer.id))
    return _render_form(form, customer, status=422 if form.errors or form.form_errors else 200)


@bp.post("/<int:customer_id>/delete")
@login_required
def delete(customer_id):
    customer = customers.get_visible(customer_id, actor=current_user)
    name = customer.name
    customers.delete(customer, actor=current_user)
    db.session.commit()
    flash(f"Customer {name} deleted.", "success")
    return hx_redirect(url_for("customers.index"))
