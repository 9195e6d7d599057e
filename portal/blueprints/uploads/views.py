"""Bulk CSV upload: choose a file, preview it (a dry run), then import it a chunk per request."""

from flask import flash, request, url_for
from flask_login import current_user, login_required

from portal.blueprints.uploads import bp
from portal.blueprints.uploads.forms import UploadForm
from portal.htmx import hx_redirect, render_page_or_partial
from portal.models.base import db
from portal.services import bulk_upload, staged_uploads
from portal.services.bulk_upload import Kind
from portal.services.errors import FileRejected

KIND_LABELS = {Kind.CUSTOMERS: "Customers", Kind.INTERACTIONS: "Interactions (field visits and calls)"}


@bp.route("/", methods=["GET", "POST"])
@login_required
def new():
    kinds = bulk_upload.upload_kinds(current_user)
    if request.method == "POST":
        bulk_upload.check_size(request.content_length)
    form = UploadForm()
    form.kind.choices = [(kind.value, KIND_LABELS[kind]) for kind in kinds]
    if form.validate_on_submit():
        try:
            staged = staged_uploads.stage(form.file.data, Kind(form.kind.data), actor=current_user)
        except FileRejected as exc:
            form.file.errors = [exc.message]
        else:
            return hx_redirect(url_for("uploads.preview", token=staged.token))
    return render_page_or_partial("uploads/new.html", "uploads/partials/_form.html",
                                  status=422 if form.errors else 200, form=form, kinds=kinds,
                                  columns=bulk_upload.COLUMNS, required=bulk_upload.REQUIRED_COLUMNS)


@bp.get("/<token>")
@login_required
def preview(token):
    preview = staged_uploads.preview(token, actor=current_user)
    return render_page_or_partial("uploads/preview.html", "uploads/partials/_preview.html", preview=preview)


@bp.post("/<token>/import")
@login_required
def import_chunk(token):
    progress = staged_uploads.import_next(token, request.form.get("position", type=int), actor=current_user)
    db.session.commit()
    return render_page_or_partial("uploads/progress.html", "uploads/partials/_progress.html", progress=progress)


@bp.post("/<token>/discard")
@login_required
def discard(token):
    staged_uploads.discard(token, actor=current_user)
    flash("The uploaded file was discarded.", "info")
    return hx_redirect(url_for("uploads.new"))
