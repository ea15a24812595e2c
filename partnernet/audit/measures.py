"""The audit's measures per partner and period, aggregated in SQL over the ticket events.

measure_partners() runs five queries whatever the number of partners or tickets: one GROUP BY
party over the offer events, one over the tickets each partner kept, one over the tickets opened
for what each partner sold, one over the customers' ratings of each partner's service, and the
list of partners. ticket_ids_behind() lists the tickets
behind any one number with the same SQL, so a drill-down always adds up to the number.

The period is a range of days in China, [period_start, period_end] inclusive. Counts are by
event time. Whatever happened after `as_of` (the moment of the run) is ignored, so a run's
numbers can be reproduced later from the append-only events.
"""
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from partnernet.audit.wilson import share, wilson_lower_bound, wilson_upper_bound
from partnernet.customers.models import Contract, Customer
from partnernet.extensions import db
from partnernet.feedback.models import CustomerFeedback
from partnernet.network.models import Party
from partnernet.tickets.models import Ticket, TicketEvent
from partnernet.timeclock import CHINA

# A finding's offer counts and the event kind each one counts (event.party_id is the partner).
OFFER_EVENT_KINDS = {
    "offered": "offered",
    "accepted": "accepted",
    "declined": "declined",
    "expired": "offer_expired",
    "returned": "returned_to_hq",
}
PUSH_BACK = ("declined", "expired", "returned")
# The numbers a partner can open to see the tickets behind them.
MEASURES_WITH_TICKETS = tuple(OFFER_EVENT_KINDS) + (
    "push_back", "sold_tickets", "sold_not_served", "sla_kept", "sla_met", "sla_missed", "satisfaction_answers",
    "satisfied")
FLAG_REASONS = ("push_back", "sold_not_served", "satisfaction")
# A rated answer counts as satisfied at this rating or above (of 1 to 5).
SATISFIED_RATING = 4


@dataclass(frozen=True)
class Params:
    """A run's parameters: the push-back threshold (a share), the minimum volume, and the
    sold-not-served threshold (a share). The minimum volume applies to offers for push-back and
    to sold tickets for sold-not-served. Satisfaction has its own threshold (a share of satisfied
    answers) and minimum number of rated answers."""
    threshold: float
    min_offers: int
    sold_not_served_threshold: float
    satisfaction_threshold: float = 0.60
    satisfaction_min_answers: int = 10


