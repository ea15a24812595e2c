"""/api/v1 audits: run the push-back audit, list and read the runs, read a run's findings,
decide on a finding. Thin endpoints over audit.service, which holds the rules (who may, what a
decision changes)."""
from partnernet.api import schemas
from partnernet.api.blueprint import api_user, blp, documented_errors
from partnernet.api.pagination import ListArgs, keyset_page, ordered_page, page_schema
from partnernet.audit import service
from partnernet.audit.models import AuditRun
from partnernet.auth.models import HQ_ROLES, MANAGER_ROLES
from partnernet.scope import require_role
from partnernet.timeclock import now_utc

TAGS = ["audits"]


def run_view(summary: service.RunSummary) -> dict:
    run = summary.run
    return {"id": run.id, "period_start": run.period_start, "period_end": run.period_end,
            "threshold": float(run.threshold), "min_offers": run.min_offers,
            "sold_not_served_threshold": float(run.sold_not_served_threshold),
            "satisfaction_threshold": None if run.satisfaction_threshold is None else float(run.satisfaction_threshold),
            "satisfaction_min_answers": run.satisfaction_min_answers, "triggered_by": run.triggered_by,
            "created_at": run.created_at, "partners": summary.partners, "flagged": summary.flagged,
            "decided": summary.decided}


def summary_of(run_id: int) -> service.RunSummary:
    return service.run_summaries(service.run_summaries_statement().where(AuditRun.id == run_id))[0]


@blp.route("/audits", methods=["GET"], tags=TAGS)
@blp.arguments(ListArgs, location="query")
@blp.response(200, page_schema(schemas.AuditRun))
@documented_errors(403, 422)
def list_audits(args):
    """The audit runs, newest first, each with how many partners it measured, flagged and has
    decided (HQ)."""
    require_role(api_user(), *HQ_ROLES)
    page = keyset_page(service.run_summaries_statement().order_by(AuditRun.id.desc()), AuditRun.id, args,
                       descending=True, scalars=False)
    page["items"] = [run_view(service.RunSummary(*row)) for row in page["items"]]
    return page


@blp.route("/audits/<id:run_id>", methods=["GET"], tags=TAGS)
@blp.response(200, schemas.AuditRun)
@documented_errors(403, 404)
def get_audit(run_id):
    """One audit run with its parameters and counts (HQ); its findings at /audits/{run_id}/findings."""
    user = api_user()
    require_role(user, *HQ_ROLES)
    return run_view(summary_of(service.get_run(run_id, user).id))


@blp.route("/audits", methods=["POST"], tags=TAGS)
@blp.arguments(schemas.AuditRunIn)
@blp.response(201, schemas.AuditRun)
@documented_errors(400, 403, 422)
def run_audit(data):
    """Run the push-back audit (hq_admin, hq_manager).

    The period must be over (end yesterday or earlier); parameters left out come from the settings."""
    user = api_user()
    require_role(user, *MANAGER_ROLES)
    params = {name: data.get(name) for name in service.PARAM_SETTINGS}
    run = service.start_run(data["period_start"], data["period_end"], params, "api", user, now_utc())
    return run_view(summary_of(run.id))


@blp.route("/audits/<id:run_id>/findings", methods=["GET"], tags=TAGS)
@blp.arguments(ListArgs, location="query")
@blp.response(200, page_schema(schemas.AuditFinding))
@documented_errors(404, 422)
def list_audit_findings(args, run_id):
    """A run's findings, flagged first: HQ sees every partner's, a partner's admin only its own."""
    statement = service.visible_findings_statement(run_id, api_user())
    return ordered_page(statement, service.FINDINGS_ORDER, "findings", args)


@blp.route("/findings/<id:finding_id>/decision", methods=["POST"], tags=TAGS)
@blp.arguments(schemas.FindingDecisionIn)
@blp.response(201, schemas.AuditFinding)
@documented_errors(400, 403, 404, 409, 422)
def decide_finding(data, finding_id):
    """Decide on a flagged finding (hq_admin, hq_manager).

    dismiss, warning, probation or suspension, with a note; probation and suspension change the
    partner's status. 409 if the finding is not flagged or already decided."""
    user = api_user()
    require_role(user, *MANAGER_ROLES)
    finding = service.get_finding(finding_id, user)
    service.decide(finding, data["decision"], data["note"], user, now_utc())
    return finding
