"""Audit runs and their findings, the channel manager's decisions and the partner's answers.

The UI, the API, the CLI and the scheduler call these functions; the rules live here once. A run
and its findings never change after they are made (enforced below on flush); what people say
about a finding afterwards is stored beside it, as a decision or a response.
"""
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from statistics import median

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from partnernet.audit.measures import (MEASURES_WITH_TICKETS, Measures, Params, flag_reasons, measure_partners,
                                       ticket_ids_behind)
from partnernet.audit.models import DECISIONS, RUN_TRIGGERS, AuditDecision, AuditFinding, AuditResponse, AuditRun
from partnernet.auth.models import MANAGER_ROLES, User
from partnernet.errors import Conflict, Forbidden, NotFound, ValidationFailed
from partnernet.network.models import Party
from partnernet.extensions import db
from partnernet.network.service import change_status
from partnernet.scope import get_or_404, scoped
from partnernet.settings.service import load_settings
from partnernet.timeclock import today_in_china

# The partner status a decision asks for, and the statuses it may move a partner from. A decision
# never lifts a sanction: probation for a suspended partner leaves it suspended, probation for a
# partner already on probation changes nothing; the decision is recorded either way.
DECISION_STATUS = {
    "probation": ("probation", ("active",)),
    "suspension": ("suspended", ("active", "probation")),
}
# The measures whose network median a finding is compared with.
MEDIAN_MEASURES = (
    "offered", "accepted", "declined", "expired", "returned", "push_back", "push_back_rate",
    "push_back_lower_bound", "sold_tickets", "sold_not_served", "sold_not_served_share",
    "sla_kept", "sla_met", "sla_attainment", "satisfaction_answers", "satisfied", "satisfaction_upper_bound",
)
RESPONSE_MAX_LENGTH = 5000
SHARE_STEP = Decimal("0.0001")  # the runs' thresholds are stored to four places


# --- runs never change ----------------------------------------------------------------------------

@sa.event.listens_for(AuditRun, "before_update")
@sa.event.listens_for(AuditFinding, "before_update")
def refuse_changes(_mapper, _connection, target):
    state = sa.inspect(target)
    changed = [attr.key for attr in state.mapper.column_attrs if state.attrs[attr.key].history.has_changes()]
    if changed:
        raise Conflict(f"an audit run never changes after it is made ({type(target).__name__}: {', '.join(changed)})")


@sa.event.listens_for(AuditRun, "before_delete")
@sa.event.listens_for(AuditFinding, "before_delete")
def refuse_deletion(_mapper, _connection, target):
    raise Conflict(f"an audit run is never deleted ({type(target).__name__} {target.id})")


# --- starting a run -------------------------------------------------------------------------------

SHARE_PARAMS = ("threshold", "sold_not_served_threshold", "satisfaction_threshold")
WHOLE_PARAMS = ("min_offers", "satisfaction_min_answers")
# The setting that fills in each parameter left out.
PARAM_SETTINGS = {"threshold": "audit_threshold", "min_offers": "audit_min_offers",
                  "sold_not_served_threshold": "audit_sold_not_served_threshold",
                  "satisfaction_threshold": "audit_satisfaction_threshold",
                  "satisfaction_min_answers": "audit_satisfaction_min_answers"}


def run_params(values: dict | None, settings: dict | None = None) -> Params:
    """The parameters for a run: the values given, the settings for the ones left out (or None)."""
    values = values or {}
    settings = settings or load_settings()
    raw = {name: settings[key] if values.get(name) is None else values[name] for name, key in PARAM_SETTINGS.items()}
    fields, parsed = {}, {}
    for name in SHARE_PARAMS:
        try:
            value = Decimal(str(raw[name])).quantize(SHARE_STEP)
        except (InvalidOperation, ValueError):
            value = None
        if value is None or not Decimal(0) <= value <= Decimal(1):
            fields[name] = _("A share between 0 and 1, such as 0.20.")
        else:
            parsed[name] = float(value)
    for name in WHOLE_PARAMS:
        try:
            parsed[name] = int(str(raw[name]))
            if parsed[name] < 0:
                raise ValueError
        except ValueError:
            fields[name] = _("A whole number, 0 or more.")
    if fields:
        raise ValidationFailed(_("The audit cannot be run with these parameters."), fields)
    return Params(**parsed)


