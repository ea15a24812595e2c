"""The user's notifications, which kinds of them they get by e-mail (set on their profile page),
and the delivery log of cards to group robots."""
import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from partnernet.errors import Conflict
from partnernet.extensions import db
from partnernet.network.models import Party
from partnernet.notifications import delivery, service
from partnernet.notifications.models import NotificationChannel
from partnernet.notifications.providers import PROVIDER_NAMES
from partnernet.scope import require_role
from partnernet.timeclock import now_utc
from partnernet.web import query_id

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

DELIVERY_LOG_ROLES = ("hq_admin", "partner_admin")


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


@bp.get("/deliveries")
@login_required
def deliveries():
    """The cards sent to group robots, newest first: HQ's administrator every party's, a partner's
    administrator its own party's."""
    require_role(current_user, *DELIVERY_LOG_ROLES)
    status = request.args.get("status") if request.args.get("status") in delivery.LOG_STATUSES else ""
    party_id = query_id("party") if current_user.is_hq else None
    messages, next_before = delivery.deliveries_page(current_user, status or None, party_id, query_id("before"))
    parties = []
    if current_user.is_hq:  # the parties that have channels, to filter by
        parties = db.session.execute(sa.select(Party.id, Party.name).where(Party.id.in_(
            sa.select(NotificationChannel.party_id))).order_by(Party.name)).all()
    return render_template("notifications/deliveries.html", messages=messages, next_before=next_before,
                           status=status, party_id=party_id, parties=parties,
                           first_page=query_id("before") is not None, statuses=delivery.STATUS_NAMES,
                           kinds=delivery.KIND_NAMES, providers=PROVIDER_NAMES)


@bp.post("/deliveries/<int:message_id>/retry")
@login_required
def retry_delivery(message_id):
    """A failed card back in the outbox; another party's is a 404."""
    require_role(current_user, *DELIVERY_LOG_ROLES)
    try:
        delivery.retry_delivery(current_user, message_id, now_utc())
    except Conflict as error:
        flash(error.message, "warning")
    else:
        flash(_("The card will be sent again within a minute."), "success")
    return redirect(url_for("notifications.deliveries", status=request.form.get("status") or None,
                            party=request.form.get("party", type=int)))
