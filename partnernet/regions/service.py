"""Loading the GB/T 2260 data file, and the lookups: a code's chain, children, search."""
import csv
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
import sqlalchemy.orm

from partnernet.extensions import db
from partnernet.labels import reads_chinese
from partnernet.regions.models import Region

DATA_FILE = Path(__file__).with_name("data") / "regions.csv"
LEVEL_ORDER = {"province": 0, "city": 1, "county": 2}

# A lightweight table so that migrations can load the data without the ORM models.
region_table = sa.table(
    "region",
    sa.column("code", sa.String), sa.column("name", sa.String), sa.column("pinyin", sa.String),
    sa.column("level", sa.String), sa.column("parent_code", sa.String),
)


def read_data_file(path: Path = DATA_FILE) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as handle:
        rows = [
            {"code": r["code"], "name": r["name"], "pinyin": r["pinyin"], "level": r["level"],
             "parent_code": r["parent_code"] or None}
            for r in csv.DictReader(handle)
        ]
    # Parents first, so that foreign keys hold at every insert.
    return sorted(rows, key=lambda r: (LEVEL_ORDER[r["level"]], r["code"]))


def load_regions(connection, path: Path = DATA_FILE) -> dict:
    """Insert new regions and update changed ones; running it twice changes nothing.

    Regions that left the data file are kept (tickets and coverage may still point at them).
    """
    rows = read_data_file(path)
    existing = {r.code: r for r in connection.execute(sa.select(region_table))}
    new = [r for r in rows if r["code"] not in existing]
    changed = [
        r for r in rows if r["code"] in existing
        and tuple(existing[r["code"]][1:]) != (r["name"], r["pinyin"], r["level"], r["parent_code"])
    ]
    for level in ("province", "city", "county"):
        batch = [r for r in new if r["level"] == level]
        if batch:
            connection.execute(region_table.insert(), batch)
    for row in changed:
        connection.execute(
            region_table.update().where(region_table.c.code == row["code"]).values(**row))
    return {"inserted": len(new), "updated": len(changed), "total": len(rows)}


def chain(code: str) -> list[Region]:
    """The region and its ancestors, most specific first: 330106 → 330100 → 330000."""
    regions = []
    region = db.session.get(Region, code)
    while region is not None:
        regions.append(region)
        region = db.session.get(Region, region.parent_code) if region.parent_code else None
    return regions


def chosen(code) -> Region | None:
    """The region a picker's hidden field names (a form shown again keeps its choice); None for
    anything but a code of six characters, or a code no region has."""
    return db.session.get(Region, code) if isinstance(code, str) and len(code) == 6 else None


def children(code: str | None) -> list[Region]:
    """The regions directly under `code`; the provinces when `code` is None."""
    statement = sa.select(Region).where(
        Region.parent_code.is_(None) if code is None else Region.parent_code == code)
    return list(db.session.execute(statement.order_by(Region.code)).scalars())


def provinces_for_picker() -> list[Region]:
    """The provinces as a picker lists them: Chinese readers look a name up by its pinyin (安徽,
    澳门, 北京 …), others get the official order of the codes (北京, 天津, 河北 …)."""
    provinces = children(None)
    return sorted(provinces, key=lambda r: (r.pinyin, r.code)) if reads_chinese() else provinces


def search(query: str, limit: int = 20) -> list[Region]:
    """Regions whose code starts with the digits typed, or whose name or pinyin contains the text,
    the most likely pick first (search_statement)."""
    if not query.strip():
        return []
    statement, order = search_statement(query)
    return list(db.session.execute(statement.order_by(*(key for key, _descending in order)).limit(limit)).scalars())


def search_statement(query: str) -> tuple:
    """(statement, keyset order) of a region search: exact matches, then larger regions, then code."""
    query = query.strip()
    if query.isdigit():
        code = query[:6]
        condition = Region.code.startswith(code)
        exact = Region.code == code.ljust(6, "0")
    else:
        folded = query.lower().replace(" ", "")
        # autoescape: "%" and "_" typed are text, not wildcards
        condition = sa.or_(Region.name.contains(query, autoescape=True),
                           Region.pinyin.startswith(folded, autoescape=True))
        exact = sa.or_(Region.name == query, Region.pinyin == folded)
    level_rank = sa.case({"province": 0, "city": 1}, value=Region.level, else_=2)
    order = [(sa.case((exact, 0), else_=1), False), (level_rank, False), (Region.code, False)]
    return sa.select(Region).where(condition), order


def prefix_of(region: Region) -> str:
    """GB/T 2260 codes nest: everything under a province shares 2 digits, under a city 4."""
    return {"province": region.code[:2], "city": region.code[:4]}.get(region.level, region.code)


def at_or_under(region: Region, column=Region.code):
    """SQL: `column` names `region` or a region below it."""
    if region.level == "county":
        return column == region.code
    # Codes are six digits: a range, which an index answers (LIKE 'prefix%' it does not).
    prefix = prefix_of(region)
    return column.between(prefix.ljust(6, "0"), prefix.ljust(6, "9"))


def county_units_clause():
    """SQL: the regions that count as counties: county-level ones, and cities with no counties
    (东莞, 中山, 儋州, 嘉峪关 serve as their own county)."""
    child = sa.orm.aliased(Region)
    return sa.or_(Region.level == "county",
                  sa.and_(Region.level == "city",
                          ~sa.exists().where(child.parent_code == Region.code)))


@lru_cache(maxsize=1)
def county_unit_rows() -> tuple[tuple, ...]:
    """(code, name, city code, city name) of every county unit of China, in code order; the city is
    None for a county directly under its province. Regions are reference data that only migrations
    and `flask regions load` write, so they are read once per process (2,850 rows)."""
    parent = sa.orm.aliased(Region)
    statement = (sa.select(Region.code, Region.name, Region.parent_code, parent.name, parent.level)
                 .outerjoin(parent, parent.code == Region.parent_code)
                 .where(county_units_clause())
                 .order_by(Region.code))
    return tuple((code, name, parent_code if parent_level == "city" else None,
                  parent_name if parent_level == "city" else None)
                 for code, name, parent_code, parent_name, parent_level in db.session.execute(statement))


def count_counties(region: Region) -> int:
    """How many county units lie at or under a region."""
    statement = sa.select(sa.func.count()).select_from(Region).where(
        county_units_clause(), at_or_under(region))
    return db.session.execute(statement).scalar_one()
