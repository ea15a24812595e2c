"""What the audit pages show beside the stored findings: a run's table sorted by any measure, the
weekly push-back rate of one partner against the network median, the tickets behind a number as
each reader may see them, and a run's table as a CSV or XLSX file."""
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import median

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from partnernet.audit.measures import OFFER_EVENT_KINDS, PUSH_BACK
from partnernet.audit.models import AuditFinding, AuditRun
from partnernet.audit.service import tickets_behind
from partnernet.audit.wilson import share
from partnernet.auth.models import User
from partnernet.customers.models import Contract, Customer
from partnernet.extensions import db
from partnernet.labels import reads_chinese
from partnernet.scope import scoped
from partnernet.tickets.daily import as_date
from partnernet.tickets.models import OfferCountWeek, Ticket, TicketEvent

# The columns a run's table can be sorted by: the partner's name and each measure.
SORTS = (
    "partner", "offered", "accepted", "declined", "expired", "returned", "push_back", "push_back_rate",
    "push_back_lower_bound", "sold_tickets", "sold_not_served", "sold_not_served_share", "sla_attainment",
    "flagged", "satisfaction_answers", "satisfied", "satisfaction_upper_bound",
)
WEEKS = 12
# What each number of a finding is called on the pages and in the exports.
MEASURE_LABELS = {
    "offered": _l("Offers"), "accepted": _l("Accepted"), "declined": _l("Declined"),
    "expired": _l("Expired unanswered"), "returned": _l("Returned to HQ"), "push_back": _l("Push-back"),
    "push_back_rate": _l("Push-back rate"), "push_back_lower_bound": _l("Lower bound (%(level)s)", level="95%"),
    "sold_tickets": _l("Tickets from customers it sold"), "sold_not_served": _l("Of those, served by HQ"),
    "sold_not_served_share": _l("Sold-not-served share"), "sla_kept": _l("Kept tickets with a settled target"),
    "sla_met": _l("Resolution target met"), "sla_missed": _l("Resolution target missed"),
    "sla_attainment": _l("SLA attainment"),
    "satisfaction_answers": _l("Rated answers"), "satisfied": _l("Rated 4 or 5"),
    "satisfaction_upper_bound": _l("Satisfied, upper bound (%(level)s)", level="95%"),
}


# --- a run's table --------------------------------------------------------------------------------

def sorted_findings(findings: list[AuditFinding], sort: str, descending: bool) -> list[AuditFinding]:
    """The findings by one column; a finding without a value for it (no offers: no rate) comes
    last whichever the order, then the partner's name breaks ties."""
    if sort not in SORTS:
        sort = "partner"
    pinyin = reads_chinese()  # Chinese readers see the partners in pinyin order (partnernet.collation)
    by_name = sorted(findings, key=lambda f: (f.party.name_sort if pinyin else "", f.party.name, f.party_id))
    if sort == "partner":
        return list(reversed(by_name)) if descending else by_name
    known = [f for f in by_name if getattr(f, sort) is not None]
    unknown = [f for f in by_name if getattr(f, sort) is None]
    return sorted(known, key=lambda f: getattr(f, sort), reverse=descending) + unknown


# --- the weekly push-back rate ----------------------------------------------------------------------

@dataclass
class Week:
    monday: date
    offered: int            # the partner's offers that week
    push_back: int          # and how many it declined, let expire or returned
    rate: float | None      # push_back / offered; None without offers
    network_median: float | None  # the median rate over the partners with offers that week


def week_mondays(last_day: date, weeks: int = WEEKS) -> list[date]:
    """The Mondays of the `weeks` ISO weeks ending with the one holding `last_day`, oldest first."""
    last_monday = last_day - timedelta(days=last_day.weekday())
    return [last_monday - timedelta(weeks=weeks - 1 - n) for n in range(weeks)]


def weekly_push_back(party_id: int, last_day: date, weeks: int = WEEKS) -> list[Week]:
    """One partner's push-back rate per ISO week (days in China), with the network median, over
    the `weeks` weeks ending with the one holding `last_day`.

    One statement over the weekly offer counts the database keeps (OfferCountWeek, added to by a
    trigger as events are written): at most partners × weeks × kinds rows, however many events.
    The medians are taken over the grouped rows in Python.
    """
    mondays = week_mondays(last_day, weeks)
    offered_kind = OFFER_EVENT_KINDS["offered"]
    pushed = [OFFER_EVENT_KINDS[name] for name in PUSH_BACK]
    statement = (sa.select(OfferCountWeek.party_id, OfferCountWeek.week,
                           sa.func.sum(sa.case((OfferCountWeek.kind == offered_kind, OfferCountWeek.count), else_=0)),
                           sa.func.sum(sa.case((OfferCountWeek.kind.in_(pushed), OfferCountWeek.count), else_=0)))
                 .where(OfferCountWeek.kind.in_([offered_kind, *pushed]),
                        OfferCountWeek.week >= mondays[0], OfferCountWeek.week <= mondays[-1])
                 .group_by(OfferCountWeek.party_id, OfferCountWeek.week))
    index = {monday: n for n, monday in enumerate(mondays)}
    ours = {n: (0, 0) for n in range(weeks)}
    network: dict[int, list[float]] = {n: [] for n in range(weeks)}
    for row_party, monday, offered, push_back in db.session.execute(statement):
        n, offered, push_back = index[as_date(monday)], int(offered or 0), int(push_back or 0)
        if row_party == party_id:
            ours[n] = (offered, push_back)
        if offered:
            network[n].append(share(push_back, offered))
    return [Week(monday, ours[n][0], ours[n][1], share(ours[n][1], ours[n][0]),
                 median(network[n]) if network[n] else None)
            for n, monday in enumerate(mondays)]


