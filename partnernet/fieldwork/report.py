"""The service report (服务报告) of a ticket: what was asked, what was done, by whom, when, and the
time on site. A plain function of the ticket, the same for whoever reads it (HQ, the holder, the
customer's confirmation page): templates/fieldwork/_report_body.html renders it."""
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from partnernet.extensions import db
from partnernet.labels import product_line_name
from partnernet.network.models import Engineer, Party
from partnernet.tickets.models import Ticket, TicketEvent
from partnernet.fieldwork.visits import visits_of

# The steps a customer recognises as the service; routing, offers and SLA bookkeeping stay out.
TIMELINE_KINDS = ("created", "accepted", "taken_by_hq", "assigned", "visit_planned", "visit_checked_in",
                  "visit_checked_out", "status_changed")


@dataclass
class ReportVisit:
    engineer: str
    party: str
    planned_start: datetime
    planned_end: datetime
    checked_in_at: datetime | None
    checked_out_at: datetime | None
    work_done: str
    parts_used: str
    hours: Decimal | None
    on_site: timedelta | None


@dataclass
class ReportStep:
    at: datetime
    kind: str
    to_status: str | None
    party: str | None
    engineer: str | None


@dataclass
class ServiceReport:
    ticket_id: int
    subject: str
    description: str
    customer: str
    region: str
    product_line: str
    tier: str
    status: str
    party: str | None          # who holds (served) the ticket
    engineers: list[str]
    opened_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None
    resolution: str | None     # the resolution note
    visits: list[ReportVisit] = field(default_factory=list)
    timeline: list[ReportStep] = field(default_factory=list)
    time_on_site: timedelta = timedelta(0)


def service_report(ticket: Ticket) -> ServiceReport:
    visits = visits_of(ticket)
    events = db.session.execute(sa.select(TicketEvent).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind.in_(TIMELINE_KINDS)).order_by(TicketEvent.id)
    ).scalars().all()
    engineer_ids = {v.engineer_id for v in visits} | {(e.data or {}).get("engineer_id") for e in events} \
        | {ticket.engineer_id}
    engineers = names(Engineer, {i for i in engineer_ids if i})
    parties = names(Party, {e.party_id for e in events if e.party_id} | {v.party_id for v in visits})
    report_visits = [ReportVisit(
        engineer=engineers.get(v.engineer_id, ""), party=parties.get(v.party_id, ""), planned_start=v.planned_start,
        planned_end=v.planned_end, checked_in_at=v.checked_in_at, checked_out_at=v.checked_out_at,
        work_done=v.work_done, parts_used=v.parts_used, hours=v.hours, on_site=v.on_site) for v in visits]
    resolutions = [e.note for e in events if e.kind == "status_changed" and e.to_status == "resolved"]
    return ServiceReport(
        ticket_id=ticket.id, subject=ticket.subject, description=ticket.description,
        customer=ticket.customer.name, region=ticket.region.name, product_line=product_line_name(ticket.product_line),
        tier=ticket.tier, status=ticket.status, party=ticket.owner.name if ticket.owner else None,
        engineers=list(dict.fromkeys(name for name in (
            [engineers.get(ticket.engineer_id)] + [v.engineer for v in report_visits]) if name)),
        opened_at=ticket.created_at, resolved_at=ticket.resolved_at, closed_at=ticket.closed_at,
        resolution=resolutions[-1] if resolutions else None,
        visits=report_visits,
        timeline=[ReportStep(at=e.at, kind=e.kind, to_status=e.to_status, party=parties.get(e.party_id),
                             engineer=engineers.get((e.data or {}).get("engineer_id"))) for e in events],
        time_on_site=sum((v.on_site for v in report_visits if v.on_site), timedelta(0)))


def names(model, ids: set) -> dict:
    if not ids:
        return {}
    return dict(db.session.execute(sa.select(model.id, model.name).where(model.id.in_(ids))).all())
