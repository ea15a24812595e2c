"""A ticket's SLA clocks: due times at intake under the contract's policy, pauses while waiting on
the customer, and a met or breached target recorded once as an event."""
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import format_datetime, gettext as _
from sqlalchemy.exc import IntegrityError

from partnernet import sla
from partnernet.auth.models import User
from partnernet.extensions import db
from partnernet.labels import label
from partnernet.network.service import hq_party_id
from partnernet.notifications.providers import Card
from partnernet.notifications.robots import post_to_party
from partnernet.notifications.service import notify_each
from partnernet.settings.calendar import calendar_for_due, load_calendar, load_policy, policy_of
from partnernet.settings.models import SlaPolicy
from partnernet.settings.service import load_settings
from partnernet.tickets.cards import deadline_text, ticket_card
from partnernet.tickets.models import OPEN_STATUSES, Ticket, TicketEvent


def policy_row(ticket: Ticket) -> SlaPolicy:
    """The contract's policy; without a contract, business hours."""
    if ticket.contract is not None:
        return ticket.contract.sla_policy
    return load_policy("business-hours")


def sla_times(policy, complexity: str, now: datetime, warning_percent: int) -> dict:
    """A ticket's due times from `now` under an SLA policy (or a row with its columns), and its
    warning points at `warning_percent` of each target (None at 0: no warnings), as the ticket's
    columns; on one calendar read long enough for the longer target."""
    resolution = policy.resolution_complex_minutes if complexity == "complex" else policy.resolution_simple_minutes
    clock = policy_of(policy)
    is_working = calendar_for_due(now, max(policy.response_minutes, resolution), clock).is_working

    def after(minutes):
        return sla.add_business_minutes(now, minutes, clock, is_working)

    share = int(warning_percent) / 100
    return {"response_due_at": after(policy.response_minutes), "resolution_due_at": after(resolution),
            "response_warn_at": after(policy.response_minutes * share) if share else None,
            "resolution_warn_at": after(resolution * share) if share else None}


def offer_deadline(policy, now: datetime, minutes: int) -> datetime:
    """When an offer made `now` must be answered: `minutes` on the ticket's SLA clock (a policy or
    a row with its columns). A business-hours ticket offered at night or on a day off waits for
    the next working morning, as its response target does, instead of expiring at every partner
    before anyone is at work; a 24x7 ticket's offer runs on the wall clock."""
    clock = policy_of(policy)
    return sla.add_business_minutes(now, minutes, clock, calendar_for_due(now, minutes, clock).is_working)


def resume(ticket: Ticket, now: datetime) -> None:
    """Leaving waiting_on_customer: the targets not yet met, and their warning points, move later by
    the paused business time."""
    if ticket.paused_at is None:
        return
    row = policy_row(ticket)
    policy = policy_of(row)
    zone = ZoneInfo(policy.timezone)
    # From the earliest instant the arithmetic starts at: a due time (or warning point) already
    # passed may lie before the pause, even in an earlier year.
    start = min(t for t in (ticket.paused_at, ticket.response_due_at, ticket.resolution_due_at,
                            ticket.response_warn_at, ticket.resolution_warn_at) if t is not None)
    calendar = load_calendar(start.astimezone(zone).date() - timedelta(days=1),
                             max(now, ticket.resolution_due_at or now).astimezone(zone).date() + timedelta(days=400))
    paused = sla.business_time_between(ticket.paused_at, now, policy, calendar.is_working)

    def later(at):
        return sla.add_business_time(at, paused, policy, calendar.is_working) if at is not None else None

    if ticket.responded_at is None and ticket.response_due_at:
        ticket.response_due_at, ticket.response_warn_at = later(ticket.response_due_at), later(ticket.response_warn_at)
    if ticket.resolved_at is None and ticket.resolution_due_at:
        ticket.resolution_due_at = later(ticket.resolution_due_at)
        ticket.resolution_warn_at = later(ticket.resolution_warn_at)
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


def mark_breaches(now: datetime, settings: dict | None = None) -> int:
    """Record every target that ran out unmet on an open, running clock, and tell who must act
    (and HQ's groups, when tell_hq_breaches). Idempotent: a breach is recorded and notified once."""
    hq_id = hq_party_id() if (settings or load_settings())["tell_hq_breaches"] else None
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
            notify_breach(ticket, "response", now, hq_id)
            marked += 1
    for ticket in resolution_late:
        if record_once(ticket, "resolution_breached", now, {"due": ticket.resolution_due_at.isoformat()}):
            notify_breach(ticket, "resolution", now, hq_id)
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


def notify_breach(ticket: Ticket, target: str, now: datetime, hq_id: int | None = None) -> None:
    """The breach to who must act, in the app and by e-mail; with `hq_id` (HQ's party), a card to
    HQ's groups too, saying who holds the ticket."""
    due_at = ticket.response_due_at if target == "response" else ticket.resolution_due_at
    kind, key = f"{target}_breached", f"{target}_breached:{ticket.id}"

    def title():
        if target == "response":
            return _("Ticket #%(id)d is overdue for response", id=ticket.id)
        return _("Ticket #%(id)d is overdue for resolution", id=ticket.id)

    notify_each(breach_recipients(ticket), kind, key,
                lambda: (title(), _("%(subject)s — due %(due)s.", subject=ticket.subject,
                                    due=format_datetime(due_at, "yyyy-MM-dd HH:mm"))),
                f"/tickets/{ticket.id}", now)
    if hq_id is not None:
        post_to_party(hq_id, kind, key, lambda: breach_card(ticket, title(), due_at, now), now, ticket.id)


def breach_card(ticket: Ticket, title: str, due_at: datetime, now: datetime) -> Card:
    """A breach as HQ's group reads it: the ticket, when it was due, and who has it now."""
    card = ticket_card(ticket, title, _("Was due %(deadline)s", deadline=deadline_text(due_at, now)))
    if ticket.owner_party_id is not None:
        holder = _("Held by %(party)s", party=ticket.owner.name)
    elif ticket.status == "offered":
        holder = _("Offered to %(party)s", party=ticket.offered_to.name)
    elif ticket.status == "hq_queue":
        holder = _("In HQ's queue: %(cause)s", cause=label(ticket.hq_queue_cause))
    else:
        return card
    return replace(card, lines=card.lines + (holder,))
