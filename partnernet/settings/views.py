"""HQ settings pages: the general settings, the working calendar, the SLA policies and the change
log of users, tokens and all of these (hq_admin)."""
from datetime import date
from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms.fields.core import UnboundField

from partnernet.auth.models import User
from partnernet.cursors import cursor_page
from partnernet.extensions import db
from partnernet.customers.forms import ContractForm, CustomerForm
from partnernet.scope import require_role
from partnernet.settings import calendar
from partnernet.labels import product_line_name
from partnernet.network.models import PARTNER_KINDS, ProductLine
from partnernet.settings.forms import CalendarDayForm, CalendarImportForm, SettingsForm, SlaPolicyForm
from partnernet.settings import changes
from partnernet.settings.models import CHANGE_KINDS, CalendarDay, ChangeEvent, SlaPolicy
from partnernet.settings.service import load_settings, save_settings, save_sla_policy
from partnernet.timeclock import now_utc, today_in_china
from partnernet.web import first_page_instead, page_cursors, query_id

bp = Blueprint("settings", __name__, url_prefix="/settings")


WHOLE = ("offer_deadline_minutes", "free_service_months", "audit_min_offers", "certification_reminder_days",
         "audit_satisfaction_min_answers", "sla_warning_percent")
SHARES = ("audit_threshold", "audit_sold_not_served_threshold", "service_fee_rate", "audit_satisfaction_threshold",
          "callback_share")
SWITCHES = ("remind_offer_half_way", "tell_hq_expired_offers", "tell_hq_breaches")


@bp.route("/", methods=["GET", "POST"])
@login_required
def general():
    """Offer deadline, kind priority, entitlement and audit defaults, reminders and escalation. A change applies
    to what happens from now on: offers already made keep their deadlines."""
    require_role(current_user, "hq_admin")
    settings = load_settings()
    form = SettingsForm(data={
        **{key: int(settings[key]) for key in WHOLE}, **{key: Decimal(str(settings[key])) for key in SHARES},
        **{key: bool(settings[key]) for key in SWITCHES},
        "onsite_threshold_cny": Decimal(str(settings["onsite_threshold_cny"])),
        **{f"priority_{kind}": settings["kind_priority"].get(kind, 9) for kind in PARTNER_KINDS}})
    if form.validate_on_submit():
        changed = save_settings({
            **{key: form[key].data for key in WHOLE}, **{key: format(form[key].data, "f") for key in SHARES},
            **{key: bool(form[key].data) for key in SWITCHES},
            "onsite_threshold_cny": f"{form.onsite_threshold_cny.data:.2f}",
            "kind_priority": {kind: form[f"priority_{kind}"].data for kind in PARTNER_KINDS}}, current_user.id, now_utc())
        flash(_("Settings saved: %(count)d changed.", count=len(changed)), "success")
        return redirect(url_for("settings.general"))
    return render_template("settings/general.html", form=form, kinds=PARTNER_KINDS), 422 if form.errors else 200


@bp.get("/calendar")
@login_required
def calendar_page():
    require_role(current_user, "hq_admin")
    return render_calendar(request.args.get("year", type=int) or today_in_china().year, CalendarDayForm())


def render_calendar(year: int, day_form: CalendarDayForm, status=200):
    """The year's arrangement; after a refused day, the day's form as it was filled in."""
    year = min(max(year, 2000), 2100)
    # The days that differ from Monday–Friday: the arrangement a person checks.
    rows = db.session.execute(db.select(CalendarDay).where(
        CalendarDay.day.between(date(year, 1, 1), date(year, 12, 31))).order_by(CalendarDay.day)).scalars().all()
    exceptions = [r for r in rows if r.is_working != (r.day.weekday() < 5)]
    return render_template("settings/calendar.html", year=year, exceptions=exceptions, complete=len(rows) >= 365,
                           day_form=day_form, import_form=CalendarImportForm(),
                           missing=calendar.years_without_data(today_in_china())), status


@bp.post("/calendar/day")
@login_required
def set_calendar_day():
    require_role(current_user, "hq_admin")
    form = CalendarDayForm()
    if form.validate_on_submit():
        calendar.set_day(form.day.data, form.is_working.data == "working", form.note.data, current_user.id)
        flash(_("%(day)s saved.", day=form.day.data), "success")
        return redirect(url_for("settings.calendar_page", year=form.day.data.year))
    return render_calendar(today_in_china().year, form, status=422)


@bp.post("/calendar/import")
@login_required
def import_calendar():
    require_role(current_user, "hq_admin")
    form = CalendarImportForm()
    if not form.validate_on_submit():
        flash(_("Choose a CSV file."), "danger")
        return redirect(url_for("settings.calendar_page"))
    result = calendar.import_year_csv(form.file.data.read(1024 * 1024), current_user.id)
    if not result.ok:
        for error in result.errors[:20]:
            flash(_("Row %(row)d: %(message)s", row=error.row, message=error.message), "danger")
        flash(_("Nothing was imported."), "danger")
        return redirect(url_for("settings.calendar_page"))
    flash(_("Calendar %(year)d imported: %(off)d weekdays off, %(on)d weekend working days.",
            year=result.year, off=result.days_off_on_weekdays, on=result.working_weekend_days), "success")
    return redirect(url_for("settings.calendar_page", year=result.year))


@bp.route("/sla-policies", methods=["GET", "POST"])
@login_required
def sla_policies():
    require_role(current_user, "hq_admin")
    policies = db.session.execute(db.select(SlaPolicy).order_by(SlaPolicy.id)).scalars().all()
    forms = {p.id: SlaPolicyForm(obj=p, prefix=f"p{p.id}") for p in policies}
    edited = request.form.get("policy_id", type=int)
    if request.method == "POST" and edited in forms:
        policy, form = db.session.get(SlaPolicy, edited), forms[edited]
        if form.validate_on_submit():
            if policy.kind == "business_hours" and not (form.day_start.data and form.day_end.data
                                                        and form.day_start.data < form.day_end.data):
                form.day_end.errors = [_("The working day must end after it starts.")]
            else:
                save_sla_policy(policy, form.data, current_user.id, now_utc())
                flash(_("Policy saved. New tickets use it; open tickets keep their due times."), "success")
                return redirect(url_for("settings.sla_policies"))
    return render_template("settings/sla_policies.html", policies=policies, forms=forms)


@bp.get("/changes")
@login_required
def changes_log():
    """Who changed which user, token, setting, SLA policy or calendar day, and when."""
    require_role(current_user, "hq_admin")
    if "page" in request.args:
        return first_page_instead("settings.changes_log")
    kind = request.args.get("kind", "") if request.args.get("kind") in CHANGE_KINDS else ""
    user_id = query_id("user")
    about = db.session.get(User, user_id) if user_id else None
    if user_id is not None and about is None:
        abort(404)  # no such user
    page = cursor_page(changes.changes_statement(kind or None, user_id), [(ChangeEvent.id, True)], "changes",
                       *page_cursors())
    line_names = {line.code: product_line_name(line) for line in db.session.execute(db.select(ProductLine)).scalars()}
    return render_template("settings/changes.html", page=page, kind=kind, kinds=CHANGE_KINDS, about=about,
                           names=CHANGED_NAMES, line_names=line_names)


# What the log calls a setting or a policy's column: the label of its field on the page.
CHANGED_NAMES = {**{name: field.args[0] for form in (ContractForm, CustomerForm, SettingsForm, SlaPolicyForm)
                    for name, field in vars(form).items() if isinstance(field, UnboundField)},
                 "kind_priority": _l("Kind priority within a level (1 first)"), "sold_by": _l("Sold by")}