# --- the tickets behind a number ------------------------------------------------------------------

@dataclass
class EvidenceTicket:
    id: int
    subject: str
    created_at: datetime
    status: str | None = None         # HQ only
    customer_name: str | None = None  # HQ only
    can_open: bool = False            # the reader may open the ticket's own page


def evidence(finding: AuditFinding, measure: str, user: User) -> list[EvidenceTicket]:
    """The tickets behind one of the finding's numbers, as `user` may see them.

    The caller has checked that the user may see the finding (get_finding). HQ gets the tickets
    whole. The finding's partner gets each ticket's number, subject and date only, whether or not
    the ticket is still in its scope (a declined offer has moved on to someone else), and only
    for tickets that are its own evidence: an offer event of its own, or a customer it sold. Never
    a customer's name or another partner's.
    """
    ids = tickets_behind(finding, measure)
    if not ids:
        return []
    openable = set(db.session.execute(scoped(sa.select(Ticket.id).where(Ticket.id.in_(ids)), Ticket, user)).scalars())
    if user.is_hq:
        rows = db.session.execute(
            sa.select(Ticket.id, Ticket.subject, Ticket.created_at, Ticket.status, Customer.name)
            .join(Customer, Customer.id == Ticket.customer_id)
            .where(Ticket.id.in_(ids)).order_by(Ticket.created_at, Ticket.id))
        return [EvidenceTicket(id, subject, created_at, status, customer, id in openable)
                for id, subject, created_at, status, customer in rows]
    party_id = finding.party_id
    own_event = sa.exists().where(TicketEvent.ticket_id == Ticket.id, TicketEvent.party_id == party_id)
    own_customer = sa.exists().where(Customer.id == Ticket.customer_id, Customer.sold_by_party_id == party_id)
    own_contract = sa.exists().where(Contract.id == Ticket.contract_id, Contract.sold_by_party_id == party_id)
    rows = db.session.execute(
        sa.select(Ticket.id, Ticket.subject, Ticket.created_at)
        .where(Ticket.id.in_(ids), sa.or_(own_event, own_customer, own_contract))
        .order_by(Ticket.created_at, Ticket.id))
    return [EvidenceTicket(id, subject, created_at, can_open=id in openable) for id, subject, created_at in rows]


# --- export -----------------------------------------------------------------------------------------

# The columns of a run's export: (heading, the value of a finding). Shares stay shares (0.25).
EXPORT_MEASURES = (
    "offered", "accepted", "declined", "expired", "returned", "push_back", "push_back_rate",
    "push_back_lower_bound", "sold_tickets", "sold_not_served", "sold_not_served_share", "sla_kept",
    "sla_met", "sla_attainment", "satisfaction_answers", "satisfied", "satisfaction_upper_bound",
)
SHARES = ("push_back_rate", "push_back_lower_bound", "sold_not_served_share", "sla_attainment",
          "satisfaction_upper_bound")


def export_headings() -> list[str]:
    return ([str(_l("Partner")), str(_l("Kind"))] + [str(MEASURE_LABELS[name]) for name in EXPORT_MEASURES]
            + [str(_l("Flagged")), str(_l("Why flagged")), str(_l("Decision"))])


def export_rows(findings: list[AuditFinding], label):
    """One row per finding: partner, kind, the measures, flagged (1 or 0), why, the decision,
    codes through `label` into the reader's language."""
    for f in findings:
        shares = {name: (round(getattr(f, name), 4) if getattr(f, name) is not None else None) for name in SHARES}
        measures = [shares[name] if name in SHARES else getattr(f, name) for name in EXPORT_MEASURES]
        yield [f.party.name, label(f.party.kind), *measures, 1 if f.flagged else 0,
               ", ".join(label(reason) for reason in f.flag_reasons or []),
               label(f.decision.decision) if f.decision else ""]


def export(title: str, findings: list[AuditFinding], label):
    """The run's table as a file (CSV: text that a spreadsheet would take for a formula is quoted
    with "'"; XLSX: the shares as percentages)."""
    from partnernet.network.transfer import Export
    # The rows are read now, while the request's session holds the findings: a CSV is streamed
    # after the view has returned, when its session is gone. One row per partner (a run has one
    # finding each), which the page holds in memory already.
    return Export(title, export_headings(), list(export_rows(findings, label)), xlsx_cells=share_cells)


def share_cells(sheet, row: list) -> list:
    from partnernet.network.transfer import xlsx_cell
    share_columns = {2 + EXPORT_MEASURES.index(name) for name in SHARES}
    cells = []
    for index, value in enumerate(row):
        cell = xlsx_cell(sheet, value)  # text stays text, even when it starts with "="
        if index in share_columns and value is not None and not isinstance(value, str):
            cell.number_format = "0.0%"
        cells.append(cell)
    return cells


def export_name(run: AuditRun) -> str:
    return f"partnernet-audit-{run.id}-{run.period_start:%Y%m%d}-{run.period_end:%Y%m%d}"
