"""The settlement (结算) of a partner's month in China: the billable tickets it served, with their
tier and on-site hours, which HQ bills and pays the partner for; and the tickets HQ served for the
customers the partner sold (push-back: what it cost HQ).

A ticket served in a month is one resolved in it (tickets.queries.served_in, the ticket list's
"resolved in" filter); its hours are the on-site hours of its owner's visits (reports.served).
Totals are counted in SQL with the same conditions as the rows, so they equal the ticket list's
count for billable tickets, the partner and the month.
"""
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from partnernet.customers.models import Contract, Customer
from partnernet.labels import label, reads_chinese
from partnernet.network.models import TIERS, Party, ProductLine
from partnernet.network.service import hq_party_id
from partnernet.network.transfer import streamed
from partnernet.extensions import db
from partnernet.reports.served import onsite_hours, served_in
from partnernet.reports.spreadsheet import Column, Spreadsheet
from partnernet.scorecards.service import month_of
from partnernet.tickets.models import Ticket

SECTIONS = {"partner": _l("Billable, served by the partner"), "hq": _l("Served by HQ for the partner's customers")}


def seller():
    """SQL: the party that sold what a ticket is about: the contract's seller, else the customer's."""
    return sa.func.coalesce(Contract.sold_by_party_id, Customer.sold_by_party_id)


def section_condition(section: str, party_id: int, month: date):
    """SQL: the tickets of a section of the partner's settlement for the month."""
    if section == "partner":
        # `= true`, as the ticket list's billable filter says it
        return sa.and_(served_in(month), Ticket.owner_party_id == party_id, Ticket.billable == sa.true())
    return sa.and_(served_in(month), Ticket.owner_party_id == hq_party_id(), seller() == party_id)


def section_statement(section: str, party_id: int, month: date, *columns):
    return (sa.select(*columns).select_from(Ticket)
            .join(Customer, Customer.id == Ticket.customer_id)
            .outerjoin(Contract, Contract.id == Ticket.contract_id)
            .where(section_condition(section, party_id, month)))


@dataclass
class Totals:
    tickets: int = 0
    hours: float = 0.0
    by_tier: dict[str, int] = field(default_factory=dict)  # tickets per tier, the tiers there are


@dataclass
class Settlement:
    party: Party
    month: date                # the month's first day
    partner: Totals            # its billable tickets served
    hq: Totals                 # the tickets HQ served for its customers

    @property
    def empty(self) -> bool:
        """Nothing to settle: the page and the files say so."""
        return self.partner.tickets == 0 and self.hq.tickets == 0


def totals(section: str, party_id: int, month: date) -> Totals:
    hours = onsite_hours().label("hours")
    tickets = section_statement(section, party_id, month, Ticket.tier.label("tier"), hours).subquery("section")
    found = Totals()
    for tier, count, total in db.session.execute(
            sa.select(tickets.c.tier, sa.func.count(), sa.func.sum(tickets.c.hours)).group_by(tickets.c.tier)):
        found.by_tier[tier] = int(count)
        found.tickets += int(count)
        found.hours += float(total or 0)
    found.by_tier = {tier: found.by_tier[tier] for tier in TIERS if tier in found.by_tier}
    found.hours = round(found.hours, 1)
    return found


def settlement(party: Party, month: date) -> Settlement:
    """The partner's settlement for the month (any day of it) in China. Which partner's the user
    may read is the caller's check (scorecards.service.scored_partner)."""
    month = month_of(month)
    return Settlement(party, month, totals("partner", party.id, month), totals("hq", party.id, month))


COLUMNS = [
    Column(_l("Section"), width=30), Column(_l("Ticket"), "number", 9), Column(_l("Subject"), width=30),
    Column(_l("Customer"), width=24), Column(_l("Product line"), width=16), Column(_l("Tier"), width=6),
    Column(_l("Opened"), "datetime", 17), Column(_l("Resolved at"), "datetime", 17),
    Column(_l("Billable"), width=8), Column(_l("Why billable"), width=24), Column(_l("On-site hours"), "hours", 10),
]


def settlement_rows(party_id: int, month: date) -> Iterator[list]:
    """The tickets of both sections, the partner's first, each in the order they were resolved."""
    line_name = ProductLine.name_zh if reads_chinese() else ProductLine.name_en
    yes, no = str(_l("Yes")), str(_l("No"))
    for section in SECTIONS:
        statement = (section_statement(section, party_id, month_of(month), Ticket.id, Ticket.subject, Customer.name,
                                       line_name, Ticket.tier, Ticket.created_at, Ticket.resolved_at, Ticket.billable,
                                       Ticket.billable_reason, onsite_hours())
                     .join(ProductLine, ProductLine.id == Ticket.product_line_id)
                     .order_by(Ticket.resolved_at, Ticket.id))
        name = str(SECTIONS[section])
        for ticket_id, subject, customer, line, tier, opened, resolved, billable, reason, hours in streamed(statement):
            yield [name, ticket_id, subject, customer, line, tier, opened, resolved, yes if billable else no,
                   label(reason) if billable and reason else None, round(float(hours or 0), 1)]


def settlement_export(party: Party, month: date) -> Spreadsheet:
    return Spreadsheet(str(_l("Settlement")), COLUMNS, settlement_rows(party.id, month))
