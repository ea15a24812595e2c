"""The user's notifications, and which kinds of them they get by e-mail (set on their profile page)."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from partnernet.notifications import service
from partnernet.timeclock import now_utc

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.get("/")
@login_required
def index():
    return render_template("notifications/index.html", notifications=service.recent(current_user))


@bp.post("/read")
@login_required
def mark_read():
    service.mark_all_read(current_user, now_utc())
    return redirect(url_for("notifications.index"))


@bp.post("/email-preferences")
@login_required
def email_preferences():
    """The kinds ticked are e-mailed; the others only reach the bell."""
    service.set_email_preferences(current_user.id, request.form.getlist("by_email"))
    flash(_("E-mail preferences saved."), "success")
    return redirect(url_for("profile.index") + "#email")