def start_run(period_start: date, period_end: date, params: dict | Params | None, triggered_by: str,
              user: User | None, now: datetime) -> AuditRun:
    """Measure every partner over the period and store the run with one finding per partner.

    `params` may leave any parameter out (None): the settings fill it in. The period must be over
    (end yesterday in China or earlier), so that a run never describes a week still happening.
    A user, when given, must be a channel manager (hq_manager or hq_admin); runs from the UI and
    the API need one, the CLI and the scheduler run without.
    """
    if triggered_by not in RUN_TRIGGERS:
        raise ValueError(f"unknown trigger {triggered_by!r}")
    if (user is None and triggered_by in ("ui", "api")) or (user is not None and user.role not in MANAGER_ROLES):
        raise Forbidden()
    if not isinstance(params, Params):
        params = run_params(params)
    fields = {}
    if period_start is None:
        fields["period_start"] = _("Required.")
    if period_end is None:
        fields["period_end"] = _("Required.")
    elif period_start is not None and period_end < period_start:
        fields["period_end"] = _("The period must end on or after its first day.")
    elif period_end >= today_in_china(now):
        fields["period_end"] = _("The period must be over: end it yesterday or earlier.")
    if fields:
        raise ValidationFailed(_("The audit cannot be run for this period."), fields)

    run = AuditRun(period_start=period_start, period_end=period_end,
                   threshold=Decimal(str(params.threshold)).quantize(SHARE_STEP), min_offers=params.min_offers,
                   sold_not_served_threshold=Decimal(str(params.sold_not_served_threshold)).quantize(SHARE_STEP),
                   satisfaction_threshold=Decimal(str(params.satisfaction_threshold)).quantize(SHARE_STEP),
                   satisfaction_min_answers=params.satisfaction_min_answers,
                   triggered_by=triggered_by, created_by_id=user.id if user else None, created_at=now)
    db.session.add(run)
    db.session.flush()
    measured = measure_partners(period_start, period_end, now)
    findings = [finding_of(run, measures, params) for measures in measured]
    db.session.add_all(findings)
    # Each partner's standing is this run's lower bound, which routing reads from the partner.
    standing = {finding.party_id: finding.push_back_lower_bound for finding in findings}
    db.session.execute(sa.update(Party).values(audit_standing=None).where(Party.audit_standing.is_not(None)))
    if standing:
        db.session.execute(sa.update(Party), [{"id": party_id, "audit_standing": value}
                                              for party_id, value in standing.items()])
    db.session.commit()
    return run


def finding_of(run: AuditRun, measures: Measures, params: Params) -> AuditFinding:
    reasons = flag_reasons(measures, params)
    return AuditFinding(run_id=run.id, flagged=bool(reasons), flag_reasons=reasons, **measures.as_dict())


def last_full_week(now: datetime) -> tuple[date, date]:
    """Monday to Sunday of the last week that is over, in China."""
    today = today_in_china(now)
    monday = today - timedelta(days=today.weekday())
    return monday - timedelta(days=7), monday - timedelta(days=1)


def weekly_run(now: datetime) -> AuditRun | None:
    """The scheduler's run of the last full week; None when it has already been made."""
    period_start, period_end = last_full_week(now)
    exists = db.session.execute(sa.select(AuditRun.id).where(
        AuditRun.triggered_by == "scheduler", AuditRun.period_start == period_start,
        AuditRun.period_end == period_end)).first()
    if exists:
        return None
    try:
        return start_run(period_start, period_end, None, "scheduler", None, now)
    except IntegrityError:  # another run of the job made it in the meantime
        db.session.rollback()
        return None


# --- reading runs and findings ----------------------------------------------------------------------

@dataclass
class RunSummary:
    run: AuditRun
    partners: int
    flagged: int
    decided: int


def list_runs(user: User, limit: int | None = None) -> list[RunSummary]:
    """The runs, newest first, with how many partners each measured, flagged, and has decided.
    HQ only (a partner sees its findings, not the runs)."""
    if not user.is_hq:
        raise NotFound()
    statement = run_summaries_statement().order_by(AuditRun.id.desc())
    if limit:
        statement = statement.limit(limit)
    return run_summaries(statement)


