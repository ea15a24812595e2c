"""What must always hold, checked over the whole database (`flask --app wsgi check`; the tests
call it after their scenarios). Each check returns the ids of the tickets (or partners) that break it."""
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm

from partnernet.db_types import china_date
from partnernet.extensions import db
from partnernet.network.models import Certification, Engineer, Party, PartyEvent
from partnernet.tickets import daily
from partnernet.tickets.models import HELD_STATUSES, Ticket, TicketEvent

# Events that set a ticket's status; the newest one must name the status the ticket has.
STATUS_EVENTS = ("created", "offered", "accepted", "declined", "offer_expired", "returned_to_hq", "queued_to_hq",
                 "taken_by_hq", "rerouted", "status_changed", "escalated", "reopened")
SCHEDULER_INTERVAL = timedelta(minutes=2)  # a minute between runs, and a minute for the run
# Events that answer the offer before them; a withdrawn offer is `rerouted` from `offered`.
OFFER_ANSWERS = ("accepted", "declined", "offer_expired")
# The checks over partners; the others are over tickets.
PARTNER_CHECKS = ("partner status differs from its history",)


@dataclass
class Report:
    violations: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(self.violations.values())

    def lines(self) -> list[str]:
        return [f"{name}: {'partners' if name in PARTNER_CHECKS else 'tickets'} "
                f"{', '.join(map(str, ids[:20]))}{' …' if len(ids) > 20 else ''}"
                for name, ids in self.violations.items() if ids]


def ids(statement) -> list[int]:
    return list(db.session.execute(statement).scalars())


def one_owner() -> list[int]:
    """Every open ticket has exactly one holder: an accepting party, one live offer, or HQ's queue."""
    held = sa.and_(Ticket.status.in_(HELD_STATUSES), Ticket.owner_party_id.is_not(None),
                   Ticket.offered_party_id.is_(None))
    offered = sa.and_(Ticket.status == "offered", Ticket.offered_party_id.is_not(None),
                      Ticket.owner_party_id.is_(None), Ticket.offer_deadline.is_not(None))
    queued = sa.and_(Ticket.status == "hq_queue", Ticket.owner_party_id.is_(None),
                     Ticket.offered_party_id.is_(None), Ticket.hq_queue_cause.is_not(None))
    done = Ticket.status.in_(("resolved", "closed"))
    return ids(sa.select(Ticket.id).where(~sa.or_(held, offered, queued, done)).order_by(Ticket.id))


def certified_when_assigned() -> list[int]:
    """Every ticket's engineer (of a partner) held a certificate for its line when assigned."""
    assigned = (sa.select(TicketEvent.ticket_id, sa.func.max(TicketEvent.at).label("at"))
                .where(TicketEvent.kind.in_(("accepted", "assigned")))
                .group_by(TicketEvent.ticket_id).subquery())
    day = china_date(assigned.c.at)  # the day in China on which the engineer was assigned
    certified = sa.exists().where(
        Certification.engineer_id == Ticket.engineer_id, Certification.product_line_id == Ticket.product_line_id,
        Certification.status.in_(("valid", "expired", "revoked")),
        Certification.issued_on <= day, Certification.expires_on >= day)
    return ids(sa.select(Ticket.id).join(assigned, assigned.c.ticket_id == Ticket.id)
               .join(Engineer, Engineer.id == Ticket.engineer_id)
               .where(Engineer.party_id == Ticket.owner_party_id, ~certified).order_by(Ticket.id))


def events_match_state() -> list[int]:
    """The newest status-setting event of every ticket names the ticket's status."""
    newest = (sa.select(TicketEvent.ticket_id, sa.func.max(TicketEvent.id).label("id"))
              .where(TicketEvent.kind.in_(STATUS_EVENTS), TicketEvent.to_status.is_not(None))
              .group_by(TicketEvent.ticket_id).subquery())
    last = sa.orm.aliased(TicketEvent)
    mismatched = (sa.select(Ticket.id).join(newest, newest.c.ticket_id == Ticket.id)
                  .join(last, last.id == newest.c.id).where(last.to_status != Ticket.status))
    without = sa.select(Ticket.id).where(~sa.exists().where(TicketEvent.ticket_id == Ticket.id))
    return sorted(set(ids(mismatched)) | set(ids(without)))


