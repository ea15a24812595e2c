"""What the reports count, written once: the tickets served in a month in China (the ticket list's
"resolved in" filter, tickets.queries.served_in), each ticket's SLA outcomes as its events recorded
them (the events are the truth for SLA reporting), and its on-site hours."""
import sqlalchemy as sa
import sqlalchemy.ext.compiler

from partnernet.fieldwork.models import Visit
from partnernet.tickets.models import Ticket, TicketEvent
from partnernet.tickets.queries import month_bounds, parse_month, served_in  # noqa: F401  (the reports' months)


def sla_outcome(target: str):
    """SQL, per ticket row: the kind of the event recorded once for the target ('response' or
    'resolution'): '<target>_met', '<target>_breached', or NULL while it is not settled. One
    correlated look-up by the ticket's events' index per row (not a CASE over it, which would
    read it once per branch): a list of any length streams, with no query per row from here."""
    return (sa.select(TicketEvent.kind)
            .where(TicketEvent.ticket_id == Ticket.id, TicketEvent.kind.in_((f"{target}_met", f"{target}_breached")))
            .order_by(TicketEvent.id).limit(1).correlate(Ticket).scalar_subquery())


class hours_between(sa.sql.functions.GenericFunction):
    """SQL: the hours from one stored UTC instant to another, as a number."""

    type = sa.Float()
    inherit_cache = True
    name = "hours_between"


@sa.ext.compiler.compiles(hours_between, "sqlite")
def _hours_between_sqlite(element, compiler, **kw):
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 24.0)"


@sa.ext.compiler.compiles(hours_between, "postgresql")
def _hours_between_postgresql(element, compiler, **kw):
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({end} - {start})) / 3600.0)"


def onsite_hours():
    """SQL, per ticket row: the hours its serving party spent on site, the settlement's hours: each
    checked-out visit of the ticket's owner counts the hours its engineer recorded at check-out,
    else the time from check-in to check-out. 0 for a ticket served without a visit."""
    worked = sa.func.coalesce(Visit.hours, hours_between(Visit.checked_in_at, Visit.checked_out_at))
    return sa.func.coalesce(
        sa.select(sa.func.sum(worked)).where(Visit.ticket_id == Ticket.id, Visit.party_id == Ticket.owner_party_id,
                                             Visit.checked_out_at.is_not(None))
        .correlate(Ticket).scalar_subquery(), 0)