@dataclass
class Measures:
    """One partner's counts over a period; the shares and the bound follow from them."""
    party_id: int
    offered: int = 0
    accepted: int = 0
    declined: int = 0
    expired: int = 0
    returned: int = 0
    sold_tickets: int = 0
    sold_not_served: int = 0
    sla_kept: int = 0     # kept tickets whose resolution target was settled (met or breached)
    sla_met: int = 0
    satisfaction_answers: int = 0  # customers' answers with a rating, about its service
    satisfied: int = 0             # of those, rated SATISFIED_RATING or above

    @property
    def push_back(self) -> int:
        return self.declined + self.expired + self.returned

    @property
    def push_back_rate(self) -> float | None:
        return share(self.push_back, self.offered)

    @property
    def push_back_lower_bound(self) -> float | None:
        return wilson_lower_bound(self.push_back, self.offered)

    @property
    def sold_not_served_share(self) -> float | None:
        return share(self.sold_not_served, self.sold_tickets)

    @property
    def sla_attainment(self) -> float | None:
        return share(self.sla_met, self.sla_kept)

    @property
    def satisfaction_upper_bound(self) -> float | None:
        """How high the satisfied share can plausibly be (Wilson, 95%): flagged only when even
        this is low, so that a few unhappy answers are not mistaken for a pattern."""
        return wilson_upper_bound(self.satisfied, self.satisfaction_answers)

    def as_dict(self) -> dict:
        """Every count, share and bound, by the name the finding's column has."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in ("push_back", "push_back_rate", "push_back_lower_bound", "sold_not_served_share",
                     "sla_attainment", "satisfaction_upper_bound"):
            values[name] = getattr(self, name)
        return values


def flag_reasons(measures: Measures, params: Params) -> list[str]:
    """Why a partner is flagged, if it is: push-back surely above the threshold on enough offers,
    or too large a share of what it sold served by HQ, on enough tickets, or customers surely
    less satisfied than the threshold (the upper bound below it), on enough rated answers."""
    reasons = []
    bound = measures.push_back_lower_bound
    if measures.offered >= params.min_offers and bound is not None and bound > params.threshold:
        reasons.append("push_back")
    sold_share = measures.sold_not_served_share
    if (measures.sold_tickets >= params.min_offers and sold_share is not None
            and sold_share > params.sold_not_served_threshold):
        reasons.append("sold_not_served")
    upper = measures.satisfaction_upper_bound
    if (measures.satisfaction_answers >= params.satisfaction_min_answers and upper is not None
            and upper < params.satisfaction_threshold):
        reasons.append("satisfaction")
    return reasons


def period_bounds(period_start: date, period_end: date) -> tuple[datetime, datetime]:
    """The days in China as UTC instants: [period_start 00:00, the day after period_end 00:00)."""
    start = datetime.combine(period_start, time.min, CHINA).astimezone(timezone.utc)
    end = datetime.combine(period_end + timedelta(days=1), time.min, CHINA).astimezone(timezone.utc)
    return start, end


def in_bounds(column, bounds):
    return sa.and_(column >= bounds[0], column < bounds[1])


# --- the SQL, each statement written once for the totals and the drill-down ----------------------

def offer_counts(bounds):
    """Per partner: its offers and their answers in the period, counted by event."""
    columns = [sa.func.sum(sa.case((TicketEvent.kind == kind, 1), else_=0)).label(name)
               for name, kind in OFFER_EVENT_KINDS.items()]
    return (sa.select(TicketEvent.party_id, *columns)
            .where(TicketEvent.kind.in_(tuple(OFFER_EVENT_KINDS.values())), in_bounds(TicketEvent.at, bounds),
                   TicketEvent.party_id.is_not(None))
            .group_by(TicketEvent.party_id))


def handed_on(event):
    """An escalation to a tier the holder does not offer there: the ticket went on by routing.
    Not push-back (it counts in none of OFFER_EVENT_KINDS), and no longer a ticket the holder keeps."""
    return sa.and_(event.kind == "escalated", event.to_status == "new")


def kept_tickets(bounds, as_of: datetime):
    """One row per (partner, ticket) it accepted in the period and had not returned to HQ (or
    handed on by an escalation) by `as_of`, with whether the ticket's resolution target was settled by then, and met."""
    returned, outcome = aliased(TicketEvent), aliased(TicketEvent)
    kept = (sa.select(TicketEvent.party_id, TicketEvent.ticket_id)
            .where(TicketEvent.kind == "accepted", in_bounds(TicketEvent.at, bounds),
                   TicketEvent.party_id.is_not(None),
                   ~sa.exists().where(returned.ticket_id == TicketEvent.ticket_id,
                                      returned.party_id == TicketEvent.party_id,
                                      sa.or_(returned.kind == "returned_to_hq", handed_on(returned)),
                                      returned.at <= as_of))
            .distinct().subquery("kept"))

    def recorded(*kinds):
        return sa.case((sa.exists().where(outcome.ticket_id == kept.c.ticket_id, outcome.kind.in_(kinds),
                                          outcome.at <= as_of), 1), else_=0)

    return sa.select(kept.c.party_id, kept.c.ticket_id,
                     recorded("resolution_met", "resolution_breached").label("settled"),
                     recorded("resolution_met").label("met")).subquery("kept_outcome")


def sold_tickets(bounds, as_of: datetime):
    """One row per ticket opened in the period: the party that sold what it is about (the
    contract's seller, else the customer's) and whether HQ ended up serving it by `as_of`.

    HQ serves a ticket when its last hand-over was to the HQ queue: it was queued at HQ (for any
    cause, including a return) and not offered to a partner since. Taken by HQ or still waiting
    in the queue, HQ holds it either way.
    """
    created = aliased(TicketEvent)
    opened = sa.select(created.ticket_id).where(created.kind == "created", in_bounds(created.at, bounds))
    handover = (sa.select(TicketEvent.ticket_id,
                          sa.func.max(sa.case((TicketEvent.kind == "queued_to_hq", TicketEvent.id))).label("queued"),
                          sa.func.max(sa.case((TicketEvent.kind == "offered", TicketEvent.id))).label("offered"))
                .where(TicketEvent.ticket_id.in_(opened), TicketEvent.kind.in_(("queued_to_hq", "offered")),
                       TicketEvent.at <= as_of)
                .group_by(TicketEvent.ticket_id).subquery("handover"))
    at_hq = sa.case((sa.and_(handover.c.queued.is_not(None),
                             sa.or_(handover.c.offered.is_(None), handover.c.queued > handover.c.offered)), 1),
                    else_=0)
    seller = sa.func.coalesce(Contract.sold_by_party_id, Customer.sold_by_party_id)
    return (sa.select(Ticket.id.label("ticket_id"), seller.label("party_id"), at_hq.label("at_hq"))
            .select_from(created)
            .join(Ticket, Ticket.id == created.ticket_id)
            .join(Customer, Customer.id == Ticket.customer_id)
            .outerjoin(Contract, Contract.id == Ticket.contract_id)
            .outerjoin(handover, handover.c.ticket_id == Ticket.id)
            .where(created.kind == "created", in_bounds(created.at, bounds))
            .subquery("sold"))


