"""Partner scorecards: per partner and month (in China), tickets served, SLA targets met,
customers' satisfaction with its Wilson lower bound, reopen rate, push-back and certified engineers.

Plain functions taking the months and returning rows. Every figure comes from a grouped query
over all the partners asked for at once (the kept daily and monthly counts where they exist),
so a province of 2,000 partners costs the same few statements as one of three.
"""
import re
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import aliased

from partnernet.audit.measures import SATISFIED_RATING, period_bounds
from partnernet.audit.wilson import share, wilson_lower_bound
from partnernet.errors import NotFound, ValidationFailed
from partnernet.extensions import db
from partnernet.feedback.models import CustomerFeedback
from partnernet.labels import reads_chinese
from partnernet.network.models import Party
from partnernet.network.service import engineers_certified_on
from partnernet.scope import get_or_404
from partnernet.tickets import daily
from partnernet.tickets.models import EVENT_KINDS, EventCountDay, OfferCountMonth, Ticket, TicketEvent

MONTHS = 12          # a trend's length
MAX_MONTHS = 36      # the longest range the API answers at once
# The events that hand a ticket over; of them, those after which a party holds it.
HANDOVER_KINDS = ("offered", "accepted", "taken_by_hq", "returned_to_hq", "queued_to_hq", "rerouted")
HOLDING_KINDS = ("accepted", "taken_by_hq")
PUSH_BACK_KINDS = ("declined", "offer_expired", "returned_to_hq")
REOPENED = "reopened"  # counted once the ticket events know the kind (the customer's "not solved")


@dataclass
class Scorecard:
    """One partner's month. Counts are stored; shares and the bound follow from them."""
    party_id: int
    month: date                 # the month's first day
    name: str = ""
    province_code: str | None = None
    name_sort: str = ""         # the name's pinyin key (partnernet.collation)
    served: int = 0             # tickets it resolved in the month
    response_met: int = 0       # SLA targets settled in the month on tickets it held then
    response_breached: int = 0
    resolution_met: int = 0
    resolution_breached: int = 0
    reopened: int = 0
    rated: int = 0              # customers' answers with a rating
    rating_total: int = 0
    satisfied: int = 0          # of those, rated SATISFIED_RATING or above
    offered: int = 0
    push_back: int = 0          # offers declined, let expire or returned to HQ
    certified_engineers: int = 0  # active engineers with a valid certificate at the month's end (or today)

    @property
    def response_rate(self) -> float | None:
        return share(self.response_met, self.response_met + self.response_breached)

    @property
    def resolution_rate(self) -> float | None:
        return share(self.resolution_met, self.resolution_met + self.resolution_breached)

    @property
    def sla_rate(self) -> float | None:
        """Response and resolution targets together: the share met."""
        met = self.response_met + self.resolution_met
        return share(met, met + self.response_breached + self.resolution_breached)

    @property
    def rating_mean(self) -> float | None:
        return share(self.rating_total, self.rated)

    @property
    def satisfied_share(self) -> float | None:
        return share(self.satisfied, self.rated)

    @property
    def satisfaction_lower_bound(self) -> float | None:
        """The 95% Wilson lower bound of the satisfied share: what the ranking orders by, so that
        three perfect answers do not outrank three hundred mostly good ones."""
        return wilson_lower_bound(self.satisfied, self.rated)

    @property
    def reopen_rate(self) -> float | None:
        return share(self.reopened, self.served)

    @property
    def push_back_rate(self) -> float | None:
        return share(self.push_back, self.offered)


# --- months -----------------------------------------------------------------------------------------

