"""Temporary: measure suggested changes by monkeypatching. Deleted after the experiments."""
import sys
sys.path.insert(0, "/work/main/benchmarks")
import bench_routing as b
import sqlalchemy as sa
from partnernet import routing
from partnernet.extensions import db
from partnernet.network.models import Certification, Coverage, Engineer, Party, ProductLine
from partnernet.network.service import covers_product_line_clause, effective_coverage_clause, valid_certification_clause
from partnernet.regions.models import Region
from partnernet.regions import service as regions
from partnernet.tickets import routing_data, service
from partnernet.tickets.models import HELD_STATUSES, Ticket, TicketEvent

variants = sys.argv[1].split(",") if len(sys.argv) > 1 else []
argv = sys.argv[2:]

original_add = b.Scale.add_new_tickets
def add_and_analyze(self, count, seed):
    original_add(self, count, seed)
    with self.app.app_context():
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
if "analyze" in variants:
    b.Scale.add_new_tickets = add_and_analyze


def ticket_facts(ticket):
    code = ticket.region_code
    rows = {c: (lvl, parent) for c, lvl, parent in db.session.execute(
        sa.select(Region.code, Region.level, Region.parent_code)
        .where(Region.code.in_({code, code[:4] + "00", code[:2] + "0000"})))}
    chain, current = [], code
    while current is not None and current in rows:
        chain.append(current)
        current = rows[current][1]
    if current is not None:  # a code that does not nest: walk the parents
        chain = [r.code for r in regions.chain(code)]
    answered = db.session.execute(
        sa.select(TicketEvent.kind, TicketEvent.party_id)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind.in_(("declined", "offer_expired")))).all()
    line = db.session.execute(sa.select(ProductLine.code).where(ProductLine.id == ticket.product_line_id)).scalar_one()
    return routing.TicketFacts(
        product_line=line, tier=ticket.tier, region_chain=tuple(chain),
        declined_by=frozenset(p for k, p in answered if k == "declined"),
        expired_by=frozenset(p for k, p in answered if k == "offer_expired"))


def candidates(region_chain, product_line_id, day):
    certified = (sa.exists().where(Engineer.party_id == Party.id, Engineer.active,
                                   Certification.engineer_id == Engineer.id,
                                   valid_certification_clause(product_line_id, day)))
    last_expiry = (sa.select(sa.func.max(Certification.expires_on))
                   .join(Engineer, Engineer.id == Certification.engineer_id)
                   .where(Engineer.party_id == Party.id, Certification.product_line_id == product_line_id,
                          Certification.status.in_(("valid", "expired"))).scalar_subquery())
    load = (sa.select(sa.func.count()).select_from(Ticket)
            .where(Ticket.owner_party_id == Party.id, Ticket.status.in_(HELD_STATUSES)).scalar_subquery())
    rows = db.session.execute(
        sa.select(Coverage.region_code, Region.level, Coverage.tier_l1, Coverage.tier_l2, Coverage.tier_l3,
                  Party.id, Party.name, Party.kind, Party.status, Party.capacity,
                  Party.tier_l1.label("p1"), Party.tier_l2.label("p2"), Party.tier_l3.label("p3"),
                  certified.label("certified"), last_expiry.label("last_expiry"), load.label("load"))
        .join(Party, Party.id == Coverage.party_id)
        .join(Region, Region.code == Coverage.region_code)
        .where(Coverage.region_code.in_(region_chain), Party.kind != "hq",
               effective_coverage_clause(day), covers_product_line_clause(product_line_id))).all()
    out = []
    for r in rows:
        tiers = {t for t, a, p in (("L1", r.tier_l1, r.p1), ("L2", r.tier_l2, r.p2), ("L3", r.tier_l3, r.p3)) if a and p}
        out.append(routing.Candidate(
            party_id=r.id, name=r.name, kind=r.kind, status=r.status, level=r.level,
            region_code=r.region_code, tiers=frozenset(tiers), certified=bool(r.certified),
            open_tickets=r.load, capacity=r.capacity or 0,
            last_certificate_expiry=None if r.certified else r.last_expiry))
    return out

if "fewer" in variants:
    routing_data.ticket_facts = ticket_facts
    routing_data.candidates = candidates

sys.exit(b.main(argv))
