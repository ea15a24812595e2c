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


original_add2 = b.Scale.add_new_tickets
def add_and_index(self, count, seed):
    original_add2(self, count, seed)
    with self.app.app_context():
        db.session.execute(sa.text("CREATE INDEX IF NOT EXISTS ix_certification_engineer_line ON certification (engineer_id, product_line_id, status, expires_on)"))
        db.session.commit()
if "index" in variants:
    b.Scale.add_new_tickets = add_and_index


def candidates_in_form(region_chain, product_line_id, day):
    """The product's candidates() with only the two certification queries rewritten engineer-first."""
    from partnernet.tickets.routing_data import regions as _r
    levels = {code: level for code, level in db.session.execute(
        sa.select(Region.code, Region.level).where(Region.code.in_(region_chain)))}
    rows = db.session.execute(
        sa.select(Coverage, Party).join(Party, Party.id == Coverage.party_id)
        .where(Coverage.region_code.in_(region_chain), Party.kind != "hq",
               effective_coverage_clause(day), covers_product_line_clause(product_line_id))).all()
    if not rows:
        return []
    party_ids = {party.id for _c, party in rows}
    engineers_of = lambda active: sa.select(Engineer.id).where(Engineer.party_id.in_(party_ids), *([Engineer.active] if active else []))
    certified = set(db.session.execute(
        sa.select(Engineer.party_id).join(Certification, Certification.engineer_id == Engineer.id)
        .where(Certification.engineer_id.in_(engineers_of(True)), Engineer.party_id.in_(party_ids), Engineer.active,
               valid_certification_clause(product_line_id, day))).scalars())
    last_expiry = dict(db.session.execute(
        sa.select(Engineer.party_id, sa.func.max(Certification.expires_on))
        .join(Certification, Certification.engineer_id == Engineer.id)
        .where(Certification.engineer_id.in_(engineers_of(False)), Engineer.party_id.in_(party_ids),
               Certification.product_line_id == product_line_id,
               Certification.status.in_(("valid", "expired")))
        .group_by(Engineer.party_id)).all())
    load = dict(db.session.execute(
        sa.select(Ticket.owner_party_id, sa.func.count())
        .where(Ticket.owner_party_id.in_(party_ids), Ticket.status.in_(HELD_STATUSES))
        .group_by(Ticket.owner_party_id)).all())
    return [routing.Candidate(
            party_id=party.id, name=party.name, kind=party.kind, status=party.status,
            level=levels[coverage.region_code], region_code=coverage.region_code,
            tiers=frozenset(set(coverage.tiers) & set(party.tiers)),
            certified=party.id in certified, open_tickets=load.get(party.id, 0),
            capacity=party.capacity or 0,
            last_certificate_expiry=None if party.id in certified else last_expiry.get(party.id))
        for coverage, party in rows]
if "inform" in variants:
    routing_data.candidates = candidates_in_form


# One statement, built once: coverage, party, level, certified, last expiry and load per row.
_line, _day = sa.bindparam("line"), sa.bindparam("day")
_engineers = lambda active: sa.select(Engineer.id).where(Engineer.party_id == Party.id, *([Engineer.active] if active else [])).correlate(Party)
CANDIDATES = (
    sa.select(Coverage.region_code, Region.level, Coverage.tier_l1, Coverage.tier_l2, Coverage.tier_l3,
              Party.id, Party.name, Party.kind, Party.status, Party.capacity,
              Party.tier_l1.label("p1"), Party.tier_l2.label("p2"), Party.tier_l3.label("p3"),
              sa.exists().where(Certification.engineer_id.in_(_engineers(True)),
                                valid_certification_clause(_line, _day)).label("certified"),
              sa.select(sa.func.max(Certification.expires_on))
                .where(Certification.engineer_id.in_(_engineers(False)), Certification.product_line_id == _line,
                       Certification.status.in_(("valid", "expired"))).scalar_subquery().label("last_expiry"),
              sa.select(sa.func.count()).select_from(Ticket)
                .where(Ticket.owner_party_id == Party.id, Ticket.status.in_(HELD_STATUSES)).scalar_subquery().label("load"))
    .join(Party, Party.id == Coverage.party_id)
    .join(Region, Region.code == Coverage.region_code)
    .where(Coverage.region_code.in_(sa.bindparam("chain", expanding=True)), Party.kind != "hq",
           effective_coverage_clause(_day), covers_product_line_clause(_line)))
CHAIN = sa.select(Region.code, Region.parent_code).where(Region.code.in_(sa.bindparam("codes", expanding=True)))
ANSWERED = (sa.select(TicketEvent.kind, TicketEvent.party_id)
            .where(TicketEvent.ticket_id == sa.bindparam("ticket"), TicketEvent.kind.in_(("declined", "offer_expired"))))
LINE_CODE = sa.select(ProductLine.code).where(ProductLine.id == sa.bindparam("line"))

def candidates_prebuilt(region_chain, product_line_id, day):
    out = []
    for r in db.session.execute(CANDIDATES, {"chain": list(region_chain), "line": product_line_id, "day": day}):
        out.append(routing.Candidate(
            party_id=r.id, name=r.name, kind=r.kind, status=r.status, level=r.level,
            region_code=r.region_code,
            tiers=frozenset(t for t, a, p in (("L1", r.tier_l1, r.p1), ("L2", r.tier_l2, r.p2), ("L3", r.tier_l3, r.p3)) if a and p),
            certified=bool(r.certified), open_tickets=r.load, capacity=r.capacity or 0,
            last_certificate_expiry=None if r.certified else r.last_expiry))
    return out

def ticket_facts_prebuilt(ticket):
    code = ticket.region_code
    parents = dict(db.session.execute(CHAIN, {"codes": [code, code[:4] + "00", code[:2] + "0000"]}).all())
    chain, current = [], code
    while current is not None and current in parents:
        chain.append(current)
        current = parents[current]
    if current is not None:
        chain = [r.code for r in regions.chain(code)]
    answered = db.session.execute(ANSWERED, {"ticket": ticket.id}).all()
    return routing.TicketFacts(
        product_line=db.session.execute(LINE_CODE, {"line": ticket.product_line_id}).scalar_one(),
        tier=ticket.tier, region_chain=tuple(chain),
        declined_by=frozenset(p for k, p in answered if k == "declined"),
        expired_by=frozenset(p for k, p in answered if k == "offer_expired"))

if "prebuilt" in variants:
    routing_data.candidates = candidates_prebuilt
    routing_data.ticket_facts = ticket_facts_prebuilt

if "settings" in variants:  # as when the caller passes settings (intake does)
    _cached = {}
    _load = service.load_settings
    def load_settings_once():
        if not _cached:
            _cached.update(_load())
        return dict(_cached)
    service.load_settings = load_settings_once

if "fewer" in variants:
    routing_data.ticket_facts = ticket_facts
    routing_data.candidates = candidates

sys.exit(b.main(argv))
