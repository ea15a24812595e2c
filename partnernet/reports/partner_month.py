"""What a partner's monthly report says, as plain JSON-ready figures: its tickets of the month by
status and tier, their SLA results, its push-back (the audit's measures), the audit findings of
the month, its certificates expiring the month after, and its customers' ratings.

The month is a range of days in China. "Its tickets" are the tickets opened in the month that it
holds (owner); their status is the one when the report is made. The SLA results are those of the
SLA report (reports.monthly): the tickets it served (resolved) in the month. Everything after `as_of` (the
moment the report is made) is ignored where the data keeps the time.
"""
from datetime import date, datetime

import sqlalchemy as sa

from partnernet.audit.measures import SATISFIED_RATING, Measures, in_bounds, measure_partners, period_bounds
from partnernet.audit.models import AuditDecision, AuditFinding, AuditRun
from partnernet.extensions import db
from partnernet.feedback.models import CustomerFeedback
from partnernet.network.models import TIERS, Certification, Engineer, Party, ProductLine
from partnernet.reports.monthly import SlaCounts, sla_results
from partnernet.scorecards.service import add_months, last_day
from partnernet.tickets.models import TICKET_STATUSES, Ticket

# The statuses a certificate that "expires next month" may have: still valid, or already expired by date.
EXPIRING_STATUSES = ("valid", "expired")


def month_label(month: date) -> str:
    return month.strftime("%Y-%m")


def partner_month(party: Party, month: date, as_of: datetime, measures: Measures | None = None) -> dict:
    """The report's figures for `party` and `month` (its first day). `measures`: the audit's measures
    of the month for this party when the caller has measured every partner at once."""
    bounds = period_bounds(month, last_day(month))
    if measures is None:
        measures = measures_of_month(month, as_of).get(party.id) or Measures(party.id)
    return {
        "month": month_label(month),
        "party": {"id": party.id, "name": party.name, "name_en": party.name_en, "kind": party.kind},
        "as_of": as_of.isoformat(),
        "tickets": ticket_counts(party.id, bounds),
        "sla": sla_section(party.id, month),
        "push_back": push_back(measures),
        "findings": findings_of_month(party.id, month),
        "expiring_certificates": expiring_certificates(party.id, add_months(month, 1)),
        "ratings": ratings(party.id, bounds, as_of),
    }


def measures_of_month(month: date, as_of: datetime) -> dict[int, Measures]:
    """Every partner's audit measures for the month, by party id (five queries for all partners)."""
    return {m.party_id: m for m in measure_partners(month, last_day(month), as_of)}


def its_tickets(party_id: int, bounds):
    """The tickets opened in the month that the party holds."""
    return sa.and_(Ticket.owner_party_id == party_id, in_bounds(Ticket.created_at, bounds))


def ticket_counts(party_id: int, bounds) -> dict:
    """{total, by_status, by_tier, cells: {status: {tier: count}}}, every status and tier named (zeros too)."""
    rows = db.session.execute(
        sa.select(Ticket.status, Ticket.tier, sa.func.count())
        .where(its_tickets(party_id, bounds)).group_by(Ticket.status, Ticket.tier)).all()
    cells = {status: {tier: 0 for tier in TIERS} for status in TICKET_STATUSES}
    for status, tier, count in rows:
        cells[status][tier] = int(count)
    return {"total": sum(int(count) for _s, _t, count in rows),
            "by_status": {status: sum(tiers.values()) for status, tiers in cells.items()},
            "by_tier": {tier: sum(cells[status][tier] for status in cells) for tier in TIERS},
            "cells": cells}


SLA_COUNTS = ("served", "response_met", "response_breached", "resolution_met", "resolution_breached")


def sla_section(party_id: int, month: date) -> dict:
    """The month's SLA results of the party as the SLA report counts them (reports.monthly): the
    tickets it served (resolved) in the month and their targets met or breached, in all and per tier."""
    results = sla_results(party_id, month)
    partner = results.partners[0] if results.partners else None

    def counts(found) -> dict:
        return {name: getattr(found, name) for name in SLA_COUNTS}
    return {"all": counts(partner or SlaCounts()),
            "by_tier": {tier: counts(found) for tier, found in (partner.by_tier.items() if partner else ())}}


