"""Coverage by region: who covers each county unit for a product line, and where nobody eligible
does — the list a channel manager recruits new partners from."""
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from partnernet.extensions import db
from partnernet.network.models import PARTNER_KINDS, ROUTABLE_STATUSES, Coverage, Party
from partnernet.network.service import (covers_product_line_clause, effective_coverage_clause,
                                        parties_with_certified_engineer)
from partnernet.regions import service as regions
from partnernet.regions.models import Region

GAP_REASONS = ("no_coverage", "no_certified_engineer", "only_inactive")
LEVEL_RANK = {"county": 0, "city": 1, "province": 2}
KIND_RANK = {kind: rank for rank, kind in enumerate(PARTNER_KINDS)}


@dataclass(slots=True)
class CoveringPartner:
    party_id: int
    name: str
    kind: str
    status: str
    level: str  # the level of the coverage's region: province, city or county
    region_code: str
    certified: bool

    @property
    def eligible(self) -> bool:
        return self.status in ROUTABLE_STATUSES and self.certified


@dataclass(slots=True)
class CountyCoverage:
    """One county unit: the partners covering it for the line and, when none is eligible, why."""
    code: str
    name: str
    city_code: str | None  # None for a county directly under its province (仙桃, 北京's districts)
    city_name: str | None
    province_code: str
    partners: list[CoveringPartner] = field(default_factory=list)
    gap_reason: str | None = None

    @property
    def is_gap(self) -> bool:
        return self.gap_reason is not None


@dataclass
class RegionSummary:
    """A region below the chosen one, with its county units counted."""
    code: str
    name: str
    level: str
    county_units: int = 0
    covered: int = 0  # county units with at least one eligible partner
    gaps_by_reason: dict = field(default_factory=lambda: dict.fromkeys(GAP_REASONS, 0))
    county: CountyCoverage | None = None  # set when the region is itself a county unit

    @property
    def gaps(self) -> int:
        return self.county_units - self.covered

    @property
    def covered_percent(self) -> int | None:
        """None where the region has no county units in the data (台湾, 香港, 澳门): no share is known."""
        return round(100 * self.covered / self.county_units) if self.county_units else None


@dataclass
class CoverageMap:
    region: Region | None  # None: the whole country
    rows: list[RegionSummary]
    counties: list[CountyCoverage]

    @property
    def gaps(self) -> list[CountyCoverage]:
        return [c for c in self.counties if c.is_gap]

    @property
    def total(self) -> RegionSummary:
        total = RegionSummary(self.region.code if self.region else "", self.region.name if self.region else "",
                              self.region.level if self.region else "country")
        for row in self.rows:
            add_up(total, row)
        return total


def gap_reason(partners: list[CoveringPartner]) -> str | None:
    """None when an eligible partner covers the county; otherwise the reason there is a gap."""
    if any(p.eligible for p in partners):
        return None
    if not partners:
        return "no_coverage"
    if any(p.status in ROUTABLE_STATUSES for p in partners):
        return "no_certified_engineer"  # partners in good standing, none with a certified engineer
    return "only_inactive"


def province_code_of(code: str) -> str:
    return code[:2] + "0000"


def county_units(region: Region | None) -> list[CountyCoverage]:
    """The county units at or under `region` (all of China when None), with their city, in code order."""
    prefix = regions.prefix_of(region) if region is not None else ""
    return [CountyCoverage(code, name, city_code, city_name, province_code_of(code))
            for code, name, city_code, city_name in regions.county_unit_rows() if code.startswith(prefix)]


def covering_partners(product_line_id: int, region: Region | None, today: date) -> dict[str, list[CoveringPartner]]:
    """Effective coverages of the line that can reach a county at or under `region`, by region code.

    One query: the coverages under the region plus those of the regions above it; few rows.
    """
    certified = Party.id.in_(parties_with_certified_engineer(product_line_id, today))
    statement = (sa.select(Coverage.region_code, Region.level, Party.id, Party.name, Party.kind, Party.status,
                           certified.label("certified"))
                 .join(Party, Party.id == Coverage.party_id)
                 .join(Region, Region.code == Coverage.region_code)
                 .where(Party.kind != "hq", effective_coverage_clause(today),
                        covers_product_line_clause(product_line_id)))
    if region is not None:
        above = [r.code for r in regions.chain(region.code)]
        statement = statement.where(sa.or_(Coverage.region_code.in_(above),
                                           regions.at_or_under(region, Coverage.region_code)))
    by_region = defaultdict(list)
    for region_code, level, party_id, name, kind, status, is_certified in db.session.execute(statement):
        by_region[region_code].append(CoveringPartner(party_id, name, kind, status, level, region_code,
                                                      bool(is_certified)))
    return by_region


