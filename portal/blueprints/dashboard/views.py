from flask import current_app, jsonify, redirect, url_for
from flask_login import current_user, login_required
from sqlalchemy.exc import DBAPIError

from portal.blueprints.dashboard import bp
from portal.htmx import render_page_or_partial
from portal.services import dashboard, mpesa_inbox


@bp.get("/")
def root():
    return redirect(url_for("dashboard.index"))


@bp.get("/portal/")
@login_required
def index():
    return render_page_or_partial("dashboard/index.html", "dashboard/_tiles.html",
                                  tiles=dashboard.tiles_for(current_user))


@bp.get("/health")
def health():
    """For load balancers and monitoring: 200 while the database answers ("degraded" when M-Pesa receipts
    are waiting far longer than the booker lets them: is it running?), 503 when it does not."""
    try:
        stalled = mpesa_inbox.backlog().stalled
    except DBAPIError:
        current_app.logger.exception("health check: the database did not answer")
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="degraded" if stalled else "ok", database="ok", mpesa_booking="stalled" if stalled else "ok")
