"""A ticket's SLA clocks: due times at intake under the contract's policy, pauses while waiting on
the customer, and a met or breached target recorded once as an event."""
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import format_datetime, gettext as _
from sqlalchemy.exc import IntegrityError

from partnernet import sla
from partnernet.auth.models import User
from partnernet.extensions import db
from partnernet.notifications.service import notify_each
from partnernet.settings.calendar import calendar_for_due, load_calendar, load_policy, policy_of
from partnernet.settings.models import SlaPolicy
from partnernet.tickets.models import OPEN_STATUSES, Ticket, TicketEvent


def policy_row(ticket: Ticket) -> SlaPolicy:
    """The contract's policy; without a contract, business hours."""
    if ticket.contract is not None:
        return ticket.contract.sla_policy
    return load_policy("business-hours")


def due_times(policy, complexity: str, now: datetime) -> tuple[datetime, datetime]:
    """(response due, resolution due) from `now` under an SLA policy (or a row with its columns),
    on one calendar read long enough for the longer target."""
    resolution = policy.resolution_complex_minutes if complexity == "complex" else policy.resolution_simple_minutes
    clock = policy_of(policy)
    calendar = calendar_for_due(now, max(policy.response_minutes, resolution), clock)
    return (sla.add_business_minutes(now, policy.response_minutes, clock, calendar.is_working),
            sla.add_business_minutes(now, resolution, clock, calendar.is_working))


def offer_deadline(policy, now: datetime, minutes: int) -> datetime:
    """When an offer made `now` must be answered: `minutes` on the ticket's SLA clock (a policy or
    a row with its columns). A business-hours ticket offered at night or on a day off waits for
    the next working morning, as its response target does, instead of expiring at every partner
    before anyone is at work; a 24x7 ticket's offer runs on the wall clock."""
    clock = policy_of(policy)
    return sla.add_business_minutes(now, minutes, clock, calendar_for_due(now, minutes, clock).is_working)


def resume(ticket: Ticket, now: datetime) -> None:
    """Leaving waiting_on_customer: the targets not yet met move later by the paused business time."""
    if ticket.paused_at is None:
        return
    row = policy_row(ticket)
    policy = policy_of(row)
    zone = ZoneInfo(policy.timezone)
    # From the earliest instant the arithmetic starts at: a due time already missed may lie before
    # the pause, even in an earlier year.
    start = min(t for t in (ticket.paused_at, ticket.response_due_at, ticket.resolution_due_at) if t is not None)
    calendar = load_calendar(start.astimezone(zone).date() - timedelta(days=1),
                             max(now, ticket.resolution_due_at or now).astimezone(zone).date() + timedelta(days=400))
    paused = sla.business_time_between(ticket.paused_at, now, policy, calendar.is_working)
    if ticket.responded_at is None and ticket.response_due_at:
        ticket.response_due_at = sla.add_business_time(ticket.response_due_at, paused, policy, calendar.is_working)
    if ticket.resolved_at is None and ticket.resolution_due_at:
        ticket.resolution_due_at = sla.add_business_time(ticket.resolution_due_at, paused, policy, calendar.is_working)
    ticket.paused_at = None


def record_once(ticket: Ticket, kind: str, at: datetime, data: dict) -> bool:
    """Add an SLA event unless one of this target exists; a unique index settles any race."""
    target = kind.split("_")[0]
    exists = db.session.execute(sa.select(TicketEvent.id).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind.in_((f"{target}_met", f"{target}_breached")))).first()
    if exists:
        return False
    try:
        with db.session.begin_nested():
            db.session.add(TicketEvent(ticket_id=ticket.id, kind=kind, at=at, data=data))
    except IntegrityError:
        return False
    return True


def record_response(ticket: Ticket, now: datetime) -> None:
    """Called when a partner accepts or HQ takes the ticket."""
    if ticket.response_due_at is None or ticket.responded_at is None:
        return
    met = ticket.responded_at <= ticket.response_due_at
    record_once(ticket, "response_met" if met else "response_breached", now,
                {"due": ticket.response_due_at.isoformat(), "at": ticket.responded_at.isoformat()})


def record_resolution(ticket: Ticket, now: datetime) -> None:
    if ticket.resolution_due_at is None or ticket.resolved_at is None:
        return
    met = ticket.resolved_at <= ticket.resolution_due_at
    record_once(ticket, "resolution_met" if met else "resolution_breached", now,
                {"due": ticket.resolution_due_at.isoformat(), "at": ticket.resolved_at.isoformat()})


def mark_breaches(now: datetime) -> int:
    """Record every target that ran out unmet on an open, running clock, and tell who must act.
    Idempotent: a breach is recorded and notified once."""
    running = [s for s in OPEN_STATUSES if s != "waiting_on_customer"]
    response_late = db.session.execute(sa.select(Ticket).where(
        Ticket.status.in_(running), Ticket.responded_at.is_(None), Ticket.response_due_at < now,
        ~sa.exists().where(TicketEvent.ticket_id == Ticket.id,
                           TicketEvent.kind.in_(("response_met", "response_breached"))))).scalars().all()
    resolution_late = db.session.execute(sa.select(Ticket).where(
        Ticket.status.in_(running), Ticket.resolved_at.is_(None), Ticket.resolution_due_at < now,
        ~sa.exists().where(TicketEvent.ticket_id == Ticket.id,
                           TicketEvent.kind.in_(("resolution_met", "resolution_breached"))))).scalars().all()
    marked = 0
    for ticket in response_late:
        if record_once(ticket, "response_breached", now, {"due": ticket.response_due_at.isoformat()}):
            notify_breach(ticket, "response", now)
            marked += 1
    for ticket in resolution_late:
        if record_once(ticket, "resolution_breached", now, {"due": ticket.resolution_due_at.isoformat()}):
            notify_breach(ticket, "resolution", now)
            marked += 1
    db.session.commit()
    return marked


def breach_recipients(ticket: Ticket) -> list[User]:
    """The owner's administrators and assigned engineer; HQ's agents while nobody owns it, or when
    nobody of the owner can still sign in (a breach is never told to no one)."""
    if ticket.owner_party_id is not None:
        users = list(db.session.execute(sa.select(User).where(
            User.active, User.party_id == ticket.owner_party_id,
            sa.or_(User.role.in_(("partner_admin", "hq_agent", "hq_manager")),
                   sa.and_(User.role == "engineer", User.engineer_id == ticket.engineer_id)))).scalars())
        if users:
            return users
    party_ids = [p for p in (ticket.offered_party_id,) if p]
    return list(db.session.execute(sa.select(User).where(User.active, sa.or_(
        User.role == "hq_agent", sa.and_(User.role == "partner_admin", User.party_id.in_(party_ids))))).scalars())


def notify_breach(ticket: Ticket, target: str, now: datetime) -> None:
    due_at = ticket.response_due_at if target == "response" else ticket.resolution_due_at
    notify_each(breach_recipients(ticket), f"{target}_breached", f"{target}_breached:{ticket.id}",
                lambda: ((_("Ticket #%(id)d is overdue for response", id=ticket.id) if target == "response"
                          else _("Ticket #%(id)d is overdue for resolution", id=ticket.id)),
                         _("%(subject)s — due %(due)s.", subject=ticket.subject,
                           due=format_datetime(due_at, "yyyy-MM-dd HH:mm"))),
                f"/tickets/{ticket.id}", now)