def ratings(bounds, as_of: datetime):
    """Per party: its customers' rated answers in the period (answered by `as_of`), and how many
    of them were satisfied."""
    return (sa.select(CustomerFeedback.party_id, sa.func.count().label("answers"),
                      sa.func.sum(sa.case((CustomerFeedback.rating >= SATISFIED_RATING, 1), else_=0)).label("satisfied"))
            .where(CustomerFeedback.rating.is_not(None), in_bounds(CustomerFeedback.answered_at, bounds),
                   CustomerFeedback.answered_at <= as_of)
            .group_by(CustomerFeedback.party_id))


# --- per partner, per period ---------------------------------------------------------------------

def measure_partners(period_start: date, period_end: date, as_of: datetime) -> list[Measures]:
    """Every partner's measures for the period, in five queries, ordered by party id.

    Every partner that is not terminated gets measures, zeros included (no activity is a fact
    too); a terminated partner only when it had activity in the period. HQ never does.
    """
    bounds = period_bounds(period_start, period_end)
    measured: dict[int, Measures] = {}

    def of(party_id) -> Measures:
        return measured.setdefault(party_id, Measures(party_id))

    for row in db.session.execute(offer_counts(bounds)):
        measures = of(row.party_id)
        for name in OFFER_EVENT_KINDS:
            setattr(measures, name, int(getattr(row, name) or 0))
    kept = kept_tickets(bounds, as_of)
    for party_id, settled, met in db.session.execute(
            sa.select(kept.c.party_id, sa.func.sum(kept.c.settled), sa.func.sum(kept.c.met))
            .group_by(kept.c.party_id)):
        measures = of(party_id)
        measures.sla_kept, measures.sla_met = int(settled or 0), int(met or 0)
    sold = sold_tickets(bounds, as_of)
    for party_id, count, at_hq in db.session.execute(
            sa.select(sold.c.party_id, sa.func.count(), sa.func.sum(sold.c.at_hq)).group_by(sold.c.party_id)):
        measures = of(party_id)
        measures.sold_tickets, measures.sold_not_served = int(count), int(at_hq or 0)
    for row in db.session.execute(ratings(bounds, as_of)):
        measures = of(row.party_id)
        measures.satisfaction_answers, measures.satisfied = int(row.answers), int(row.satisfied or 0)

    partners = db.session.execute(sa.select(Party.id, Party.status).where(Party.kind != "hq")).all()
    audited = [party_id for party_id, status in partners if status != "terminated" or party_id in measured]
    return [measured.get(party_id) or Measures(party_id) for party_id in sorted(audited)]


def ticket_ids_behind(party_id: int, measure: str, period_start: date, period_end: date,
                      as_of: datetime) -> list[int]:
    """The tickets behind one of a partner's numbers, by id, each once (a ticket offered to the
    same partner twice counts twice in `offered` but is listed once)."""
    bounds = period_bounds(period_start, period_end)
    if measure in OFFER_EVENT_KINDS or measure == "push_back":
        names = PUSH_BACK if measure == "push_back" else (measure,)
        statement = (sa.select(TicketEvent.ticket_id).distinct()
                     .where(TicketEvent.party_id == party_id,
                            TicketEvent.kind.in_([OFFER_EVENT_KINDS[n] for n in names]),
                            in_bounds(TicketEvent.at, bounds)))
    elif measure in ("sla_kept", "sla_met", "sla_missed"):
        kept = kept_tickets(bounds, as_of)
        condition = {"sla_kept": kept.c.settled == 1, "sla_met": kept.c.met == 1,
                     "sla_missed": sa.and_(kept.c.settled == 1, kept.c.met == 0)}[measure]
        statement = sa.select(kept.c.ticket_id).where(kept.c.party_id == party_id, condition)
    elif measure in ("sold_tickets", "sold_not_served"):
        sold = sold_tickets(bounds, as_of)
        statement = sa.select(sold.c.ticket_id).where(sold.c.party_id == party_id)
        if measure == "sold_not_served":
            statement = statement.where(sold.c.at_hq == 1)
    elif measure in ("satisfaction_answers", "satisfied"):
        statement = (sa.select(CustomerFeedback.ticket_id).distinct()
                     .where(CustomerFeedback.party_id == party_id, CustomerFeedback.rating.is_not(None),
                            in_bounds(CustomerFeedback.answered_at, bounds), CustomerFeedback.answered_at <= as_of))
        if measure == "satisfied":
            statement = statement.where(CustomerFeedback.rating >= SATISFIED_RATING)
    else:
        raise ValueError(f"no tickets behind {measure!r}")
    return sorted(db.session.execute(statement).scalars())
