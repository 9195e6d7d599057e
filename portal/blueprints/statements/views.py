"""PDF statements: short ones are sent at once, long ones are prepared by a background job whose
progress page polls until the file is ready.

Asking for a long statement is a GET that answers a page which POSTs the request for the job:
GETs change nothing (link prefetchers, reloads), and the POST takes SQLite's write lock up front.
"""

from datetime import date
from io import BytesIO

from flask import render_template, request, send_file, url_for
from flask_login import current_user, login_required

from portal.blueprints.statements import bp
from portal.blueprints.statements.forms import PeriodForm
from portal.htmx import hx_redirect, render_page_or_partial
from portal.models.base import db
from portal.services import business_day, customers, jobs, statements
from portal.services.errors import ValidationFailed


def _send(data: bytes, filename: str, content_type: str):
    response = send_file(BytesIO(data), mimetype=content_type, as_attachment=True, download_name=filename)
    response.headers["Cache-Control"] = "private, no-store"  # a customer's money: no shared caches
    return response


def _start(job):
    job_id = job.id
    db.session.commit()  # the runner reads the job from its own session
    jobs.start(job)
    return hx_redirect(url_for("statements.job", job_id=job_id))


@bp.route("/loans/<int:loan_id>", methods=["GET", "POST"])
@login_required
def loan(loan_id):
    if request.method == "POST":
        return _start(statements.queue_loan_statement(loan_id, actor=current_user))
    result = statements.loan_statement(loan_id, actor=current_user)
    if isinstance(result, statements.Deferred):
        return render_template("statements/deferred.html", deferred=result,
                               action=url_for("statements.loan", loan_id=loan_id), fields={})
    return _send(result.data, result.filename, result.content_type)


@bp.route("/customers/<int:customer_id>", methods=["GET", "POST"])
@login_required
def customer(customer_id):
    if request.method == "POST":
        return _start(statements.queue_customer_statement(
            customer_id, request.form.get("start"), request.form.get("end"), actor=current_user))
    form = PeriodForm(formdata=request.args)
    if "start" not in request.args and "end" not in request.args:
        today = business_day.today()
        form.start.data, form.end.data = date(today.year, today.month, 1).isoformat(), today.isoformat()
        return _period_page(customer_id, form)
    try:
        result = statements.customer_statement(customer_id, form.start.data, form.end.data, actor=current_user)
    except ValidationFailed as exc:
        form.start.errors, form.end.errors = exc.errors.get("start", []), exc.errors.get("end", [])
        return _period_page(customer_id, form, status=422)
    if isinstance(result, statements.Deferred):
        return render_template("statements/deferred.html", deferred=result,
                               action=url_for("statements.customer", customer_id=customer_id),
                               fields={"start": form.start.data, "end": form.end.data})
    return _send(result.data, result.filename, result.content_type)


def _period_page(customer_id: int, form: PeriodForm, status: int = 200):
    customer = customers.get_visible(customer_id, actor=current_user)
    return render_page_or_partial("statements/customer.html", "statements/partials/_period_form.html",
                                  status=status, form=form, customer=customer)


@bp.get("/jobs/<job_id>")
@login_required
def job(job_id):
    job = jobs.get_owned(job_id, actor=current_user)
    db.session.commit()  # a job found abandoned has just been marked failed
    return render_page_or_partial("statements/job.html", "statements/partials/_job.html", job=job)


@bp.get("/jobs/<job_id>/download")
@login_required
def download(job_id):
    job = jobs.get_owned(job_id, actor=current_user)
    return _send(jobs.result_of(job), job.filename, job.content_type)