def push_back(measures: Measures) -> dict:
    """The audit's measures of the month, as the audit computes them (offers answered, push-back
    and its Wilson lower bound, what it sold that HQ served)."""
    values = measures.as_dict()
    keys = ("offered", "accepted", "declined", "expired", "returned", "push_back", "push_back_rate",
            "push_back_lower_bound", "sold_tickets", "sold_not_served", "sold_not_served_share")
    return {key: values[key] for key in keys}


def findings_of_month(party_id: int, month: date) -> list[dict]:
    """The party's audit findings from runs whose period ends in the month (each weekly run counts
    in one month), oldest first, with HQ's decision where there is one."""
    rows = db.session.execute(
        sa.select(AuditFinding, AuditRun.period_start, AuditRun.period_end, AuditDecision.decision)
        .join(AuditRun, AuditRun.id == AuditFinding.run_id)
        .outerjoin(AuditDecision, AuditDecision.finding_id == AuditFinding.id)
        .where(AuditFinding.party_id == party_id, AuditRun.period_end.between(month, last_day(month)))
        .order_by(AuditRun.period_end, AuditRun.id)).all()
    return [{"finding_id": finding.id, "period_start": start.isoformat(), "period_end": end.isoformat(),
             "offered": finding.offered, "push_back": finding.push_back, "push_back_rate": finding.push_back_rate,
             "push_back_lower_bound": finding.push_back_lower_bound, "flagged": bool(finding.flagged),
             "flag_reasons": list(finding.flag_reasons or []), "decision": decision}
            for finding, start, end, decision in rows]


def expiring_certificates(party_id: int, month: date) -> list[dict]:
    """The certificates of the party's active engineers that expire in `month`, soonest first."""
    rows = db.session.execute(
        sa.select(Engineer.name, ProductLine.name_zh, ProductLine.name_en, Certification.level,
                  Certification.number, Certification.expires_on, Certification.status)
        .join(Engineer, Engineer.id == Certification.engineer_id)
        .join(ProductLine, ProductLine.id == Certification.product_line_id)
        .where(Engineer.party_id == party_id, Engineer.active, Certification.status.in_(EXPIRING_STATUSES),
               Certification.expires_on.between(month, last_day(month)))
        .order_by(Certification.expires_on, Engineer.name, Certification.id)).all()
    return [{"engineer": name, "product_line": {"zh": line_zh, "en": line_en}, "level": level, "number": number,
             "expires_on": expires_on.isoformat(), "status": status}
            for name, line_zh, line_en, level, number, expires_on, status in rows]


def ratings(party_id: int, bounds, as_of: datetime) -> dict:
    """Its customers' answers of the month about its service: how many, rated or not, the mean
    rating, how many were satisfied (rated SATISFIED_RATING or above), and how many said unsolved."""
    answered = sa.and_(CustomerFeedback.party_id == party_id, in_bounds(CustomerFeedback.answered_at, bounds),
                       CustomerFeedback.answered_at <= as_of)
    row = db.session.execute(
        sa.select(sa.func.count(), sa.func.count(CustomerFeedback.rating), sa.func.sum(CustomerFeedback.rating),
                  sa.func.sum(sa.case((CustomerFeedback.rating >= SATISFIED_RATING, 1), else_=0)),
                  sa.func.sum(sa.case((CustomerFeedback.solved.is_(False), 1), else_=0)))
        .where(answered)).one()
    answers, rated, total, satisfied, unsolved = (int(v or 0) for v in row)
    return {"answers": answers, "rated": rated, "mean": round(total / rated, 2) if rated else None,
            "satisfied": satisfied, "unsolved": unsolved, "satisfied_rating": SATISFIED_RATING}
