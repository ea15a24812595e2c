"""The ticket list: filters, sort and scope, written once for the UI, the API and exports."""
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm
from flask_sqlalchemy.pagination import Pagination

from partnernet.errors import NotFound
from partnernet.extensions import db
from partnernet.lookup import is_number
from partnernet.network.service import product_line_id
from partnernet.regions import service as regions
from partnernet.regions.models import Region
from partnernet.scope import scope_clause, scoped
from partnernet.tickets.models import OPEN_STATUSES, TICKET_STATUSES, Ticket, TicketEvent

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
            overdue=True if args.get("overdue") == "1" else None,
            sort=args.get("sort", "created") if args.get("sort") in SORTS else "created",
            descending=args.get("order", "desc") != "asc")


def overdue_clause(now: datetime):
    """Open and past a due time it has not met."""
    return sa.and_(Ticket.status.in_(OPEN_STATUSES), sa.or_(
        sa.and_(Ticket.responded_at.is_(None), Ticket.response_due_at < now),
        sa.and_(Ticket.resolved_at.is_(None), Ticket.resolution_due_at < now)))


def ticket_list_statement(user, filters: TicketFilters, now: datetime):
    statement = sa.select(Ticket)
    if filters.status == "open":
        statement = statement.where(Ticket.status.in_(OPEN_STATUSES))
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
        statement = statement.where(Ticket.billable.is_(filters.billable == "yes"))
    if filters.overdue is not None:
        overdue = overdue_clause(now)
        # NULL-safe: a ticket with no due time is not overdue.
        statement = statement.where(overdue if filters.overdue else sa.not_(sa.func.coalesce(overdue, False)))
    column = SORTS[filters.sort]
    order = column.desc() if filters.descending else column.asc()
    return scoped(statement, Ticket, user).order_by(order, Ticket.id.desc() if filters.descending else Ticket.id)


COUNT_CAP = 10_000  # beyond this the list says "10,000+": counting a million rows is not worth it


class TicketPage(Pagination):
    """One page of the ticket list. The page's ids come first, from the filters and the order
    alone (an index answers that, however deep the page); then the 50 tickets with the names each
    row shows. The total is counted up to COUNT_CAP; `more` says there are more than that."""

    def _query_items(self) -> list[Ticket]:
        statement = self._query_args["select"]
        ids = list(db.session.execute(statement.with_only_columns(Ticket.id)
                                      .limit(self.per_page).offset(self._query_offset)).scalars())
        tickets = {t.id: t for t in db.session.execute(
            sa.select(Ticket).where(Ticket.id.in_(ids)).options(
                sa.orm.joinedload(Ticket.customer), sa.orm.joinedload(Ticket.region),
                sa.orm.joinedload(Ticket.owner), sa.orm.joinedload(Ticket.offered_to))).unique().scalars()}
        return [tickets[i] for i in ids]

    def _query_count(self) -> int:
        ids = self._query_args["select"].with_only_columns(Ticket.id).order_by(None).limit(COUNT_CAP + 1)
        counted = db.session.execute(sa.select(sa.func.count()).select_from(ids.subquery())).scalar_one()
        self.more = counted > COUNT_CAP
        return min(counted, COUNT_CAP)


def list_page(statement, page: int, per_page: int = 50) -> TicketPage:
    return TicketPage(page=page, per_page=per_page, max_per_page=200, error_out=False, count=True, select=statement)


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