def run_summaries_statement():
    """SQL: each run with how many partners it measured, flagged, and has decided (unordered)."""
    flagged = sa.func.sum(sa.case((AuditFinding.flagged, 1), else_=0))
    decided = sa.func.count(AuditDecision.id)
    return (sa.select(AuditRun, sa.func.count(AuditFinding.id), flagged, decided)
            .outerjoin(AuditFinding, AuditFinding.run_id == AuditRun.id)
            .outerjoin(AuditDecision, AuditDecision.finding_id == AuditFinding.id)
            .group_by(AuditRun.id))


def run_summaries(statement) -> list[RunSummary]:
    return [RunSummary(run, partners, int(flags or 0), decisions)
            for run, partners, flags, decisions in db.session.execute(statement)]


def get_run(run_id: int, user: User) -> AuditRun:
    """A run, for HQ; NotFound for anyone else (runs are not in a partner's scope)."""
    return get_or_404(AuditRun, run_id, user)


def get_finding(finding_id: int, user: User) -> AuditFinding:
    """A finding within the user's scope: HQ any, a partner admin its own; NotFound otherwise."""
    return get_or_404(AuditFinding, finding_id, user)


def with_details(statement):
    return statement.options(joinedload(AuditFinding.run), joinedload(AuditFinding.party),
                             joinedload(AuditFinding.decision), selectinload(AuditFinding.responses))


def findings_of_run(run: AuditRun, user: User, flagged_only: bool = False) -> list[AuditFinding]:
    """A run's findings the user may see, flagged first, then by party."""
    statement = scoped(sa.select(AuditFinding).where(AuditFinding.run_id == run.id), AuditFinding, user)
    if flagged_only:
        statement = statement.where(AuditFinding.flagged)
    statement = statement.order_by(AuditFinding.flagged.desc(), AuditFinding.party_id)
    return list(db.session.execute(with_details(statement)).unique().scalars())


# The API's order of a run's findings: flagged first, then by party (a run has one finding a party).
FINDINGS_ORDER = [(AuditFinding.flagged, True), (AuditFinding.party_id, False), (AuditFinding.id, False)]


def visible_findings_statement(run_id: int, user: User):
    """A run's findings as the API lists them (in FINDINGS_ORDER, a page at a time): HQ any run's;
    a partner's user a run's only when it has a finding in it (any other run is NotFound: not in
    its scope)."""
    if user.is_hq:
        get_run(run_id, user)
    statement = scoped(sa.select(AuditFinding).where(AuditFinding.run_id == run_id), AuditFinding, user)
    if not user.is_hq and db.session.execute(statement.with_only_columns(AuditFinding.id).limit(1)).first() is None:
        raise NotFound()
    return with_details(statement)


def history_for_party(party_id: int) -> list[AuditFinding]:
    """A partner's findings across runs, the latest run first: repeated flags show as a history.
    The partner page calls it for HQ; the partner's own side calls it with the user's party."""
    statement = (sa.select(AuditFinding).join(AuditRun, AuditRun.id == AuditFinding.run_id)
                 .where(AuditFinding.party_id == party_id)
                 .order_by(AuditRun.period_end.desc(), AuditRun.id.desc()))
    return list(db.session.execute(with_details(statement)).unique().scalars())


def awaiting_decision() -> list[AuditFinding]:
    """Flagged findings nobody has decided on yet, oldest run first: a channel manager's work."""
    statement = (sa.select(AuditFinding).join(AuditRun, AuditRun.id == AuditFinding.run_id)
                 .where(AuditFinding.flagged,
                        ~sa.exists().where(AuditDecision.finding_id == AuditFinding.id))
                 .order_by(AuditRun.id, AuditFinding.party_id))
    return list(db.session.execute(with_details(statement)).unique().scalars())