def events_replay() -> list[int]:
    """A ticket's status events replay one after another: each starts from the status the one
    before it ended in. (Two changes made at once from the same state break this: eight offers by
    hand of one queued ticket are eight events from hq_queue.) The queue's event after a return to
    HQ names the status the return started from, as it always has."""
    ordered = {"partition_by": TicketEvent.ticket_id, "order_by": TicketEvent.id}
    steps = (sa.select(TicketEvent.ticket_id, TicketEvent.kind, TicketEvent.from_status,
                       sa.func.lag(TicketEvent.kind).over(**ordered).label("previous_kind"),
                       sa.func.lag(TicketEvent.from_status).over(**ordered).label("previous_from"),
                       sa.func.lag(TicketEvent.to_status).over(**ordered).label("previous_to"))
             .where(TicketEvent.kind.in_(STATUS_EVENTS), TicketEvent.to_status.is_not(None)).subquery())
    came_from = sa.func.coalesce(steps.c.from_status, "")
    after_return = sa.and_(steps.c.kind == "queued_to_hq", steps.c.previous_kind == "returned_to_hq",
                           came_from == sa.func.coalesce(steps.c.previous_from, ""))
    return ids(sa.select(steps.c.ticket_id).distinct()
               .where(steps.c.previous_to.is_not(None), came_from != steps.c.previous_to, ~after_return)
               .order_by(steps.c.ticket_id))


def one_live_offer() -> list[int]:
    """A ticket has at most one live offer, and one only while it is offered: its offers less the
    answers to them (accepted, declined, expired, withdrawn) are at most 1 when offered, else 0.
    (Eight offers by hand at once left eight live offers behind one offered ticket.)"""
    answered = sa.or_(TicketEvent.kind.in_(OFFER_ANSWERS),
                      sa.and_(TicketEvent.kind == "rerouted", TicketEvent.from_status == "offered"))
    live = (sa.select(TicketEvent.ticket_id, sa.func.sum(sa.case((TicketEvent.kind == "offered", 1),
                                                                  (answered, -1), else_=0)).label("offers"))
            .group_by(TicketEvent.ticket_id).subquery())
    allowed = sa.case((Ticket.status == "offered", 1), else_=0)
    return ids(sa.select(Ticket.id).join(live, live.c.ticket_id == Ticket.id)
               .where(live.c.offers > allowed).order_by(Ticket.id))


def partner_status_follows_history() -> list[int]:
    """A partner with a status history has the status its last entry names, and each entry starts
    from the status the one before it ended in (partner ids)."""
    ordered = {"partition_by": PartyEvent.party_id, "order_by": PartyEvent.id}
    entries = (sa.select(PartyEvent.party_id, PartyEvent.from_status, PartyEvent.to_status,
                         sa.func.lag(PartyEvent.to_status).over(**ordered).label("previous_to"),
                         sa.func.lead(PartyEvent.id).over(**ordered).label("next_id"))
               .where(PartyEvent.to_status.is_not(None)).subquery())
    broken = sa.or_(sa.and_(entries.c.previous_to.is_not(None),
                            sa.func.coalesce(entries.c.from_status, "") != entries.c.previous_to),
                    sa.and_(entries.c.next_id.is_(None), entries.c.to_status != Party.status))
    return ids(sa.select(Party.id).distinct().join(entries, entries.c.party_id == Party.id)
               .where(broken).order_by(Party.id))


def no_stale_offers(now: datetime) -> list[int]:
    """No offer stays live past its deadline for longer than the scheduler needs to expire it."""
    return ids(sa.select(Ticket.id).where(Ticket.status == "offered",
                                          Ticket.offer_deadline < now - SCHEDULER_INTERVAL).order_by(Ticket.id))


def daily_counts_differ() -> list[int]:
    """The dashboard's counts (kept by triggers) against the events: the tickets with an event in
    a day or month, and of a kind, whose count is off."""
    wrong = daily.differences()
    if not wrong:
        return []
    days = {(key[1], key[2]) for key, _kept, _expected in wrong if key[0] == "day"}
    months = {(key[1], key[3]) for key, _kept, _expected in wrong if key[0] == "month"}
    events = sa.select(TicketEvent.ticket_id, china_date(TicketEvent.at), TicketEvent.kind, daily.counted_kind())
    return sorted({ticket_id for ticket_id, day, kind, counted in db.session.execute(events)
                   if (daily.as_date(day), counted) in days or (daily.month_start(day), kind) in months}) or [0]


def check(now: datetime) -> Report:
    return Report({
        "open ticket without exactly one holder": one_owner(),
        "engineer not certified when assigned": certified_when_assigned(),
        "ticket state differs from its events": events_match_state(),
        "ticket's events do not replay": events_replay(),
        "more than one live offer": one_live_offer(),
        "offer live past its deadline": no_stale_offers(now),
        "daily counts differ from the events": daily_counts_differ(),
        "partner status differs from its history": partner_status_follows_history(),
    })
