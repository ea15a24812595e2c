"""The ticket list: filters, sort and scope, written once for the UI, the API and exports."""
import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timezone

import sqlalchemy as sa
import sqlalchemy.orm
from flask_babel import lazy_gettext as _l

from partnernet.db_types import MAX_ID
from partnernet.errors import NotFound, ValidationFailed
from partnernet.extensions import db
from partnernet.lookup import is_number
from partnernet.network.service import product_line_id
from partnernet.regions import service as regions
from partnernet.regions.models import Region
from partnernet.scope import scope_clause, scoped
from partnernet.tickets.models import OPEN_STATUSES, TICKET_STATUSES, Ticket, TicketEvent
from partnernet.timeclock import CHINA


def open_clause():
    """The open tickets, in the words of the partial indexes' condition (models.OPEN_CONDITION):
    literal statuses, so that SQLite sees that those indexes serve the query. On SQLite the status
    is `+status`, which no status index can serve: without statistics SQLite would otherwise read
    every open ticket through one and sort them all, for each page, rather than read one page's
    worth from the open tickets' index in the list's order."""
    sqlite = db.session.get_bind().dialect.name == "sqlite"
    status = sa.literal_column("+ticket.status", sa.String) if sqlite else Ticket.status
    return status.in_([sa.literal_column("'%s'" % name) for name in OPEN_STATUSES])


