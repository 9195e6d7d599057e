"""The notifications centre: the signed-in user's notifications, mark read, mark all read, delete; and
the navbar badge's unread count (refreshed by Socket.IO events, or by polling when the socket is down)."""

from flask import make_response, render_template, request, url_for
from flask_login import current_user, login_required

from portal.blueprints.notifications import bp
from portal.htmx import hx_redirect, hx_trigger, render_page_or_partial
from portal.models.base import db
from portal.services import notifications

PER_PAGE = 25
CHANGED = "notifications-changed"  # the badge listens for it (see notifications/partials/_navbar_badge.html)


def _view_args() -> dict:
    """The listing the page shows (?show=unread, ?page=N): kept across actions."""
    args = {}
    if request.values.get("show") == "unread":
        args["show"] = "unread"
    page = request.values.get("page", 1, type=int)
    if page and page > 1:
        args["page"] = page
    return args


def _listing():
    args = _view_args()
    found = notifications.listing(actor=current_user, page=args.get("page", 1), per_page=PER_PAGE,
                                  unread_only="show" in args)
    return render_page_or_partial("notifications/index.html", "notifications/partials/_list.html",
                                  notes=found, show=args.get("show", "all"))


def _changed():
    """After an action: the list again for HTMX (and the badge told to refresh), else back to the page."""
    if not request.htmx:
        return hx_redirect(url_for("notifications.index", **_view_args()))
    return hx_trigger(_listing(), CHANGED)


@bp.get("/")
@login_required
def index():
    return _listing()


@bp.get("/badge")
@login_required
def badge():
    """The unread count inside the navbar badge."""
    response = make_response(render_template("notifications/partials/_badge_count.html",
                                             unread=notifications.unread_count(actor=current_user)))
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/<int:notification_id>/read")
@login_required
def read(notification_id):
    note = notifications.get_own(notification_id, actor=current_user)
    notifications.mark_read(note, actor=current_user)
    db.session.commit()
    return _changed()


@bp.post("/read-all")
@login_required
def read_all():
    notifications.mark_all_read(actor=current_user)
    db.session.commit()
    return _changed()


@bp.post("/<int:notification_id>/delete")
@login_required
def delete(notification_id):
    note = notifications.get_own(notification_id, actor=current_user)
    notifications.delete_own(note, actor=current_user)
    db.session.commit()
    return _changed()