def county_coverage(product_line_id: int, region_code: str | None, today: date) -> list[CountyCoverage]:
    """Every county unit at or under the region, with who covers it and the gap reason if any."""
    region = db.session.get(Region, region_code) if region_code else None
    return resolve(product_line_id, region, today)


def partner_order(partner: CoveringPartner) -> tuple:
    """Eligible first, then the most specific coverage, the preferred kind, the name."""
    return (not partner.eligible, LEVEL_RANK.get(partner.level, 3), KIND_RANK.get(partner.kind, 9), partner.name)


def resolve(product_line_id: int, region: Region | None, today: date, order_all: bool = True) -> list[CountyCoverage]:
    """Every county unit with its covering partners and gap reason. The partners are put in order
    where a page lists them: every county's with `order_all`, else only the gaps' (the country view
    lists no county but its gaps, in the CSV)."""
    units = county_units(region)
    by_region = covering_partners(product_line_id, region, today)
    for unit in units:
        best = {}
        # A partner may cover a county at several levels; the most specific one is the one shown.
        for code in (unit.code, unit.city_code, unit.province_code):
            for partner in by_region.get(code, ()) if code else ():
                best.setdefault(partner.party_id, partner)
        partners = list(best.values())
        unit.gap_reason = gap_reason(partners)
        if order_all or unit.gap_reason is not None:
            partners.sort(key=partner_order)
        unit.partners = partners
    return units


def add_up(summary: RegionSummary, other: RegionSummary) -> None:
    summary.county_units += other.county_units
    summary.covered += other.covered
    for reason, count in other.gaps_by_reason.items():
        summary.gaps_by_reason[reason] += count


def count_in(summary: RegionSummary, unit: CountyCoverage) -> None:
    summary.county_units += 1
    if unit.is_gap:
        summary.gaps_by_reason[unit.gap_reason] += 1
    else:
        summary.covered += 1


def coverage_map(product_line_id: int, region_code: str | None, today: date) -> CoverageMap:
    """The drill-down page's data: one row per region directly below `region_code` (provinces for
    the whole country), county units counted under each, and every county unit resolved."""
    region = db.session.get(Region, region_code) if region_code else None
    counties = resolve(product_line_id, region, today, order_all=region is not None)
    rows = {r.code: RegionSummary(r.code, r.name, r.level) for r in regions.children(region.code if region else None)}
    for unit in counties:
        if region is None:
            row = rows.get(unit.province_code)
        elif region.level == "province":
            row = rows.get(unit.city_code or unit.code)
        else:
            row = rows.get(unit.code)
        if row is None:  # a county unit that is the chosen region itself
            continue
        count_in(row, unit)
        if row.code == unit.code:
            row.county = unit
    return CoverageMap(region, list(rows.values()), counties)


def region_summaries(product_line_id: int, region_code: str | None, today: date) -> list[RegionSummary]:
    """The regions directly below `region_code` (provinces for None) with their county units counted."""
    return coverage_map(product_line_id, region_code, today).rows


def gaps(product_line_id: int, region_code: str | None, today: date) -> list[CountyCoverage]:
    """The recruiting list: county units at or under the region with no eligible partner."""
    return [c for c in county_coverage(product_line_id, region_code, today) if c.is_gap]


def best_kind_by_province(result: CoverageMap) -> dict[str, str]:
    """Per province, the most preferred kind among the partners eligible in any of its counties
    (branch before joint venture, franchisee, agent), or 'none'."""
    best: dict[str, int] = {}
    for county in result.counties:
        for partner in county.partners:
            if partner.eligible:
                rank = KIND_RANK.get(partner.kind, len(PARTNER_KINDS))
                best[county.province_code] = min(rank, best.get(county.province_code, rank))
    return {row.code: PARTNER_KINDS[best[row.code]] if row.code in best else "none" for row in result.rows}
