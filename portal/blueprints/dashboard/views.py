from flask import redirect, url_for
from flask_login import current_user, login_required

from portal.blueprints.dashboard import bp
from portal.htmx import render_page_or_partial
from portal.services import dashboard


@bp.get("/")
def root():
    return redirect(url_for("dashboard.index"))


@bp.get("/portal/")
@login_required
def index():
    return render_page_or_partial("dashboard/index.html", "dashboard/_tiles.html",
                                  tiles=dashboard.tiles_for(current_user))
