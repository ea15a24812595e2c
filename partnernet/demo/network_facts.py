"""The network as the history's routing sees it: parties, coverage, certificates, customers and
contracts read once from the database into plain rows."""
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa

from partnernet.customers.models import Contract, Customer, contract_product_line
from partnernet.demo.atlas import Atlas
from partnernet.extensions import db
from partnernet.network.models import (
    Certification, Coverage, Engineer, Party, PartyEvent, ProductLine, coverage_product_line,
)
from partnernet.settings.models import SlaPolicy
from partnernet.settings.service import load_settings


@dataclass
class Network:
    """The network as the history's routing sees it: plain rows, loaded once from the database."""
    hq_id: int
    parties: dict  # id -> PartyFacts
    coverage: dict  # region code -> [CoverageFacts]
    certificates: dict  # (party id, product line id) -> [(engineer id, issued_on, expires_on)]
    customers: list  # (id, region code, sold_by_party_id)
    contracts: dict  # customer id -> [ContractFacts], oldest first
    policies: dict  # sla_policy id -> SlaPolicy row (detached values only)
    line_codes: dict  # product line id -> code
    line_ids: dict  # code -> product line id
    chains: dict  # region code -> ((code, level), …) up to the province
    settings: dict

    def chain(self, code: str) -> tuple:
        return self.chains.get(code, ())


@dataclass
class PartyFacts:
    id: int
    name: str
    kind: str
    capacity: int
    tiers: frozenset
    statuses: list  # (since, status), oldest first, from the party's events

    def status_at(self, moment: datetime) -> str:
        current = "onboarding"
        for since, status in self.statuses:
            if since > moment:
                break
            current = status
        return current


@dataclass
class CoverageFacts:
    party_id: int
    region_code: str
    lines: frozenset | None  # None: all product lines
    tiers: frozenset
    effective_from: date
    effective_to: date | None

    def serves(self, line_id: int, day: date) -> bool:
        return (self.effective_from <= day and (self.effective_to is None or self.effective_to >= day)
                and (self.lines is None or line_id in self.lines))


@dataclass
class ContractFacts:
    id: int
    value: Decimal
    starts_on: date
    service_paid_until: date | None
    sla_policy_id: int
    line_codes: tuple


def load_network(atlas: Atlas) -> Network:

    def tiers_of(row) -> frozenset:
        return frozenset(t for t in ("L1", "L2", "L3") if getattr(row, "tier_" + t.lower()))

    hq_id = db.session.execute(sa.select(Party.id).where(Party.kind == "hq")).scalar_one()
    statuses = {}
    for party_id, at, to_status in db.session.execute(
            sa.select(PartyEvent.party_id, PartyEvent.at, PartyEvent.to_status)
            .where(PartyEvent.to_status.is_not(None)).order_by(PartyEvent.at, PartyEvent.id)):
        statuses.setdefault(party_id, []).append((at, to_status))
    parties = {row.id: PartyFacts(row.id, row.name, row.kind, row.capacity or 0, tiers_of(row),
                                  statuses.get(row.id, []))
               for row in db.session.execute(sa.select(Party).where(Party.kind != "hq")).scalars()}

    lines_of = {}
    for coverage_id, line_id in db.session.execute(sa.select(coverage_product_line.c.coverage_id,
                                                             coverage_product_line.c.product_line_id)):
        lines_of.setdefault(coverage_id, set()).add(line_id)
    coverage = {}
    for row in db.session.execute(sa.select(Coverage).order_by(Coverage.id)).scalars():
        coverage.setdefault(row.region_code, []).append(CoverageFacts(
            row.party_id, row.region_code, None if row.all_product_lines else frozenset(lines_of.get(row.id, ())),
            tiers_of(row), row.effective_from, row.effective_to))

    # A certificate counts on the days it ran, whatever became of it since: "expired" now was valid
    # then. Pending, rejected and revoked ones never let anyone serve.
    certificates = {}
    for engineer_id, party_id, line_id, issued_on, expires_on in db.session.execute(
            sa.select(Engineer.id, Engineer.party_id, Certification.product_line_id, Certification.issued_on,
                      Certification.expires_on)
            .join(Certification, Certification.engineer_id == Engineer.id)
            .where(Engineer.active, Certification.status.in_(("valid", "expired")))
            .order_by(Engineer.id, Certification.id)):
        certificates.setdefault((party_id, line_id), []).append((engineer_id, issued_on, expires_on))

    line_codes = dict(db.session.execute(sa.select(ProductLine.id, ProductLine.code)).all())
    customers = [tuple(row) for row in db.session.execute(
        sa.select(Customer.id, Customer.region_code, Customer.sold_by_party_id).order_by(Customer.id))]
    contract_lines = {}
    for contract_id, line_id in db.session.execute(sa.select(contract_product_line.c.contract_id,
                                                             contract_product_line.c.product_line_id)):
        contract_lines.setdefault(contract_id, []).append(line_id)
    contracts = {}
    for row in db.session.execute(sa.select(Contract).order_by(Contract.starts_on, Contract.id)).scalars():
        contracts.setdefault(row.customer_id, []).append(ContractFacts(
            row.id, row.value, row.starts_on, row.service_paid_until, row.sla_policy_id,
            tuple(sorted(line_codes[line] for line in contract_lines.get(row.id, ())))))
    policies = {row.id: row for row in db.session.execute(sa.select(SlaPolicy)).scalars()}

    chains = {}
    for code in {region for _id, region, _seller in customers}:
        chain, current = [], code
        while current:
            region = atlas.regions[current]
            chain.append((region.code, region.level))
            current = region.parent_code
        chains[code] = tuple(chain)
    return Network(hq_id, parties, coverage, certificates, customers, contracts, policies, line_codes,
                   {code: line_id for line_id, code in line_codes.items()}, chains, load_settings())


def certified_engineers_on(network: Network, party_id: int, line_id: int, day: date) -> list[int]:
    return sorted({engineer for engineer, issued_on, expires_on in network.certificates.get((party_id, line_id), ())
                   if issued_on <= day <= expires_on})
