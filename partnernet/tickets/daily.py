"""Counts of ticket events, kept by the database as events are written.

The dashboard's figures over weeks and months read these counts instead of millions of events:
per day in China (event_count_day), the SLA targets met and breached and the tickets resolved by
a partner or by HQ; per month and partner (offer_count_month), the offers and what became of them,
for this month's push-back ranking; per ISO week and partner (offer_count_week, migration 0021), the
same, for the partner page's weekly push-back chart. Triggers on ticket_event (migration 0009, SQLite and
PostgreSQL alike) add one to the right row in the transaction that inserts the event; events are
append-only, so the counts never need to be taken back. `flask check` compares them with the
events themselves.
"""
from datetime import date, timedelta

import sqlalchemy as sa

from partnernet.db_types import china_date
from partnernet.extensions import db
from partnernet.tickets.models import EventCountDay, OfferCountMonth, OfferCountWeek, TicketEvent

# What is counted, and under which name: per month, a partner's offers and answers to them (only
# with a party); per day, the SLA targets settled and a ticket marked resolved (party: whoever
# resolved it, HQ or a partner).
OFFER_KINDS = ("offered", "accepted", "declined", "offer_expired", "returned_to_hq")
SLA_KINDS = ("response_met", "response_breached", "resolution_met", "resolution_breached")
RESOLVED = "resolved"


def counted_kind():
    """SQL over ticket_event: the name an event is counted under per day, NULL when it is not."""
    return sa.case(
        (TicketEvent.kind.in_(SLA_KINDS), TicketEvent.kind),
        (sa.and_(TicketEvent.kind == "status_changed", TicketEvent.to_status == "resolved"), RESOLVED),
    )


def month_start(day) -> date:
    return as_date(day).replace(day=1)


def counts_from_events() -> dict[tuple, int]:
    """The counts as they follow from the events, keyed as the kept rows are:
    ("day", day, kind, party_id), ("month", first day, party_id, kind) and ("week", Monday, party_id, kind)."""
    counts: dict[tuple, int] = {}
    kind = counted_kind().label("kind")
    day = china_date(TicketEvent.at).label("day")
    party = sa.func.coalesce(TicketEvent.party_id, 0).label("party_id")
    for row in db.session.execute(sa.select(day, kind, party, sa.func.count().label("count"))
                                  .where(kind.is_not(None)).group_by(day, kind, party)):
        counts[("day", as_date(row.day), row.kind, row.party_id)] = row.count
    for row in db.session.execute(
            sa.select(day, TicketEvent.party_id, TicketEvent.kind, sa.func.count().label("count"))
            .where(TicketEvent.kind.in_(OFFER_KINDS), TicketEvent.party_id.is_not(None))
            .group_by(day, TicketEvent.party_id, TicketEvent.kind)):
        for key in (("month", month_start(row.day), row.party_id, row.kind),
                    ("week", week_start(row.day), row.party_id, row.kind)):
            counts[key] = counts.get(key, 0) + row.count
    return counts


def kept_counts() -> dict[tuple, int]:
    kept = {("day", as_date(r.day), r.kind, r.party_id): r.count for r in db.session.execute(
        sa.select(EventCountDay.day, EventCountDay.kind, EventCountDay.party_id, EventCountDay.count))}
    kept.update({("month", as_date(r.month), r.party_id, r.kind): r.count for r in db.session.execute(
        sa.select(OfferCountMonth.month, OfferCountMonth.party_id, OfferCountMonth.kind, OfferCountMonth.count))})
    kept.update({("week", as_date(r.week), r.party_id, r.kind): r.count for r in db.session.execute(
        sa.select(OfferCountWeek.week, OfferCountWeek.party_id, OfferCountWeek.kind, OfferCountWeek.count))})
    return kept


def differences() -> list[tuple]:
    """(key, kept, from events) for every count that disagrees with the events."""
    expected, kept = counts_from_events(), kept_counts()
    return sorted((key, kept.get(key, 0), expected.get(key, 0)) for key in set(expected) | set(kept)
                  if kept.get(key, 0) != expected.get(key, 0))


def week_start(day) -> date:
    """The Monday of the ISO week holding the day."""
    day = as_date(day)
    return day - timedelta(days=day.weekday())


def as_date(value) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def per_day(kinds, first: date, last: date | None = None):
    """(day, kind, party_id, count) rows for `kinds` from `first` (to `last`)."""
    statement = sa.select(EventCountDay.day, EventCountDay.kind, EventCountDay.party_id, EventCountDay.count).where(
        EventCountDay.kind.in_(kinds), EventCountDay.day >= first)
    if last is not None:
        statement = statement.where(EventCountDay.day <= last)
    return db.session.execute(statement)


def offers_by_party(month: date, limit: int | None = None, min_offers: int = 0) -> dict[int, dict[str, int]]:
    """{party_id: {kind: count}} of the offer kinds in the month (in China) that holds `month`.
    With `limit`: only that many partners, those with the highest push-back rate (declined,
    expired or returned per offer) among those offered at least `min_offers`, ranked in SQL."""
    sums = {kind: sa.func.sum(sa.case((OfferCountMonth.kind == kind, OfferCountMonth.count), else_=0)).label(kind)
            for kind in OFFER_KINDS}
    statement = (sa.select(OfferCountMonth.party_id, *sums.values())
                 .where(OfferCountMonth.month == month_start(month))
                 .group_by(OfferCountMonth.party_id))
    if limit is not None:
        offered = sums["offered"]
        pushed_back = sums["declined"] + sums["offer_expired"] + sums["returned_to_hq"]
        statement = (statement.having(offered >= max(min_offers, 1))
                     .order_by((sa.cast(pushed_back, sa.Float) / offered).desc(), offered.desc(),
                               OfferCountMonth.party_id).limit(limit))
    return {row.party_id: {kind: int(getattr(row, kind)) for kind in OFFER_KINDS if getattr(row, kind)}
            for row in db.session.execute(statement)}
