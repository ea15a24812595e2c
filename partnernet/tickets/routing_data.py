"""Gathering the plain data the pure routing function decides on, in a fixed number of queries."""
from datetime import date

import sqlalchemy as sa

from partnernet import routing
from partnernet.extensions import db
from partnernet.network.models import Certification, Coverage, Engineer, Party
from partnernet.network.service import (covers_product_line_clause, effective_coverage_clause,
                                        valid_certification_clause)
from partnernet.regions import service as regions
from partnernet.tickets.models import HELD_STATUSES, Ticket, TicketEvent


def ticket_facts(ticket: Ticket) -> routing.TicketFacts:
    """The ticket as routing sees it, with the parties that already declined or let it expire."""
    answered = db.session.execute(
        sa.select(TicketEvent.kind, TicketEvent.party_id)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind.in_(("declined", "offer_expired")))
    ).all()
    return routing.TicketFacts(
        product_line=ticket.product_line.code, tier=ticket.tier,
        region_chain=tuple(r.code for r in regions.chain(ticket.region_code)),
        declined_by=frozenset(p for kind, p in answered if kind == "declined"),
        expired_by=frozenset(p for kind, p in answered if kind == "offer_expired"),
    )


def candidates(region_chain, product_line_id: int, day: date) -> list[routing.Candidate]:
    """Partners with effective coverage of the region chain for the line, with what routing needs."""
    levels = {code: level for code, level in db.session.execute(
        sa.select(regions.Region.code, regions.Region.level).where(regions.Region.code.in_(region_chain)))}
    rows = db.session.execute(
        sa.select(Coverage, Party)
        .join(Party, Party.id == Coverage.party_id)
        .where(Coverage.region_code.in_(region_chain), Party.kind != "hq",
               effective_coverage_clause(day), covers_product_line_clause(product_line_id))
    ).all()
    if not rows:
        return []
    party_ids = {party.id for _coverage, party in rows}
    certified = set(db.session.execute(
        sa.select(Engineer.party_id).join(Certification, Certification.engineer_id == Engineer.id)
        .where(Engineer.party_id.in_(party_ids), Engineer.active,
               valid_certification_clause(product_line_id, day))).scalars())
    last_expiry = dict(db.session.execute(
        sa.select(Engineer.party_id, sa.func.max(Certification.expires_on))
        .join(Certification, Certification.engineer_id == Engineer.id)
        .where(Engineer.party_id.in_(party_ids), Certification.product_line_id == product_line_id,
               Certification.status.in_(("valid", "expired")))
        .group_by(Engineer.party_id)).all())
    load = dict(db.session.execute(
        sa.select(Ticket.owner_party_id, sa.func.count())
        .where(Ticket.owner_party_id.in_(party_ids), Ticket.status.in_(HELD_STATUSES))
        .group_by(Ticket.owner_party_id)).all())
    return [
        routing.Candidate(
            party_id=party.id, name=party.name, kind=party.kind, status=party.status,
            level=levels[coverage.region_code], region_code=coverage.region_code,
            tiers=frozenset(set(coverage.tiers) & set(party.tiers)),
            certified=party.id in certified, open_tickets=load.get(party.id, 0),
            capacity=party.capacity or 0,
            last_certificate_expiry=None if party.id in certified else last_expiry.get(party.id),
        )
        for coverage, party in rows
    ]
