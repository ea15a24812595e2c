"""Counts of ticket events per day in China, kept by the database as events are written.

The dashboard's figures over weeks and months (SLA targets met and breached, tickets resolved by a
partner or by HQ, each partner's offers and push-back this month) read these counts instead of
millions of events. A trigger on ticket_event (migration 0009, SQLite and PostgreSQL alike) adds
one to the row of the event's day, counted kind and party, in the transaction that inserts the
event; events are append-only, so the counts never need to be taken back. `flask check`
compares them with the events themselves.
"""
from datetime import date

import sqlalchemy as sa

from partnernet.db_types import china_date
from partnernet.extensions import db
from partnernet.tickets.models import EventCountDay, TicketEvent

# What is counted, and under which name: the partner's answers to offers (only with a party), the
# SLA targets settled, and a ticket marked resolved (party: whoever resolved it, HQ or a partner).
OFFER_KINDS = ("offered", "accepted", "declined", "offer_expired", "returned_to_hq")
SLA_KINDS = ("response_met", "response_breached", "resolution_met", "resolution_breached")
RESOLVED = "resolved"


def counted_kind():
    """SQL over ticket_event: the name an event is counted under, NULL when it is not counted."""
    return sa.case(
        (sa.and_(TicketEvent.kind.in_(OFFER_KINDS), TicketEvent.party_id.is_not(None)), TicketEvent.kind),
        (TicketEvent.kind.in_(SLA_KINDS), TicketEvent.kind),
        (sa.and_(TicketEvent.kind == "status_changed", TicketEvent.to_status == "resolved"), RESOLVED),
    )


def counts_from_events():
    """The counts as they follow from the events: the same rows the trigger keeps."""
    kind = counted_kind().label("kind")
    day = china_date(TicketEvent.at).label("day")
    party = sa.func.coalesce(TicketEvent.party_id, 0).label("party_id")
    return (sa.select(day, kind, party, sa.func.count().label("count"))
            .where(kind.is_not(None)).group_by(day, kind, party))


def differences() -> list[tuple]:
    """(day, kind, party_id, kept, from events) for every count that disagrees with the events."""
    expected = {(as_date(r.day), r.kind, r.party_id): r.count for r in db.session.execute(counts_from_events())}
    kept = {(as_date(r.day), r.kind, r.party_id): r.count for r in db.session.execute(
        sa.select(EventCountDay.day, EventCountDay.kind, EventCountDay.party_id, EventCountDay.count))}
    return sorted((key + (kept.get(key, 0), expected.get(key, 0))) for key in set(expected) | set(kept)
                  if kept.get(key, 0) != expected.get(key, 0))


def as_date(value) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def per_day(kinds, first: date, last: date | None = None):
    """(day, kind, party_id, count) rows for `kinds` from `first` (to `last`)."""
    statement = sa.select(EventCountDay.day, EventCountDay.kind, EventCountDay.party_id, EventCountDay.count).where(
        EventCountDay.kind.in_(kinds), EventCountDay.day >= first)
    if last is not None:
        statement = statement.where(EventCountDay.day <= last)
    return db.session.execute(statement)


def offers_by_party(first: date, last: date, limit: int | None = None, min_offers: int = 0) -> dict[int, dict[str, int]]:
    """{party_id: {kind: count}} of the offer kinds between two days in China, inclusive. With
    `limit`: only that many partners, those with the highest push-back rate (declined, expired or
    returned per offer) among those offered at least `min_offers`, ranked in SQL."""
    sums = {kind: sa.func.sum(sa.case((EventCountDay.kind == kind, EventCountDay.count), else_=0)).label(kind)
            for kind in OFFER_KINDS}
    statement = (sa.select(EventCountDay.party_id, *sums.values())
                 .where(EventCountDay.kind.in_(OFFER_KINDS), EventCountDay.day.between(first, last))
                 .group_by(EventCountDay.party_id))
    if limit is not None:
        offered = sums["offered"]
        pushed_back = sums["declined"] + sums["offer_expired"] + sums["returned_to_hq"]
        statement = (statement.having(offered >= max(min_offers, 1))
                     .order_by((sa.cast(pushed_back, sa.Float) / offered).desc(), offered.desc(),
                               EventCountDay.party_id).limit(limit))
    return {row.party_id: {kind: int(getattr(row, kind)) for kind in OFFER_KINDS if getattr(row, kind)}
            for row in db.session.execute(statement)}