# A ticket is served once resolved (closed follows resolved; a reopened ticket is at work again).
SERVED_STATUSES = ("resolved", "closed")


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The calendar month in China of `month` (any day of it) as UTC instants: [its first day
    00:00, the next month's)."""
    first = month.replace(day=1)
    after = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return tuple(datetime.combine(day, time.min, CHINA).astimezone(timezone.utc) for day in (first, after))


def served_in(month: date):
    """SQL: the ticket was served (resolved, or resolved and closed) and resolved in the month in
    China. The ticket list's "resolved in" filter and the reports' months say it this one way."""
    start, end = month_bounds(month)
    return sa.and_(Ticket.status.in_(SERVED_STATUSES), Ticket.resolved_at >= start, Ticket.resolved_at < end)


def parse_month(text: str | None) -> date | None:
    """'2026-11' as the month's first day; None unless it is one (years 2000 to 2099)."""
    found = re.fullmatch(r"(20[0-9]{2})-(0[1-9]|1[0-2])", (text or "").strip())
    return date(int(found[1]), int(found[2]), 1) if found else None


SORTS = {"created": Ticket.created_at, "id": Ticket.id, "status": Ticket.status,
         "due": Ticket.resolution_due_at, "updated": Ticket.updated_at}


@dataclass
class TicketFilters:
    status: str = ""            # a status, or "open"
    region: str = ""            # a region code: the tickets at or under it
    partner_id: int | None = None
    product_line: str = ""
    complexity: str = ""
    billable: str = ""          # "yes", "no" or ""
    overdue: bool | None = None  # True: only overdue tickets; False: none of them; None: either
    resolved: date | None = None  # a month's first day: the tickets served (resolved) in it, in China
    sort: str = "created"
    descending: bool = True

    @classmethod
    def from_args(cls, args) -> "TicketFilters":
        partner = args.get("partner_id", "")
        partner = partner if is_number(partner) else ""
        return cls(
            status=args.get("status", "") if args.get("status") in TICKET_STATUSES + ("open",) else "",
            region=args.get("region", "")[:6], partner_id=int(partner) if partner.isdigit() else None,
            product_line=args.get("product_line", "")[:32], complexity=args.get("complexity", "")[:16],
            billable=args.get("billable", "") if args.get("billable") in ("yes", "no") else "",
            overdue=True if args.get("overdue") == "1" else None, resolved=parse_month(args.get("resolved")),
            sort=args.get("sort", "created") if args.get("sort") in SORTS else "created",
            descending=args.get("order", "desc") != "asc")


def overdue_clause(now: datetime):
    """Open and past a due time it has not met."""
    return sa.and_(open_clause(), sa.or_(
        sa.and_(Ticket.responded_at.is_(None), Ticket.response_due_at < now),
        sa.and_(Ticket.resolved_at.is_(None), Ticket.resolution_due_at < now)))


def ticket_list_statement(user, filters: TicketFilters, now: datetime):
    statement = sa.select(Ticket)
    if filters.status == "open":
        statement = statement.where(open_clause())
    elif filters.status:
        statement = statement.where(Ticket.status == filters.status)
    if filters.region:
        region = db.session.get(Region, filters.region)
        statement = statement.where(regions.at_or_under(region, Ticket.region_code) if region else sa.false())
    if filters.partner_id:
        statement = statement.where(sa.or_(Ticket.owner_party_id == filters.partner_id,
                                           Ticket.offered_party_id == filters.partner_id))
    if filters.product_line:
        # The id first: a plain equality lets the planner pick the (line, status, created) index.
        line_id = product_line_id(filters.product_line)
        statement = statement.where(Ticket.product_line_id == line_id if line_id is not None else sa.false())
    if filters.complexity:
        statement = statement.where(Ticket.complexity == filters.complexity)
    if filters.billable:
        # `= true`, as the partial index ix_ticket_billable_created says it
        statement = statement.where(Ticket.billable == (sa.true() if filters.billable == "yes" else sa.false()))
    if filters.overdue is not None:
        overdue = overdue_clause(now)
        # NULL-safe: a ticket with no due time is not overdue.
        statement = statement.where(overdue if filters.overdue else sa.not_(sa.func.coalesce(overdue, False)))
    if filters.resolved:
        statement = statement.where(served_in(filters.resolved))
    column = SORTS[filters.sort]
    order = column.desc() if filters.descending else column.asc()
    return scoped(statement, Ticket, user).order_by(order, Ticket.id.desc() if filters.descending else Ticket.id)


COUNT_CAP = 10_000  # beyond this the list says "10,000+": counting a million rows is not worth it
PER_PAGE = 50


@dataclass
class TicketPage:
    """One page of the ticket list, found by keyset: the tickets after (or before) a cursor in the
    list's order, so that the thousandth page costs what the first one costs. `next_cursor` and
    `previous_cursor` name the neighbouring pages (None: there is none); the total is counted up
    to COUNT_CAP and `more` says there are more than that."""
    items: list[Ticket]
    total: int
    more: bool
    next_cursor: str | None
    previous_cursor: str | None


def encode_cursor(sort: str, ticket: Ticket) -> str:
    """Where a page starts or ends: the sort and that ticket's sort key and id. Opaque to readers."""
    value = getattr(ticket, SORTS[sort].key)
    value = value.isoformat() if isinstance(value, datetime) else value
    return base64.urlsafe_b64encode(json.dumps([sort, value, ticket.id]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple:
    """(sort key, id) from a cursor of this sort; a forged or foreign one is a ValidationFailed."""
    try:
        found, value, ticket_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        column = SORTS[sort]
        if found != sort or not isinstance(ticket_id, int) or not 0 < ticket_id <= MAX_ID:
            raise ValueError(cursor)
        if value is not None:
            if column.key.endswith("_at"):
                value = datetime.fromisoformat(value)
                if value.tzinfo is None:
                    raise ValueError(cursor)
                value = value.astimezone(timezone.utc)  # (year 1 at +08:00 overflows: refused here)
            elif column.key == "id":
                value = ticket_id
            elif not isinstance(value, str) or "\x00" in value:
                raise ValueError(cursor)
        return value, ticket_id
    except (ValueError, TypeError, KeyError, OverflowError, UnicodeDecodeError, binascii.Error):
        raise ValidationFailed(_l("This link to a page of the ticket list is not valid. Start again from "
                                  "the first page."), {"cursor": _l("Not a cursor of this list.")}) from None


def beyond(column, value, ticket_id: int, descending: bool) -> list:
    """The tickets after (value, ticket_id) in the order by `column` then id, both descending or
    both ascending, as conditions to read in turn: the cursor's own stretch of the order beyond
    it, each a range of an index; then, for a key that may be NULL, the other stretch (NULL keys
    sort where the database puts them, first ascending on SQLite and last on PostgreSQL, as the
    ORDER BY does). An OR of the two would read the index from its start on every page."""
    after_id = Ticket.id < ticket_id if descending else Ticket.id > ticket_id
    if column is Ticket.id:
        return [after_id]
    nulls_small = db.session.get_bind().dialect.name != "postgresql"
    nulls_after = descending == nulls_small  # do NULL keys come after every other key in this order?
    if value is None:
        return [sa.and_(column.is_(None), after_id)] + ([] if nulls_after else [column.is_not(None)])
    row = sa.tuple_(column, Ticket.id)
    later = row < (value, ticket_id) if descending else row > (value, ticket_id)
    return [later] + ([column.is_(None)] if nulls_after and column.nullable else [])


def ordered(column, descending: bool):
    return (column.desc(), Ticket.id.desc()) if descending else (column.asc(), Ticket.id.asc())


# A row of the list: the names it shows joined in; the routing decision (a JSON document per ticket)
# and the description left in the database, where reading one would raise, not run a query per row.
def row_loading() -> tuple:
    return (sa.orm.joinedload(Ticket.customer), sa.orm.joinedload(Ticket.region),
            sa.orm.joinedload(Ticket.owner), sa.orm.joinedload(Ticket.offered_to),
            sa.orm.defer(Ticket.route, raiseload=True), sa.orm.defer(Ticket.description, raiseload=True))


def list_page(statement, filters: TicketFilters, after: str | None = None, before: str | None = None,
              per_page: int = PER_PAGE) -> TicketPage:
    """The page of `statement` (ticket_list_statement's) after the cursor `after`, or the one
    before `before`, or the first: a statement for the page's ids (two where the page crosses from
    due times to none), one for its tickets with the names each row shows, one for the count,
    whatever the page."""
    column, descending = SORTS[filters.sort], filters.descending
    backwards = before is not None and after is None
    cursor = before if backwards else after
    stretches = [sa.true()]
    if cursor:
        value, ticket_id = decode_cursor(cursor, filters.sort)
        stretches = beyond(column, value, ticket_id, descending != backwards)
    ids = []
    for stretch in stretches:
        if len(ids) > per_page:
            break
        ids += db.session.execute(
            statement.with_only_columns(Ticket.id).where(stretch).order_by(None)
            .order_by(*ordered(column, descending != backwards)).limit(per_page + 1 - len(ids))).scalars()
    further = len(ids) > per_page
    ids = ids[:per_page]
    if backwards:
        ids.reverse()
    # The page's ids first, from the filters and the order alone (an index answers that); then its
    # tickets with the names each row shows: sorting whole rows joined to their names would cost a
    # partner's every ticket, not a page's.
    found = {t.id: t for t in db.session.execute(
        sa.select(Ticket).where(Ticket.id.in_(ids)).options(*row_loading())).unique().scalars()} if ids else {}
    items = [found[i] for i in ids if i in found]
    has_next = (not backwards and further) or (backwards and bool(cursor))
    has_previous = (backwards and further) or (not backwards and bool(cursor))
    total, more = count_capped(statement, in_order=not filters.partner_id)
    return TicketPage(items, total, more,
                      encode_cursor(filters.sort, items[-1]) if items and has_next else None,
                      encode_cursor(filters.sort, items[0]) if items and has_previous else None)


def count_capped(statement, in_order: bool = True) -> tuple[int, bool]:
    """(count up to COUNT_CAP, more than that?) of the whole list. Counted in the list's order, the
    planner reads the first COUNT_CAP tickets from the index the list's pages are read from (the
    open or billable ones'); `in_order=False` for a partner's tickets, which two indexes by partner
    count without sorting them."""
    ids = statement.with_only_columns(Ticket.id).limit(COUNT_CAP + 1)
    if not in_order:
        ids = ids.order_by(None)
    counted = db.session.execute(sa.select(sa.func.count()).select_from(ids.subquery())).scalar_one()
    return min(counted, COUNT_CAP), counted > COUNT_CAP


def ticket_events(ticket_id: int, user) -> list[TicketEvent]:
    """A ticket's history, oldest first, as far as the user may see it (the ticket page and the API)."""
    return list(db.session.execute(scoped(
        sa.select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id),
        TicketEvent, user)).scalars())


def get_offer_or_404(ticket_id: int, user) -> Ticket:
    """A ticket whose offer the user's partner answers: one in scope, or one offered to the partner
    before and since moved on. The partner knew that ticket, so it learns only that the offer is
    gone (the service's 409), not where the ticket went. Any other ticket is NotFound."""
    offered_before = Ticket.id.in_(sa.select(TicketEvent.ticket_id).where(
        TicketEvent.kind == "offered", TicketEvent.party_id == user.party_id))
    ticket = db.session.execute(sa.select(Ticket).where(
        Ticket.id == ticket_id, sa.or_(scope_clause(Ticket, user), offered_before))).scalar_one_or_none()
    if ticket is None:
        raise NotFound()
    return ticket
