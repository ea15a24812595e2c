"""The audit pages: runs and their scorecards (HQ), a finding with its evidence, decisions and
answers, and a partner's own findings. Views parse and check roles; audit.service holds the rules,
who may decide on or answer a finding among them."""
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from partnernet.audit import scorecard, service
from partnernet.audit.forms import DecisionForm, ResponseForm, RunForm
from partnernet.audit.measures import MEASURES_WITH_TICKETS
from partnernet.auth.models import HQ_ROLES, MANAGER_ROLES, User
from partnernet.errors import DomainError
from partnernet.extensions import db
from partnernet.labels import label
from partnernet.scope import require_role
from partnernet.settings.service import load_settings
from partnernet.timeclock import now_utc, today_in_china
from partnernet.web import download, show_errors

bp = Blueprint("audit", __name__)


def last_month(today):
    """The first and last day of the month before `today`'s."""
    end = today.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


def run_form() -> RunForm:
    """The start-a-run form, filled with last month and the settings' parameters on first sight."""
    if request.method == "POST":
        return RunForm()
    settings = load_settings()
    start, end = last_month(today_in_china())
    return RunForm(period_start=start, period_end=end, threshold=Decimal(str(settings["audit_threshold"])),
                   min_offers=settings["audit_min_offers"],
                   sold_not_served_threshold=Decimal(str(settings["audit_sold_not_served_threshold"])))


def render_runs(form: RunForm, status=200):
    return render_template("audit/runs.html", runs=service.list_runs(current_user, limit=200),
                           awaiting=service.awaiting_decision(), form=form,
                           can_start=current_user.role in MANAGER_ROLES), status


@bp.get("/audits")
@login_required
def runs():
    require_role(current_user, *HQ_ROLES)
    return render_runs(run_form())


@bp.post("/audits")
@login_required
def start_run():
    require_role(current_user, *MANAGER_ROLES)
    form = run_form()
    if not form.validate_on_submit():
        return render_runs(form, 422)
    params = {"threshold": form.threshold.data, "min_offers": form.min_offers.data,
              "sold_not_served_threshold": form.sold_not_served_threshold.data}
    try:
        run = service.start_run(form.period_start.data, form.period_end.data, params, "ui", current_user, now_utc())
    except DomainError as error:
        db.session.rollback()
        show_errors(form, error)
        return render_runs(form, error.status)
    flagged = sum(1 for finding in run.findings if finding.flagged)
    flash(_("Audit run stored: %(partners)d partners measured, %(flagged)d flagged.",
            partners=len(run.findings), flagged=flagged), "success")
    return redirect(url_for("audit.run", run_id=run.id))


def table_order() -> tuple[str, bool]:
    sort = request.args.get("sort", "flagged")
    if sort not in scorecard.SORTS:
        sort = "flagged"
    return sort, request.args.get("order", "desc") == "desc"


def run_findings(run):
    flagged_only = request.args.get("flagged") == "1"
    sort, descending = table_order()
    findings = service.findings_of_run(run, current_user, flagged_only=flagged_only)
    return scorecard.sorted_findings(findings, sort, descending), flagged_only


@bp.get("/audits/<int:run_id>")
@login_required
def run(run_id):
    require_role(current_user, *HQ_ROLES)
    audit_run = service.get_run(run_id, current_user)
    findings, flagged_only = run_findings(audit_run)
    return render_template("audit/run.html", run=audit_run, findings=findings, flagged_only=flagged_only,
                           medians=service.network_medians(audit_run), measure_labels=scorecard.MEASURE_LABELS)


@bp.get("/audits/<int:run_id>.<any(csv, xlsx):format>")
@login_required
def export(run_id, format):
    """The run's table as the page shows it (same filter and order), as a file."""
    require_role(current_user, *HQ_ROLES)
    audit_run = service.get_run(run_id, current_user)
    findings, _flagged_only = run_findings(audit_run)
    export = scorecard.export(f"{audit_run.period_start}–{audit_run.period_end}", findings, label)
    return download(format, export, scorecard.export_name(audit_run))


# --- one finding ------------------------------------------------------------------------------------

def default_measure(finding) -> str:
    """The number whose tickets the finding page opens on: what the finding is flagged for."""
    reasons = finding.flag_reasons or []
    if "push_back" in reasons or not reasons:
        return "push_back"
    return "sold_not_served" if "sold_not_served" in reasons else "satisfaction_answers"


def user_names(ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(db.session.execute(sa.select(User.id, User.name).where(User.id.in_(ids))).all())


def render_finding(finding, decision_form=None, response_form=None, status=200):
    measure = request.args.get("tickets", "")
    if measure not in MEASURES_WITH_TICKETS:
        measure = default_measure(finding)
    can_decide, can_answer = service.can_decide(finding, current_user), service.can_answer(finding, current_user)
    names = user_names([finding.decision.decided_by_id if finding.decision else None]
                       + [response.author_id for response in finding.responses])
    return render_template(
        "audit/finding.html", finding=finding, run=finding.run, medians=service.network_medians(finding.run),
        measure=measure, tickets=scorecard.evidence(finding, measure, current_user),
        measure_labels=scorecard.MEASURE_LABELS, ticket_measures=MEASURES_WITH_TICKETS,
        weeks=scorecard.weekly_push_back(finding.party_id, finding.run.period_end),
        decision_form=(decision_form or DecisionForm()) if can_decide else None,
        response_form=(response_form or ResponseForm()) if can_answer else None,
        names=names), status


@bp.get("/findings/<int:finding_id>")
@login_required
def finding(finding_id):
    return render_finding(service.get_finding(finding_id, current_user))


@bp.post("/findings/<int:finding_id>/decision")
@login_required
def decide(finding_id):
    require_role(current_user, *MANAGER_ROLES)
    found = service.get_finding(finding_id, current_user)
    form = DecisionForm()
    if not form.validate_on_submit():
        return render_finding(found, decision_form=form, status=422)
    try:
        service.decide(found, form.decision.data, form.note.data, current_user, now_utc())
    except DomainError as error:
        db.session.rollback()
        show_errors(form, error)
        return render_finding(service.get_finding(finding_id, current_user), decision_form=form, status=error.status)
    flash(_("Decision recorded: %(decision)s.", decision=label(form.decision.data)), "success")
    return redirect(url_for("audit.finding", finding_id=found.id))


@bp.post("/findings/<int:finding_id>/responses")
@login_required
def respond(finding_id):
    found = service.get_finding(finding_id, current_user)  # another partner's: 404
    require_role(current_user, "partner_admin")               # HQ reads the answers, never writes one
    form = ResponseForm()
    if not form.validate_on_submit():
        return render_finding(found, response_form=form, status=422)
    try:
        service.respond(found, form.text.data, current_user, now_utc())
    except DomainError as error:
        db.session.rollback()
        show_errors(form, error)
        return render_finding(found, response_form=form, status=error.status)
    flash(_("Your answer is saved. HQ sees it next to the finding."), "success")
    return redirect(url_for("audit.finding", finding_id=found.id) + "#answers")


@bp.get("/our-findings")
@login_required
def our_findings():
    require_role(current_user, "partner_admin")
    return render_template("audit/our_findings.html", findings=service.history_for_party(current_user.party_id))
