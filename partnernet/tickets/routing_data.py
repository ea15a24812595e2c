"""Gathering the plain data the pure routing function decides on: one SQL statement per ticket.

The statement finds every partner whose effective coverage reaches the ticket's region chain for
its product line, and for each one, in correlated subqueries: whether it has an active engineer
certified for the line today, when its last certificate for the line expired (only for a partner
without one: it explains the skip), how many tickets it holds, its standing in the latest audit,
and whether it already declined or let an offer of this ticket expire. Region chains and
product-line codes are reference data, cached per process.
"""
from datetime import date
from functools import lru_cache

import sqlalchemy as sa

from partnernet import routing
from partnernet.extensions import db
from partnernet.network.models import Certification, Coverage, Engineer, Party, coverage_product_line
from partnernet.network.service import product_line_code
from partnernet.regions.models import Region
from partnernet.tickets.models import HELD_STATUSES, Ticket, TicketEvent


@lru_cache(maxsize=1)
def region_tree() -> dict[str, tuple[str, str | None]]:
    """code -> (level, parent code) of every region, read once per process: regions are reference
    data that only migrations write (3,213 rows)."""
    rows = db.session.connection().execute(sa.select(Region.code, Region.level, Region.parent_code))
    return {code: (level, parent) for code, level, parent in rows}


def region_chain(code: str) -> tuple[tuple[str, str], ...]:
    """(code, level) from the region up to its province."""
    tree, chain, current = region_tree(), [], code
    while current in tree:
        level, parent = tree[current]
        chain.append((current, level))
        current = parent
    return tuple(chain)


def one_of(column, values):
    """`column IN (values)` as plain comparisons: an IN list would be re-rendered on every run."""
    return sa.or_(*(column == value for value in values))


def answers():
    """2 if the party declined this ticket before, 1 if it let an offer of it expire, 3 if both."""
    return (sa.select(sa.func.coalesce(sa.func.max(sa.case((TicketEvent.kind == "declined", 2), else_=0)), 0)
                      + sa.func.coalesce(sa.func.max(sa.case((TicketEvent.kind == "offer_expired", 1), else_=0)), 0))
            .where(TicketEvent.ticket_id == sa.bindparam("ticket_id"), TicketEvent.party_id == Party.id,
                   one_of(TicketEvent.kind, ("declined", "offer_expired")))
            .scalar_subquery())


def candidate_statement(new_ticket: bool = False):
    """Built once: a statement object with bound parameters keeps SQLAlchemy's compiled form cached.

    A ticket being opened (no id yet) has no history: its statement leaves out the answers, so
    that PostgreSQL keeps one generic plan instead of planning around a NULL id each time."""
    day = sa.bindparam("day", type_=sa.Date)
    product_line_id = sa.bindparam("product_line_id")
    certified = sa.exists().where(Engineer.party_id == Party.id, Certification.engineer_id == Engineer.id,
                                  Certification.product_line_id == product_line_id, Certification.status == "valid",
                                  Engineer.active, Certification.issued_on <= day, Certification.expires_on >= day)
    # Asked only where no engineer is certified (a CASE evaluates its subquery only when needed).
    last_expiry = sa.case((~certified, (
        sa.select(sa.func.max(Certification.expires_on))
        .join(Engineer, Engineer.id == Certification.engineer_id)
        .where(Engineer.party_id == Party.id, Certification.product_line_id == product_line_id,
               one_of(Certification.status, ("valid", "expired")))
        .scalar_subquery())))
    load = (sa.select(sa.func.count()).where(Ticket.owner_party_id == Party.id,
                                             one_of(Ticket.status, HELD_STATUSES)).scalar_subquery())
    covers_line = sa.or_(Coverage.all_product_lines, sa.exists().where(
        coverage_product_line.c.coverage_id == Coverage.id, coverage_product_line.c.product_line_id == product_line_id))
    return (sa.select(Coverage.region_code, Coverage.tier_l1, Coverage.tier_l2, Coverage.tier_l3,
                      Party.id, Party.name, Party.kind, Party.status, Party.capacity,
                      Party.tier_l1.label("offers_l1"), Party.tier_l2.label("offers_l2"),
                      Party.tier_l3.label("offers_l3"),
                      certified.label("certified"), last_expiry.label("last_expiry"), load.label("load"),
                      Party.audit_standing.label("standing"),
                      (sa.literal(0) if new_ticket else answers()).label("answers"))
            .join(Party, Party.id == Coverage.party_id)
            # The chain has one to three regions: padded to three, plain parameters again.
            .where(one_of(Coverage.region_code, [sa.bindparam(f"code{i}") for i in range(3)]), Party.kind != "hq",
                   Coverage.effective_from <= day,
                   sa.or_(Coverage.effective_to.is_(None), Coverage.effective_to >= day),
                   covers_line))


CANDIDATES = candidate_statement()
NEW_TICKET_CANDIDATES = candidate_statement(new_ticket=True)


def gather(ticket: Ticket, day: date) -> tuple[routing.TicketFacts, list[routing.Candidate]]:
    """The ticket as routing sees it, and its candidates, from one query."""
    chain = region_chain(ticket.region_code)
    levels = dict(chain)
    codes = (list(levels) * 3)[:3]
    # Through the connection: a plain Core read, no ORM result processing.
    statement, ids = (NEW_TICKET_CANDIDATES, {}) if ticket.id is None else (CANDIDATES, {"ticket_id": ticket.id})
    rows = db.session.connection().execute(statement, {
        **ids, "code0": codes[0], "code1": codes[1], "code2": codes[2],
        "product_line_id": ticket.product_line_id, "day": day}).all()
    facts = routing.TicketFacts(
        product_line=product_line_code(ticket.product_line_id), tier=ticket.tier,
        region_chain=tuple(code for code, _level in chain),
        declined_by=frozenset(r.id for r in rows if r.answers & 2),
        expired_by=frozenset(r.id for r in rows if r.answers & 1),
    )
    found = [
        routing.Candidate(
            party_id=r.id, name=r.name, kind=r.kind, status=r.status, level=levels[r.region_code],
            region_code=r.region_code,
            tiers=frozenset(t for t, covered, offered in (("L1", r.tier_l1, r.offers_l1), ("L2", r.tier_l2, r.offers_l2),
                                                           ("L3", r.tier_l3, r.offers_l3)) if covered and offered),
            certified=bool(r.certified), open_tickets=r.load, capacity=r.capacity or 0,
            audit_standing=r.standing or 0.0,
            last_certificate_expiry=r.last_expiry,
        )
        for r in rows
    ]
    return facts, found
