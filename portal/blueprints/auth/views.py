from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from portal.blueprints.auth import bp
from portal.blueprints.auth.forms import ChangePasswordForm, LoginForm
from portal.blueprints.forms import commit_form
from portal.extensions import limiter
from portal.models.base import db
from portal.services import audit, users
from portal.services.agent_queue import AGENT_ROLES
from portal.services.errors import AuthFailed


def _home(user) -> str:
    """Where a day starts: agents at their collection queue, everyone else at the dashboard."""
    return url_for("collections.queue" if user.role in AGENT_ROLES else "dashboard.index")


def _safe_next(target: str | None, user) -> str:
    """Only same-site paths: an open redirect after login would be a phishing gift."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return _home(user)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"],
               deduct_when=lambda response: response.status_code != 303)
def login():
    if current_user.is_authenticated:
        return redirect(_home(current_user))
    form, status = LoginForm(), 200
    if form.validate_on_submit():
        try:
            user = users.authenticate(form.username.data, form.password.data)
            if not user.is_staff:
                raise AuthFailed("This portal is for staff. Customers use the Mkopo mobile app.")
        except AuthFailed as exc:
            form.form_errors.append(exc.message)
            status = 401
        else:
            login_user(user, remember=form.remember.data)
            audit.record(user, "user.login", "user", user.id)
            db.session.commit()
            return redirect(_safe_next(request.args.get("next"), user), 303)
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    flash("You have signed out.", "info")
    return redirect(url_for("auth.login"), 303)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    saved, _ = commit_form(form, lambda: users.change_password(current_user, form.current_password.data,
                                                               form.new_password.data))
    if saved:
        login_user(current_user)  # the token version moved on: re-issue this browser's session
        flash("Your password has been changed. Other devices have been signed out.", "success")
        return redirect(url_for("dashboard.index"), 303)
    return render_template("auth/change_password.html", form=form)