def network_medians(run: AuditRun) -> dict[str, float | None]:
    """The median of each measure over the partners with something to measure in the run (offers
    or sold tickets or rated answers), each share over the partners for whom it is defined; None
    when nobody."""
    columns = [getattr(AuditFinding, name) for name in MEDIAN_MEASURES]
    rows = db.session.execute(sa.select(*columns).where(
        AuditFinding.run_id == run.id, sa.or_(AuditFinding.offered > 0, AuditFinding.sold_tickets > 0,
                                              AuditFinding.satisfaction_answers > 0))).all()
    medians = {}
    for index, name in enumerate(MEDIAN_MEASURES):
        values = [row[index] for row in rows if row[index] is not None]
        medians[name] = median(values) if values else None
    return medians


def tickets_behind(finding: AuditFinding, measure: str) -> list[int]:
    """The ids of the tickets behind one of the finding's numbers (MEASURES_WITH_TICKETS: the
    offer counts, push_back, sold_tickets, sold_not_served, sla_kept, sla_met, sla_missed, the
    rated answers and the satisfied ones), as
    they stood when the run was made. Check the user may see the finding first (get_finding)."""
    if measure not in MEASURES_WITH_TICKETS:
        raise NotFound()
    run = finding.run
    return ticket_ids_behind(finding.party_id, measure, run.period_start, run.period_end, run.created_at)


# --- decisions and responses ----------------------------------------------------------------------

def can_decide(finding: AuditFinding, user: User) -> bool:
    """A channel manager decides once on a flagged finding."""
    return user.role in MANAGER_ROLES and finding.flagged and finding.decision is None


def decide(finding: AuditFinding, decision: str, note: str, user: User, now: datetime) -> AuditDecision:
    """A channel manager's decision on a flagged finding, with a note; one per finding.

    Probation and suspension change the partner's status (a party event with the note as the
    reason) in the same transaction, so routing treats the partner accordingly from now on.
    """
    if user.role not in MANAGER_ROLES:
        raise Forbidden()
    note = (note or "").strip()
    fields = {}
    if decision not in DECISIONS:
        fields["decision"] = _("Choose dismiss, warning, probation or suspension.")
    if not note:
        fields["note"] = _("Required.")
    if fields:
        raise ValidationFailed(_("The decision cannot be recorded like this."), fields)
    if not finding.flagged:
        raise Conflict(_("Only a flagged finding needs a decision."))
    if finding.decision is not None:
        raise Conflict(_("This finding already has a decision."))
    row = AuditDecision(finding_id=finding.id, decision=decision, note=note, decided_by_id=user.id, decided_at=now)
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:  # decided by someone else a moment ago
        db.session.rollback()
        raise Conflict(_("This finding already has a decision.")) from None
    party = finding.party
    to_status, from_statuses = DECISION_STATUS.get(decision, (None, ()))
    if party.status in from_statuses:
        run = finding.run
        reason = f"audit finding #{finding.id} ({run.period_start.isoformat()} to {run.period_end.isoformat()}): {note}"
        try:
            change_status(party, to_status, reason, user.id, now)  # commits the decision with it
        except Exception:
            db.session.rollback()
            raise
    else:
        db.session.commit()
    db.session.refresh(finding)
    return row


def can_answer(finding: AuditFinding, user: User) -> bool:
    """Only the finding's own partner admins answer it."""
    return user.role == "partner_admin" and user.party_id == finding.party_id


def respond(finding: AuditFinding, text: str, user: User, now: datetime) -> AuditResponse:
    """The partner's written answer to its own finding; HQ reads it next to the finding.

    Only the finding's own partner admins may answer: anyone outside the finding's partner gets
    NotFound (as if it did not exist); HQ, who can see the finding, gets Forbidden.
    """
    if not can_answer(finding, user):
        if user.is_hq:
            raise Forbidden()
        raise NotFound()
    text = (text or "").strip()
    if not text:
        raise ValidationFailed(_("The answer cannot be saved like this."), {"text": _("Required.")})
    if len(text) > RESPONSE_MAX_LENGTH:
        raise ValidationFailed(_("The answer cannot be saved like this."),
                               {"text": _("At most %(count)d characters.", count=RESPONSE_MAX_LENGTH)})
    response = AuditResponse(finding_id=finding.id, text=text, author_id=user.id, created_at=now)
    db.session.add(response)
    db.session.commit()
    db.session.refresh(finding)
    return response
