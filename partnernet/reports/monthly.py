"""Each partner's SLA results for a calendar month in China: the tickets it served (resolved in the
month, see reports.served) and how many of their response and resolution targets were met or
breached, per service tier and in all.

`sla_results(party_id, month)` is the one function the exports, the monthly report and the API
read; one grouped statement whatever the number of partners or tickets.
"""
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from partnernet.audit.wilson import share
from partnernet.extensions import db
from partnernet.network.models import TIERS, Party
from partnernet.reports.served import served_in, sla_outcome
from partnernet.reports.spreadsheet import Column, Spreadsheet
from partnernet.scorecards.service import month_of
from partnernet.tickets.models import Ticket


@dataclass
class SlaCounts:
    served: int = 0               # tickets served (resolved) in the month
    response_met: int = 0
    response_breached: int = 0
    resolution_met: int = 0
    resolution_breached: int = 0

    @property
    def response_rate(self) -> float | None:
        """The share of settled response targets that were met (None: none settled)."""
        return share(self.response_met, self.response_met + self.response_breached)

    @property
    def resolution_rate(self) -> float | None:
        return share(self.resolution_met, self.resolution_met + self.resolution_breached)

    def add(self, other: "SlaCounts") -> None:
        for name in ("served", "response_met", "response_breached", "resolution_met", "resolution_breached"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class PartnerSla(SlaCounts):
    """One partner's month: its counts in all, and per tier (only the tiers it served)."""
    party_id: int = 0
    name: str = ""
    by_tier: dict[str, SlaCounts] = field(default_factory=dict)


@dataclass
class SlaResults:
    month: date                    # the month's first day
    partners: list[PartnerSla]     # those that served tickets in the month, in the name's order
    total: SlaCounts

    @property
    def empty(self) -> bool:
        """No ticket was served in the month: the report says so."""
        return self.total.served == 0


def sla_results(party_id: int | None, month: date) -> SlaResults:
    """The SLA results of the month (any day of it) in China: of one partner (`party_id`), or of
    every partner (None; HQ's own service is not a partner's and is left out). Who may read
    which partner's results is the caller's check."""
    month = month_of(month)
    tickets = (sa.select(Ticket.owner_party_id.label("party_id"), Ticket.tier.label("tier"),
                         sla_outcome("response").label("response"), sla_outcome("resolution").label("resolution"))
               .where(served_in(month)))
    if party_id is not None:
        tickets = tickets.where(Ticket.owner_party_id == party_id)
    # Materialized: each outcome is looked up once per ticket. Flattened into the grouping (as
    # SQLite would), every aggregate naming an outcome would look it up again.
    tickets = tickets.cte("served").prefix_with("MATERIALIZED")

    def count(column, outcome):
        return sa.func.sum(sa.case((column == outcome, 1), else_=0))

    statement = (sa.select(Party.id, Party.name, tickets.c.tier, sa.func.count(),
                           count(tickets.c.response, "response_met"), count(tickets.c.response, "response_breached"),
                           count(tickets.c.resolution, "resolution_met"),
                           count(tickets.c.resolution, "resolution_breached"))
                 .join(Party, Party.id == tickets.c.party_id)
                 .where(Party.kind != "hq")
                 .group_by(Party.id, Party.name, Party.name_sort, tickets.c.tier)
                 .order_by(Party.name_sort, Party.name, Party.id, tickets.c.tier))
    partners: dict[int, PartnerSla] = {}
    total = SlaCounts()
    for found_id, name, tier, *figures in db.session.execute(statement):
        counts = SlaCounts(*(int(n or 0) for n in figures))
        partner = partners.setdefault(found_id, PartnerSla(party_id=found_id, name=name))
        partner.by_tier[tier] = counts
        partner.add(counts)
        total.add(counts)
    for partner in partners.values():
        partner.by_tier = {tier: partner.by_tier[tier] for tier in TIERS if tier in partner.by_tier}
    return SlaResults(month, list(partners.values()), total)


# --- as a file --------------------------------------------------------------------------------------

COLUMNS = [
    Column(_l("Partner"), width=28), Column(_l("Tier"), width=8), Column(_l("Tickets served"), "number", 10),
    Column(_l("Response met"), "number", 10), Column(_l("Response breached"), "number", 10),
    Column(_l("Response met, share"), "rate", 10),
    Column(_l("Resolution met"), "number", 10), Column(_l("Resolution breached"), "number", 10),
    Column(_l("Resolution met, share"), "rate", 10),
]


def result_rows(results: SlaResults):
    """Per partner a row for all its tickets, then one per tier; last, the month's total."""
    def row(name, tier, counts: SlaCounts):
        return [name, tier, counts.served, counts.response_met, counts.response_breached, counts.response_rate,
                counts.resolution_met, counts.resolution_breached, counts.resolution_rate]

    every = str(_l("All tiers"))
    for partner in results.partners:
        yield row(partner.name, every, partner)
        for tier, counts in partner.by_tier.items():
            yield row(partner.name, tier, counts)
    if len(results.partners) > 1:
        yield row(str(_l("Total")), every, results.total)


def results_export(results: SlaResults) -> Spreadsheet:
    return Spreadsheet(str(_l("SLA results")), COLUMNS, result_rows(results))
