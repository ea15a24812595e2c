"""`/` sends each user to the home page of their role."""
from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required

from partnernet.audit.service import history_for_party
from partnernet.auth.models import HQ_ROLES
from partnernet.home import dashboard, service
from partnernet.scope import require_role
from partnernet.tickets.models import HELD_STATUSES, Ticket
from partnernet.settings.calendar import years_without_data
from partnernet.settings.service import load_settings
from partnernet.timeclock import now_utc, today_in_china

bp = Blueprint("home", __name__)


@bp.get("/")
@login_required
def index():
    if current_user.is_hq:
        return redirect(url_for("home.hq"))
    if current_user.role == "partner_admin":
        return redirect(url_for("home.partner"))
    return redirect(url_for("home.engineer"))


@bp.get("/hq")
@login_required
def hq():
    require_role(current_user, *HQ_ROLES)
    settings = load_settings()
    return render_template("home/hq.html", summary=service.hq_summary(current_user),
                           board=dashboard.hq_dashboard(now_utc(), int(settings["certification_reminder_days"])),
                           calendar_missing=years_without_data(today_in_china()))


@bp.get("/partner")
@login_required
def partner():
    require_role(current_user, "partner_admin")
    days = load_settings()["certification_reminder_days"]
    return render_template(
        "home/partner.html",
        offers=service.offers_waiting(current_user),
        tickets=service.open_tickets(current_user),
        tickets_by_status=service.count_by(Ticket, Ticket.status, current_user,
                                           Ticket.status.in_(HELD_STATUSES)),
        expiring=service.certifications_expiring(current_user, today_in_china(), days),
        reminder_days=days,
        latest_finding=next(iter(history_for_party(current_user.party_id)), None),
        now=now_utc(),
    )


@bp.get("/me")
@login_required
def engineer():
    require_role(current_user, "engineer")
    return render_template(
        "home/engineer.html",
        tickets=service.open_tickets(current_user),
        certifications=service.own_certifications(current_user, today_in_china(now_utc()),
                                                  int(load_settings()["certification_reminder_days"])),
    )
