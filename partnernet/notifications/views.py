"""The user's notifications."""
from flask import Blueprint, redirect, render_template, url_for
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
