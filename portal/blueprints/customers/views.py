from flask import flash, request, url_for
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from portal.blueprints.customers import bp
from portal.blueprints.customers.forms import CustomerFilterForm, CustomerForm
from portal.blueprints.forms import attach_errors
from portal.htmx import hx_redirect, render_page_or_partial
from portal.models import Role
from portal.models.base import db
from portal.services import customers, permissions, users
from portal.services.errors import ValidationFailed

PER_PAGE = 25


def _filters_from(args, form: CustomerFilterForm) -> customers.CustomerFilters:
    officer = args.get("assigned_officer", type=int)
    return customers.CustomerFilters(search=form.q.data, location=form.location.data,
                                     kyc_status=form.kyc_status.data or None, sort=form.sort.data or "newest",
                                     assigned_officer=officer, unassigned=args.get("unassigned") == "1")


@bp.get("/")
@login_required
def index():
    form = CustomerFilterForm(request.args)
    page = customers.search(_filters_from(request.args, form), actor=current_user,
                            page=request.args.get("page", 1, type=int), per_page=PER_PAGE)
    return render_page_or_partial("customers/index.html", "customers/partials/_results.html",
                                  form=form, page=page, args=request.args.to_dict())


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
    if form.validate_on_submit():
        try:
            customer = customers.create(form.service_values(can_assign), actor=current_user)
        except ValidationFailed as exc:
            attach_errors(form, exc)
        else:
            db.session.commit()
            flash(f"Customer {customer.name} ({customer.customer_code}) created.", "success")
            return hx_redirect(url_for("customers.detail", customer_id=customer.id))
    return _render_form(form, status=422 if form.errors or form.form_errors else 200)


@bp.get("/<int:customer_id>")
@login_required
def detail(customer_id):
    customer = customers.get_visible(customer_id, actor=current_user)
    return render_page_or_partial("customers/detail.html", "customers/partials/_profile.html",
                                  customer=customer)


@bp.route("/<int:customer_id>/edit", methods=["GET", "POST"])
@login_required
def edit(customer_id):
    customer = customers.get_visible(customer_id, actor=current_user)
    permissions.require(current_user, "customer.update")
    form = CustomerForm(obj=customer)
    can_assign = _officer_picker(form, permissions.can(current_user, "customer.assign"))
    if form.validate_on_submit():
        try:
            customers.update(customer, form.service_values(can_assign), actor=current_user)
        except ValidationFailed as exc:
            db.session.rollback()
            attach_errors(form, exc)
        else:
            db.session.commit()
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
