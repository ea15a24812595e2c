"""The ticket list as a file: the list's own statement (its filters, its order, the user's scope:
tickets.queries.ticket_list_statement), each row with its SLA times and outcomes and why it is
billable. One streamed statement: what a row shows is joined in, nothing is looked up per row."""
from collections.abc import Iterator
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased

from partnernet.customers.models import Customer
from partnernet.labels import label, reads_chinese
from partnernet.network.models import Party, ProductLine
from partnernet.network.transfer import streamed
from partnernet.regions.models import Region
from partnernet.reports.served import sla_outcome
from partnernet.reports.spreadsheet import Column, Spreadsheet
from partnernet.tickets.models import Ticket
from partnernet.tickets.queries import TicketFilters, ticket_list_statement

OUTCOMES = {"met": _l("Met"), "breached": _l("Breached")}  # of an SLA event's kind, e.g. response_met

COLUMNS = [
    Column(_l("Ticket"), "number", 9), Column(_l("Subject"), width=30), Column(_l("Customer"), width=24),
    Column(_l("Region"), width=12), Column(_l("Product line"), width=16), Column(_l("Complexity"), width=9),
    Column(_l("Tier"), width=6), Column(_l("Status"), width=12), Column(_l("Held by"), width=20),
    Column(_l("Offered to"), width=20), Column(_l("Opened"), "datetime", 17),
    Column(_l("Response due"), "datetime", 17), Column(_l("Responded at"), "datetime", 17),
    Column(_l("Response target"), width=10),
    Column(_l("Resolution due"), "datetime", 17), Column(_l("Resolved at"), "datetime", 17),
    Column(_l("Resolution target"), width=10),
    Column(_l("Billable"), width=8), Column(_l("Why billable"), width=24),
]


def ticket_statement(user, filters: TicketFilters, now: datetime):
    """The ticket list's statement for `filters` as `user` sees it, with the columns of a row."""
    owner, offered = aliased(Party), aliased(Party)
    line_name = ProductLine.name_zh if reads_chinese() else ProductLine.name_en
    return (ticket_list_statement(user, filters, now).with_only_columns(
        Ticket.id, Ticket.subject, Customer.name, Region.name, line_name, Ticket.complexity, Ticket.tier,
        Ticket.status, owner.name, offered.name, Ticket.created_at,
        Ticket.response_due_at, Ticket.responded_at, sla_outcome("response"),
        Ticket.resolution_due_at, Ticket.resolved_at, sla_outcome("resolution"),
        Ticket.billable, Ticket.billable_reason, maintain_column_froms=False)
        .select_from(Ticket)
        .join(Customer, Customer.id == Ticket.customer_id)
        .join(Region, Region.code == Ticket.region_code)
        .join(ProductLine, ProductLine.id == Ticket.product_line_id)
        .outerjoin(owner, owner.id == Ticket.owner_party_id)
        .outerjoin(offered, offered.id == Ticket.offered_party_id))


def ticket_rows(statement) -> Iterator[list]:
    """The rows of ticket_statement's statement, in the list's order, one at a time."""
    yes, no = str(_l("Yes")), str(_l("No"))
    for (ticket_id, subject, customer, region, line, complexity, tier, status, held_by, offered_to, opened,
         response_due, responded, response, resolution_due, resolved, resolution, billable, reason) in streamed(statement):
        yield [ticket_id, subject, customer, region, line, label(complexity), tier, label(status), held_by,
               offered_to, opened, response_due, responded, outcome(response), resolution_due, resolved,
               outcome(resolution), yes if billable else no, label(reason) if billable and reason else None]


def outcome(kind: str | None) -> str | None:
    return str(OUTCOMES[kind.rsplit("_", 1)[1]]) if kind else None


def ticket_export(user, filters: TicketFilters, now: datetime) -> Spreadsheet:
    """The statement is made here, while the request's user is at hand: a CSV's rows are read
    after the view has returned, when the request's session (and its user) may be gone."""
    return Spreadsheet(str(_l("Tickets")), COLUMNS, ticket_rows(ticket_statement(user, filters, now)))
