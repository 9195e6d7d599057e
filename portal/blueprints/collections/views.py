from flask import abort, flash, make_response, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from portal.blueprints.collections import bp
from portal.blueprints.collections.forms import InteractionForm, ReassignForm
from portal.blueprints.forms import commit_form, flash_errors
from portal.htmx import hx_event_or_redirect, render_page_or_partial
from portal.models import InteractionKind, Loan, Role
from portal.models.base import db
from portal.services import agent_queue, assignments, interactions, loans, permissions, team_board
from portal.services.errors import ValidationFailed

PER_PAGE = 25
QUEUE_ARGS = ("reason", "bucket", "location", "agent")
KINDS = {kind.value for kind in InteractionKind}


def _filters() -> agent_queue.QueueFilters:
    return agent_queue.QueueFilters(reason=request.args.get("reason") or None,
                                    bucket=request.args.get("bucket") or None,
                                    location=request.args.get("location") or None,
                                    agent_id=request.args.get("agent", type=int))


def _queue_args() -> dict:
    return {k: v for k, v in request.args.items() if k in QUEUE_ARGS and v}


@bp.get("/")
@login_required
def queue():
    try:
        work = agent_queue.work_queue(current_user, _filters(), page=request.args.get("page", 1, type=int),
                                      per_page=PER_PAGE)
    except ValidationFailed:
        abort(400)
    team_view = permissions.can(current_user, "queue.view_team")
    return render_page_or_partial(
        "collections/queue.html", "collections/partials/_queue.html", queue=work, args=_queue_args(),
        reasons=agent_queue.REASONS, buckets=agent_queue.BUCKETS,
        agents=agent_queue.agents_for(current_user) if team_view else [], team_view=team_view)


def _kind_for(user) -> InteractionKind:
    """Calling agents call and officers visit; managers choose (calls by default)."""
    return InteractionKind.FIELD if user.role == Role.COLLECTION_OFFICER else InteractionKind.CALLING


def _panel(loan: Loan, form: InteractionForm | None = None, status: int = 200):
    if form is None:
        form = InteractionForm(formdata=None, kind=_kind_for(current_user).value)
    return render_page_or_partial(
        "collections/loan.html", "collections/partials/_panel.html", status=status, loan=loan, form=form,
        context=agent_queue.loan_context(loan, actor=current_user),
        choose_kind=permissions.can(current_user, "interaction.field")
        and permissions.can(current_user, "interaction.calling"))


@bp.get("/loans/<int:loan_id>")
@login_required
def panel(loan_id):
    return _panel(loans.get_visible(loan_id, actor=current_user))


@bp.post("/loans/<int:loan_id>/interactions")
@login_required
def log_interaction(loan_id):
    loan = loans.get_visible(loan_id, actor=current_user)
    form = InteractionForm()
    photo = request.files.get("photo")
    saved, interaction = commit_form(form, lambda: interactions.create(
        InteractionKind(form.kind.data) if form.kind.data in KINDS else _kind_for(current_user), loan.id,
        form.service_values(), actor=current_user, photo=photo.stream if photo and photo.filename else None))
    if saved:
        flash(f"Logged “{interaction.disposition.label}” on {loan.loan_number} "
              f"for {loan.customer.name}.", "success")
        # The queue reloads with its filters: the row moves, counts update.
        return hx_event_or_redirect("queue-changed", url_for("collections.queue"))
    return _panel(loan, form, status=422)


@bp.get("/team")
@login_required
def team():
    period = request.args.get("period", "today")
    try:
        result = team_board.board(current_user, period)
    except ValidationFailed:
        abort(400)
    return render_page_or_partial("collections/team.html", "collections/partials/_board.html", board=result)


@bp.post("/reassign")
@login_required
def reassign():
    form = ReassignForm()
    kind, _, target = (form.target.data or "").partition(":")
    if not form.validate_on_submit():
        abort(400)
    target = int(target) if target.isdigit() else None
    try:
        if kind == "officer":
            customer_ids = db.session.scalars(select(Loan.customer_id).where(Loan.id.in_(form.loan_ids.data)))
            changed = assignments.assign_customers(list(customer_ids), target, actor=current_user)
            flash(f"{changed} customer{'s' if changed != 1 else ''} handed to the officer.", "success")
        else:
            changed = assignments.assign_loans(form.loan_ids.data, target, actor=current_user)
            flash(f"{changed} loan{'s' if changed != 1 else ''} handed to the calling agent.", "success")
    except ValidationFailed as exc:
        db.session.rollback()
        flash_errors(exc)
    else:
        db.session.commit()
    return hx_event_or_redirect("queue-changed", url_for("collections.queue"))


@bp.get("/interactions/<int:interaction_id>/photo")
@login_required
def photo(interaction_id):
    content_type, data = interactions.photo(interaction_id, actor=current_user)
    response = make_response(data)
    response.content_type = content_type
    response.headers["Cache-Control"] = "private, max-age=86400"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
