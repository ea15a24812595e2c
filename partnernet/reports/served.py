"""What the reports count, written once: the tickets a party served in a month in China, and each
ticket's SLA outcomes as its events recorded them (the events are the truth for SLA reporting)."""
from datetime import date, datetime

import sqlalchemy as sa

from partnernet.audit.measures import period_bounds
from partnernet.scorecards.service import add_months, last_day, month_of
from partnernet.tickets.models import Ticket, TicketEvent

# A ticket is served once resolved (closed follows resolved; a reopened ticket is at work again).
SERVED_STATUSES = ("resolved", "closed")


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The calendar month in China (any day of it) as UTC instants [first day 00:00, next month's)."""
    first = month_of(month)
    return period_bounds(first, last_day(first))


def served_in(month: date):
    """SQL: the ticket was served (resolved, or resolved and closed) and resolved in the month."""
    start, end = month_bounds(month)
    return sa.and_(Ticket.status.in_(SERVED_STATUSES), Ticket.resolved_at >= start, Ticket.resolved_at < end)


def sla_outcome(target: str):
    """SQL, per ticket row: 'met', 'breached' or NULL (not settled yet) for the target ('response'
    or 'resolution'), from the event recorded once for it. A correlated look-up by the
    (ticket, kind) index: a list of any length streams, with no query per row from here."""
    met, breached = f"{target}_met", f"{target}_breached"
    kind = (sa.select(TicketEvent.kind).where(TicketEvent.ticket_id == Ticket.id, TicketEvent.kind.in_((met, breached)))
            .order_by(TicketEvent.id).limit(1).correlate(Ticket).scalar_subquery())
    return sa.case((kind == met, "met"), (kind == breached, "breached"), else_=None)


def next_month(month: date) -> date:
    return add_months(month_of(month), 1)