def month_of(day: date) -> date:
    return day.replace(day=1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def months_between(first: date, last: date) -> list[date]:
    """The months' first days from `first`'s month to `last`'s, oldest first."""
    months, month = [], month_of(first)
    while month <= month_of(last):
        months.append(month)
        month = add_months(month, 1)
    return months


def parse_month(text: str | None, name: str = "month") -> date | None:
    """'2026-11' as the month's first day; None for nothing given; ValidationFailed otherwise."""
    if not text:
        return None
    found = re.fullmatch(r"([0-9]{4})-([0-9]{2})", str(text))
    if found and 2000 <= int(found[1]) <= 2100 and 1 <= int(found[2]) <= 12:
        return date(int(found[1]), int(found[2]), 1)
    raise ValidationFailed(_("These scorecards cannot be shown."), {name: _("A month such as 2026-11.")})


def month_range(first_text: str | None, last_text: str | None, this_month: date) -> list[date]:
    """The months of a trend: given, or the MONTHS ending with `this_month`; at most MAX_MONTHS."""
    last = parse_month(last_text, "to") or this_month
    first = parse_month(first_text, "from") or add_months(last, 1 - MONTHS)
    if first > last:
        raise ValidationFailed(_("These scorecards cannot be shown."), {"from": _("The first month must not be after the last.")})
    months = months_between(first, last)
    if len(months) > MAX_MONTHS:
        raise ValidationFailed(_("These scorecards cannot be shown."),
                               {"from": _("At most %(count)d months at once.", count=MAX_MONTHS)})
    return months


# --- the figures ------------------------------------------------------------------------------------

def scorecards(months: list[date], today: date, parties) -> dict[tuple[int, date], Scorecard]:
    """{(party_id, month): Scorecard} for the partners selected by `parties` (a statement
    selecting Party.id) over `months` (consecutive first days, oldest first). A fixed number of
    statements whatever the number of partners or months."""
    ends = [period_bounds(month, last_day(month))[1] for month in months]  # each month's end, in UTC
    start, end = period_bounds(months[0], months[0])[0], ends[-1]
    cards: dict[tuple[int, date], Scorecard] = {}
    names = {row.id: row for row in db.session.execute(
        sa.select(Party.id, Party.name, Party.name_sort, Party.province_code).where(Party.id.in_(parties)))}

    def card(party_id, index) -> Scorecard | None:
        if party_id not in names or index is None:
            return None
        month = months[int(index)]
        key = (party_id, month)
        if key not in cards:
            row = names[party_id]
            cards[key] = Scorecard(party_id, month, row.name, row.province_code, row.name_sort or "")
        return cards[key]

    for party_id in names:
        for index in range(len(months)):
            card(party_id, index)

    # Served: the kept daily counts of tickets resolved, per party.
    for party_id, index, count in db.session.execute(served_statement(months, parties)):
        if (found := card(party_id, index)) is not None:
            found.served = int(count or 0)

    # SLA: the targets settled in the month, each for the party holding the ticket at that moment
    # (the kept counts carry no party for them: the clocks record them for the ticket).
    for party_id, index, kind, count in db.session.execute(sla_statement(ends, start, end, parties)):
        if (found := card(party_id, index)) is not None:
            setattr(found, kind, int(count))

    # Reopened: once the ticket events have the kind; until then nothing is counted.
    if REOPENED in EVENT_KINDS:
        for party_id, index, count in db.session.execute(reopened_statement(ends, start, end, parties)):
            if (found := card(party_id, index)) is not None:
                found.reopened = int(count)

    # Satisfaction: the customers' rated answers about each party's service.
    for party_id, index, rated, total, satisfied in db.session.execute(ratings_statement(ends, start, end, parties)):
        if (found := card(party_id, index)) is not None:
            found.rated, found.rating_total, found.satisfied = int(rated), int(total or 0), int(satisfied or 0)

    # Push-back: the kept monthly offer counts, as the audit and the dashboard count them.
    month_index = {month: index for index, month in enumerate(months)}
    for party_id, month, kind, count in db.session.execute(
            sa.select(OfferCountMonth.party_id, OfferCountMonth.month, OfferCountMonth.kind,
                      sa.func.sum(OfferCountMonth.count))
            .where(OfferCountMonth.month.in_(months), OfferCountMonth.party_id.in_(parties),
                   OfferCountMonth.kind.in_(("offered",) + PUSH_BACK_KINDS))
            .group_by(OfferCountMonth.party_id, OfferCountMonth.month, OfferCountMonth.kind)):
        if (found := card(party_id, month_index.get(daily.as_date(month)))) is not None:
            if kind == "offered":
                found.offered += int(count)
            else:
                found.push_back += int(count)

    # Certified engineers, at each month's end (the running month: today).
    days = [min(last_day(month), today) for month in months]
    certified = engineers_certified_on(days, parties)
    for (party_id, day), count in certified.items():
        for index, until in enumerate(days):
            if until == day and (found := card(party_id, index)) is not None:
                found.certified_engineers = count
    return cards


def last_day(month: date) -> date:
    return add_months(month, 1) - timedelta(days=1)


# Each statement groups by party and month index (the position in `months`), through a subquery:
# PostgreSQL does not take two copies of a CASE with parameters (select and GROUP BY) as one.

def served_statement(months, parties):
    """(party_id, month index, count) of tickets resolved, from the kept daily counts."""
    index = sa.case(*[(EventCountDay.day < add_months(month, 1), position) for position, month in enumerate(months)])
    resolved = (sa.select(EventCountDay.party_id, index.label("month"), EventCountDay.count)
                .where(EventCountDay.kind == daily.RESOLVED, EventCountDay.day >= months[0],
                       EventCountDay.day < add_months(months[-1], 1), EventCountDay.party_id.in_(parties))
                .subquery("resolved"))
    return (sa.select(resolved.c.party_id, resolved.c.month, sa.func.sum(resolved.c.count))
            .group_by(resolved.c.party_id, resolved.c.month))


def ratings_statement(ends, start, end, parties):
    """(party_id, month index, rated answers, their ratings' sum, satisfied answers) in [start, end)."""
    index = sa.case(*[(CustomerFeedback.answered_at < moment, position) for position, moment in enumerate(ends)])
    answers = (sa.select(CustomerFeedback.party_id, index.label("month"), CustomerFeedback.rating)
               .where(CustomerFeedback.rating.is_not(None), CustomerFeedback.answered_at >= start,
                      CustomerFeedback.answered_at < end, CustomerFeedback.party_id.in_(parties))
               .subquery("answers"))
    return (sa.select(answers.c.party_id, answers.c.month, sa.func.count(), sa.func.sum(answers.c.rating),
                      sa.func.sum(sa.case((answers.c.rating >= SATISFIED_RATING, 1), else_=0)))
            .group_by(answers.c.party_id, answers.c.month))


def sla_statement(ends, start, end, parties):
    """(party_id, month index, kind, count): SLA events in [start, end) of tickets the parties
    held, each credited to the party that held the ticket when it was recorded: the latest
    hand-over recorded before it, found in one pass over those tickets' events (a running
    maximum over each ticket's events; a look-up per event costs PostgreSQL far more)."""
    settled, held = aliased(TicketEvent), aliased(TicketEvent)
    in_window = sa.select(settled.ticket_id).where(settled.kind.in_(daily.SLA_KINDS), settled.at >= start,
                                                   settled.at < end)
    # Only the tickets these parties ever held before the end: a province's, not the network's.
    tickets_held = sa.select(held.ticket_id).where(held.kind.in_(HOLDING_KINDS), held.party_id.in_(parties),
                                                   held.at < end)
    handover_id = sa.func.max(sa.case((TicketEvent.kind.in_(HANDOVER_KINDS), TicketEvent.id))).over(
        partition_by=TicketEvent.ticket_id, order_by=TicketEvent.id)
    timeline = (sa.select(TicketEvent.kind, TicketEvent.at, handover_id.label("handover_id"))
                .where(TicketEvent.ticket_id.in_(in_window), TicketEvent.ticket_id.in_(tickets_held),
                       TicketEvent.kind.in_(HANDOVER_KINDS + daily.SLA_KINDS), TicketEvent.at < end)
                .subquery("timeline"))
    handover = aliased(TicketEvent)
    index = sa.case(*[(timeline.c.at < moment, position) for position, moment in enumerate(ends)])
    events = (sa.select(handover.party_id.label("party_id"), index.label("month"), timeline.c.kind.label("kind"))
              .join(handover, handover.id == timeline.c.handover_id)
              .where(timeline.c.kind.in_(daily.SLA_KINDS), timeline.c.at >= start,
                     handover.kind.in_(HOLDING_KINDS), handover.party_id.in_(parties))
              .subquery("settled"))
    return (sa.select(events.c.party_id, events.c.month, events.c.kind, sa.func.count())
            .group_by(events.c.party_id, events.c.month, events.c.kind))


def reopened_statement(ends, start, end, parties):
    """(party_id, month index, count) of tickets reopened in [start, end), for the party named on
    the event (else the ticket's owner)."""
    index = sa.case(*[(TicketEvent.at < moment, position) for position, moment in enumerate(ends)])
    events = (sa.select(sa.func.coalesce(TicketEvent.party_id, Ticket.owner_party_id).label("party_id"),
                        index.label("month"))
              .join(Ticket, Ticket.id == TicketEvent.ticket_id)
              .where(TicketEvent.kind == REOPENED, TicketEvent.at >= start, TicketEvent.at < end)
              .subquery("reopened"))
    return (sa.select(events.c.party_id, events.c.month, sa.func.count())
            .where(events.c.party_id.in_(parties)).group_by(events.c.party_id, events.c.month))


# --- what the pages and the API ask for -------------------------------------------------------------

def partners_in(province_code: str):
    """SQL: the ids of the partners of a province (HQ and terminated partners are not scored)."""
    return sa.select(Party.id).where(Party.kind != "hq", Party.status != "terminated",
                                     Party.province_code == province_code)


def ranked(cards: list[Scorecard]) -> list[Scorecard]:
    """Best first: by the satisfaction lower bound, then SLA targets met, then the lower
    push-back rate, then the name; a partner without a rated answer comes after those with one."""
    pinyin = reads_chinese()  # Chinese readers see ties in pinyin order
    by_name = sorted(cards, key=lambda c: (c.name_sort if pinyin else "", c.name, c.party_id))

    def key(c: Scorecard):
        bound, sla, push_back = c.satisfaction_lower_bound, c.sla_rate, c.push_back_rate
        return (bound is None, -(bound or 0), sla is None, -(sla or 0), push_back is None, push_back or 0)
    return sorted(by_name, key=key)


def province_ranking(month: date, province_code: str, today: date) -> list[Scorecard]:
    """The month's scorecards of a province's partners, ranked (see `ranked`)."""
    cards = scorecards([month], today, partners_in(province_code))
    return ranked(list(cards.values()))


def partner_trend(party_id: int, months: list[date], today: date) -> list[Scorecard]:
    """One partner's scorecards over `months`, oldest first."""
    cards = scorecards(months, today, sa.select(sa.literal(party_id)))
    return [cards[(party_id, month)] for month in months if (party_id, month) in cards]


def scored_partner(party_id: int, user) -> Party:
    """The partner whose scorecard `user` may read: HQ any partner; a partner's administrator
    its own. Anything else is NotFound (another partner's scorecard does not exist for them)."""
    if not user.is_hq and user.role != "partner_admin":
        raise NotFound()
    party = get_or_404(Party, party_id, user)
    if party.kind == "hq":
        raise NotFound()
    return party


def busiest_province() -> str | None:
    """The province with the most scored partners: the ranking's first sight."""
    return db.session.execute(
        sa.select(Party.province_code).where(Party.kind != "hq", Party.status != "terminated",
                                             Party.province_code.is_not(None))
        .group_by(Party.province_code).order_by(sa.func.count().desc(), Party.province_code).limit(1)).scalar()
