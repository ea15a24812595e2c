"""Fill a fresh SQLite database with a partner network at benchmark scale, with Core bulk inserts.

    python benchmarks/generate.py --scale full     # 2,000 partners, 200,000 historical tickets
    python benchmarks/generate.py --scale tenth    # one tenth of every count
    python benchmarks/generate.py --scale audit-1m # the full network, a year of 1,000,000 tickets
    python benchmarks/generate.py --scale dense    # ten times the full network over the same regions

Deterministic: one random.Random(seed) draws everything, and dates count back from a fixed day
(TODAY), so a scale and a seed always give the same rows. The file is cached under
benchmarks/.data/, keyed by scale, seed and a hash of the migrations and this script.

The network: a branch per province covering the whole province; joint ventures covering whole
cities; franchisees covering a city or a few counties; agents covering one to four counties. With
2,000 partners over the 2,850 county units of China, a county is reached by about four partners
at the three levels (its province, its city, itself). The tenth scale keeps that density by
spreading its 200 partners over a tenth of the county units (a few whole provinces), so that the
two scales differ in how much data the tables hold, not in how many candidates a ticket has.
"""
import argparse
import hashlib
import os
import random
import shutil
import sys
import time
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

DATA_DIR = Path(__file__).resolve().parent / ".data"
DEFAULT_SEED = 2026
# "Today" for the whole benchmark: certifications, coverage and tickets are dated from it, and
# routing runs at NOW, so the figures do not depend on the day the benchmark runs.
TODAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)  # 10:00 in China

SCALES = {
    # partners, engineers, certifications, customers, historical tickets
    "full": dict(partners=2000, engineers=20000, certifications=40000, customers=20000, tickets=200000),
    "tenth": dict(partners=200, engineers=2000, certifications=4000, customers=2000, tickets=20000),
    # The audit benchmark's (bench_audit.py): the full network and one year of tickets, AUDIT_YEAR,
    # with every event the audit reads (resolution met or breached, returns to HQ) and without the
    # offer notifications, which the audit never reads.
    "audit-100k": dict(partners=2000, engineers=20000, certifications=40000, customers=20000, tickets=100_000,
                       audit=True),
    "audit-1m": dict(partners=2000, engineers=20000, certifications=40000, customers=20000, tickets=1_000_000,
                     audit=True),
    # Dense coverage (bench_routing.py): ten times the full network over the same regions, ten
    # branches per province instead of one, so every level of a ticket's region chain has ten
    # times the partners and a ticket ten times the candidates. Engineers and certifications per
    # partner stay as at full scale; customers and tickets stay the full scale's (the demand does
    # not grow with the network), so a partner holds a tenth of the load.
    "dense": dict(partners=20000, engineers=200000, certifications=400000, customers=20000, tickets=200000,
                  branches=10),
}
# Share of the county units that the scale's network covers (see the module docstring).
FOOTPRINT = {"full": 1.0, "tenth": 0.1, "audit-100k": 1.0, "audit-1m": 1.0, "dense": 1.0}
# The audit scales' tickets are opened in these twelve months (days in China) and audited over them.
AUDIT_YEAR = (date(2025, 11, 1), date(2026, 10, 31))
AUDIT_YEAR_END = datetime(2026, 10, 31, 16, 0, tzinfo=timezone.utc)  # 1 November 00:00 in China
RETURNED = 0.02  # audit scales: of the tickets a partner accepted and finished, the share it returned to HQ

KIND_SHARE = {"joint_venture": 0.12, "franchisee": 0.33, "agent": 0.55}  # of the non-branches
KIND_ZH = {"branch": "分公司", "joint_venture": "联营公司", "franchisee": "加盟商", "agent": "代理商"}
ENGINEER_WEIGHT = {"branch": 4.0, "joint_venture": 2.0, "franchisee": 1.2, "agent": 0.8}
CAPACITY = {"branch": (30, 60), "joint_venture": (20, 50), "franchisee": (10, 40), "agent": (5, 25)}
STATUS_MIX = [("active", 0.84), ("probation", 0.08), ("onboarding", 0.03), ("suspended", 0.03),
              ("terminated", 0.02)]
LINE_WEIGHTS = {"oa-core": 6, "workflow": 4, "mobile": 3, "integration": 1}
LINE_ABBREVIATIONS = {"oa-core": "OA", "workflow": "WF", "mobile": "MB", "integration": "IN"}
TIER_WEIGHTS = {"L1": 3, "L2": 4, "L3": 3}
CHUNK = 20000


def schema_key() -> str:
    """Changes whenever a migration or this generator changes: a cached file is then stale."""
    digest = hashlib.sha1()
    for path in sorted((ROOT / "migrations" / "versions").glob("*.py")) + [Path(__file__).resolve()]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def database_path(scale: str, seed: int) -> Path:
    return DATA_DIR / f"{scale}-seed{seed}-{schema_key()}.sqlite"


def ensure_database(scale: str, seed: int = DEFAULT_SEED, log=print) -> Path:
    """The cached database of this scale and seed, generated first when missing or stale."""
    path = database_path(scale, seed)
    if path.exists():
        log(f"[{scale}] reusing {path.relative_to(ROOT)}")
        return path
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    for stale in DATA_DIR.glob(f"{scale}-seed{seed}-*.sqlite*"):
        stale.unlink()
    generate(path, scale, seed, log)
    return path


# --- drawing the network --------------------------------------------------------------------

def weighted(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def draw_status(rng):
    return rng.choices([s for s, _ in STATUS_MIX], weights=[w for _, w in STATUS_MIX])[0]


def days_ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def at_china_day(day: date, rng) -> datetime:
    """An instant during office hours in China on `day` (01:00–10:00 UTC)."""
    return datetime(day.year, day.month, day.day, 1, tzinfo=timezone.utc) + timedelta(
        seconds=rng.randrange(9 * 3600))


class Geography:
    """Provinces, their cities and their county units (counties, and cities that have none)."""

    def __init__(self, regions):
        self.level = {code: level for code, level, _parent in regions}
        self.parent = {code: parent for code, _level, parent in regions}
        children = defaultdict(list)
        for code, _level, parent in regions:
            if parent:
                children[parent].append(code)
        self.provinces = sorted(c for c, l in self.level.items() if l == "province")
        self.cities = defaultdict(list)      # province -> cities
        self.units = defaultdict(list)       # province -> county units
        self.city_units = defaultdict(list)  # city -> county units
        for code in sorted(self.level):
            level = self.level[code]
            province = code[:2] + "0000"
            if level == "city":
                self.cities[province].append(code)
                if not children[code]:
                    self.units[province].append(code)
                    self.city_units[code].append(code)
            elif level == "county":
                self.units[province].append(code)
                parent = self.parent[code]
                if self.level[parent] == "city":
                    self.city_units[parent].append(code)
            elif level == "province" and not children[code]:
                self.units[province].append(code)  # 香港, 澳门, 台湾: no divisions in the data

    def footprint(self, share: float, rng) -> list[str]:
        """Whole provinces, drawn in a seeded order, until they hold `share` of the county units."""
        if share >= 1:
            return list(self.provinces)
        total = sum(len(u) for u in self.units.values())
        order = list(self.provinces)
        rng.shuffle(order)
        chosen, held = [], 0
        for province in order:
            if held >= share * total:
                break
            if len(self.units[province]) < 10:
                continue  # municipalities and the SARs are too small to stand for a tenth
            chosen.append(province)
            held += len(self.units[province])
        return sorted(chosen)


def spread(total: int, weights: dict, rng) -> dict:
    """Split `total` over keys in proportion to weights, exactly (largest remainders)."""
    weight_sum = sum(weights.values())
    exact = {k: total * w / weight_sum for k, w in weights.items()}
    counts = {k: int(v) for k, v in exact.items()}
    left = total - sum(counts.values())
    for key in sorted(exact, key=lambda k: (counts[k] - exact[k], k))[:left]:
        counts[key] += 1
    return counts


# --- the generator ----------------------------------------------------------------------------

def generate(path: Path, scale: str, seed: int = DEFAULT_SEED, log=print) -> None:
    from flask_migrate import upgrade

    from partnernet import create_app
    from partnernet.extensions import db

    started = time.perf_counter()
    sizes = SCALES[scale]
    partial = path.with_name(path.name + ".partial")
    for leftover in path.parent.glob(partial.name + "*"):
        leftover.unlink()
    url = "sqlite:///" + str(partial)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        migrated = time.perf_counter()
        with db.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA synchronous=OFF")
            connection.exec_driver_sql("PRAGMA cache_size=-262144")  # 256 MiB while indexing
            # Millions of ticket events: their indexes are built once at the end, from sorted keys,
            # not kept up row by row (the same indexes, made in a fraction of the time).
            deferred = drop_indexes(connection, ("ticket", "ticket_event")) if sizes.get("audit") else []
            counts = fill(connection, sizes, FOOTPRINT[scale], random.Random(seed), log)
            for statement in deferred:
                connection.exec_driver_sql(statement)
            connection.commit()
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db.session.remove()
        db.engine.dispose()
    for suffix in ("-wal", "-shm"):
        Path(str(partial) + suffix).unlink(missing_ok=True)
    shutil.move(partial, path)
    elapsed = time.perf_counter() - started
    log(f"[{scale}] generated {path.name} in {elapsed:.1f} s "
        f"(migrations {migrated - started:.1f} s, {os.path.getsize(path) / 2**20:.0f} MiB): "
        + ", ".join(f"{n:,} {table}" for table, n in counts.items()))


def drop_indexes(connection, tables) -> list[str]:
    """Drop the tables' indexes (those the migrations made); return the statements that remake them."""
    listed = ", ".join(f"'{table}'" for table in tables)
    rows = connection.exec_driver_sql(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({listed})"
    ).all()
    for name, _sql in rows:
        connection.exec_driver_sql(f'DROP INDEX "{name}"')
    return [sql for _name, sql in rows]


def fill(connection, sizes: dict, footprint_share: float, rng: random.Random, log) -> dict:
    from partnernet.auth.models import User
    from partnernet.customers.models import Contract, Customer, contract_product_line
    from partnernet.network.models import (Certification, Coverage, Engineer, Party, ProductLine,
                                           coverage_product_line)
    from partnernet.notifications.models import Notification
    from partnernet.regions.models import Region
    from partnernet.settings.models import SlaPolicy
    from partnernet.tickets.models import Ticket, TicketEvent

    counts = {}

    def insert(table, rows):
        for start in range(0, len(rows), CHUNK):
            connection.execute(sa.insert(table), rows[start:start + CHUNK])
        counts[table.name] = counts.get(table.name, 0) + len(rows)

    geo = Geography(connection.execute(sa.select(Region.code, Region.level, Region.parent_code)).all())
    lines = dict(connection.execute(sa.select(ProductLine.code, ProductLine.id)).all())
    line_ids = [lines[code] for code in LINE_WEIGHTS]
    line_weights = list(LINE_WEIGHTS.values())
    policies = dict(connection.execute(sa.select(SlaPolicy.code, SlaPolicy.id)).all())
    hq_id = connection.execute(sa.select(Party.id).where(Party.kind == "hq")).scalar_one()
    names = dict(connection.execute(sa.select(Region.code, Region.name)).all())

    # Partners: one branch per province of the footprint, the rest in proportion to county units.
    provinces = geo.footprint(footprint_share, rng)
    branches = sizes.get("branches", 1)  # per province, each covering the whole province
    others = sizes["partners"] - branches * len(provinces)
    per_province = spread(others, {p: len(geo.units[p]) for p in provinces}, rng)
    parties, coverages, coverage_lines = [], [], []
    party_id = hq_id
    coverage_id = 0
    by_province = defaultdict(list)   # province -> partner ids
    kind_of, capacity_of, active_in = {}, {}, defaultdict(list)

    def add_coverage(party, region, all_lines, tiers, ended=False):
        nonlocal coverage_id
        coverage_id += 1
        start = days_ago(rng.randrange(30, 1500))
        if ended:  # history: a coverage that ended before today
            end = days_ago(rng.randrange(1, 29))
        elif rng.random() < 0.03:  # a coverage that starts later (signed, not yet effective)
            start, end = TODAY + timedelta(days=rng.randrange(1, 60)), None
        else:
            end = None if rng.random() < 0.85 else TODAY + timedelta(days=rng.randrange(30, 700))
        coverages.append(dict(
            id=coverage_id, party_id=party, region_code=region, all_product_lines=all_lines,
            effective_from=start, effective_to=end, tier_l1="L1" in tiers, tier_l2="L2" in tiers,
            tier_l3="L3" in tiers, created_at=at_china_day(min(start, TODAY), rng)))
        if not all_lines:
            for line in sorted(set(rng.choices(line_ids, weights=line_weights, k=rng.randint(1, 3)))):
                coverage_lines.append(dict(coverage_id=coverage_id, product_line_id=line))

    def add_party(kind, province, status, tiers):
        nonlocal party_id
        party_id += 1
        capacity = rng.randint(*CAPACITY[kind])
        start = days_ago(rng.randrange(60, 2500))
        parties.append(dict(
            id=party_id, kind=kind, name=f"{names[province]}{KIND_ZH[kind]}{party_id:05d}",
            name_en=f"{kind.replace('_', ' ').title()} {party_id}", status=status, capacity=capacity,
            province_code=province, address=None, contact_name=None, contact_phone=None,
            contact_email=None, contract_start=start, contract_end=start + timedelta(days=365 * 5),
            tier_l1="L1" in tiers, tier_l2="L2" in tiers, tier_l3="L3" in tiers,
            created_at=at_china_day(start, rng)))
        by_province[province].append(party_id)
        kind_of[party_id], capacity_of[party_id] = kind, capacity
        if status == "active":
            active_in[province].append(party_id)
        return party_id

    for province in provinces:
        for _ in range(branches):
            branch = add_party("branch", province, "active", ("L1", "L2", "L3"))
            add_coverage(branch, province, True, ("L1", "L2", "L3"))
        kinds = spread(per_province[province], KIND_SHARE, rng)
        units, cities = geo.units[province], geo.cities[province] or [province]
        for kind in ("joint_venture", "franchisee", "agent"):
            for _ in range(kinds[kind]):
                tiers = ("L1", "L2", "L3") if kind != "agent" or rng.random() < 0.5 else ("L1", "L2")
                party = add_party(kind, province, draw_status(rng), tiers)
                all_lines = rng.random() < 0.6
                if kind == "joint_venture" or (kind == "franchisee" and rng.random() < 0.5):
                    regions = rng.sample(cities, min(len(cities), 1 if kind == "franchisee" else rng.randint(1, 2)))
                    regions = [r for r in regions if geo.level[r] != "province"] or [province]
                else:
                    regions = rng.sample(units, min(len(units), rng.randint(1, 4) if kind == "agent" else rng.randint(2, 4)))
                for region in regions:
                    add_coverage(party, region, all_lines, tiers)
                if rng.random() < 0.1:  # an earlier coverage that has ended
                    add_coverage(party, rng.choice(units), all_lines, tiers, ended=True)
    insert(Party.__table__, parties)
    insert(Coverage.__table__, coverages)
    insert(coverage_product_line, coverage_lines)
    partner_ids = [p["id"] for p in parties]
    log(f"  {len(parties):,} partners in {len(provinces)} provinces, {len(coverages):,} coverage rows")

    # Partner administrators, who are notified of every offer: one or two per partner.
    users, admins_of = [], defaultdict(list)
    for party in partner_ids:
        for _ in range(1 if rng.random() < 0.7 else 2):
            user_id = len(users) + 1000  # clear of any user a migration may add
            active = rng.random() < 0.95
            users.append(dict(id=user_id, email=f"admin{user_id}@partner{party}.bench", name=f"管理员{user_id}",
                              password_hash="!", role="partner_admin", party_id=party, engineer_id=None,
                              locale="zh_CN" if rng.random() < 0.85 else "en", active=active,
                              session_version=1, created_at=at_china_day(days_ago(rng.randrange(60, 2000)), rng),
                              last_login_at=None))
            if active:
                admins_of[party].append(user_id)
    insert(User.__table__, users)

    # Engineers, ten per partner on average, more at branches; two certifications each.
    engineers, certifications = [], []
    weights = [ENGINEER_WEIGHT[kind_of[p]] for p in partner_ids]
    owners = sorted(rng.choices(partner_ids, weights=weights, k=sizes["engineers"]))
    staff = defaultdict(list)
    for engineer_id, party in enumerate(owners, start=1):
        engineers.append(dict(id=engineer_id, party_id=party, name=f"工程师{engineer_id:06d}", phone=None,
                              email=None, active=rng.random() < 0.95, created_at=at_china_day(days_ago(rng.randrange(30, 2000)), rng)))
        staff[party].append(engineer_id)
    per_engineer = sizes["certifications"] // sizes["engineers"]
    certification_id = 0
    for engineer in engineers:
        held = []
        while len(held) < per_engineer:
            line = rng.choices(line_ids, weights=line_weights)[0]
            if line not in held:
                held.append(line)
        for line in held:
            certification_id += 1
            draw = rng.random()
            if draw < 0.75:
                status, issued = "valid", days_ago(rng.randrange(0, 700))
            elif draw < 0.85:
                status, issued = "expired", days_ago(rng.randrange(731, 1500))
            elif draw < 0.90:
                status, issued = "valid", days_ago(rng.randrange(731, 800))  # lapsed, not yet marked
            elif draw < 0.96:
                status, issued = "pending", days_ago(rng.randrange(0, 20))
            else:
                status, issued = rng.choice(["rejected", "revoked"]), days_ago(rng.randrange(0, 700))
            abbreviation = [k for k, v in lines.items() if v == line][0]
            certifications.append(dict(
                id=certification_id, engineer_id=engineer["id"], product_line_id=line,
                level=rng.choice(["associate", "associate", "professional", "expert"]),
                number=f"{LINE_ABBREVIATIONS[abbreviation]}-{certification_id:07d}", issued_on=issued,
                expires_on=issued + timedelta(days=730), status=status,
                submitted_at=at_china_day(issued, rng), reviewed_at=None, reviewed_by_id=None,
                review_note=None, renews_id=None, scan_path=None, scan_filename=None, scan_content_type=None))
    insert(Engineer.__table__, engineers)
    insert(Certification.__table__, certifications)
    log(f"  {len(engineers):,} engineers, {len(certifications):,} certifications")

    # Customers in the footprint's county units, each with one or two contracts.
    units = [u for p in provinces for u in geo.units[p]]
    customers, contracts, contract_lines = [], [], []
    contract_id = 0
    contracts_of = {}
    region_of = {}
    for customer_id in range(1, sizes["customers"] + 1):
        region = rng.choice(units)
        province = region[:2] + "0000"
        seller = hq_id if rng.random() < 0.25 or not by_province[province] else rng.choice(by_province[province])
        customers.append(dict(id=customer_id, name=f"客户{customer_id:06d}", region_code=region,
                              sold_by_party_id=seller, contact_name=None, contact_phone=None,
                              contact_email=None, created_at=at_china_day(days_ago(rng.randrange(200, 1800)), rng)))
        region_of[customer_id] = region
        contracts_of[customer_id] = []
        for _ in range(1 if rng.random() < 0.7 else 2):
            contract_id += 1
            starts = days_ago(rng.randrange(10, 1500))
            paid = None if rng.random() < 0.4 else starts + timedelta(days=365 * rng.randint(1, 4))
            held = sorted(set(rng.choices(line_ids, weights=line_weights, k=rng.randint(1, 3))))
            contracts.append(dict(
                id=contract_id, customer_id=customer_id, number=f"HT-{contract_id:07d}",
                value=Decimal(rng.choice([8000, 20000, 36000, 50000, 80000, 150000, 400000])),
                starts_on=starts, sold_by_party_id=seller, service_paid_until=paid,
                sla_policy_id=policies["business-hours" if rng.random() < 0.8 else "24x7"],
                created_at=at_china_day(starts, rng)))
            contract_lines.extend(dict(contract_id=contract_id, product_line_id=line) for line in held)
            contracts_of[customer_id].append((contract_id, held))
    insert(Customer.__table__, customers)
    insert(Contract.__table__, contracts)
    insert(contract_product_line, contract_lines)
    log(f"  {len(customers):,} customers, {len(contracts):,} contracts")

    # Historical tickets: mostly closed; some held open by partners (their load), some queued.
    ticket_table, event_table, notification_table = Ticket.__table__, TicketEvent.__table__, Notification.__table__
    tickets, events, notifications = [], [], []
    event_id = 0
    audit = sizes.get("audit", False)

    def event(ticket_id, at, kind, party=None, from_status=None, to_status=None, reason=None):
        nonlocal event_id
        event_id += 1
        events.append(dict(id=event_id, ticket_id=ticket_id, at=at, kind=kind, actor_user_id=None,
                           party_id=party, from_status=from_status, to_status=to_status,
                           reason_code=reason, note=None, data=None))
        if kind == "offered" and not audit:  # as service.notify_offer leaves them: in-app, mostly read
            deadline = at + timedelta(minutes=15)
            for admin in admins_of[party]:
                notifications.append(dict(
                    user_id=admin, kind="offer", dedup_key=f"offer:{ticket_id}:{deadline.isoformat()}",
                    subject=f"工单 #{ticket_id} 已派给您", body="请在截止时间前接受或拒绝。",
                    link=f"/tickets/{ticket_id}", status="app_only", attempts=0, last_error=None,
                    created_at=at, sent_at=None, read_at=at + timedelta(hours=1) if rng.random() < 0.9 else None))

    def flush_tickets():
        insert(ticket_table, tickets)
        insert(event_table, events)
        insert(notification_table, notifications)
        tickets.clear()
        events.clear()
        notifications.clear()

    held_statuses = ("accepted", "in_progress", "waiting_on_customer")
    causes = ("no_coverage", "no_certified_engineer", "all_at_capacity", "all_declined", "all_expired")
    # Tickets count back from NOW over two years; an audit scale's from the end of AUDIT_YEAR over it.
    anchor, span_days = (AUDIT_YEAR_END, (AUDIT_YEAR[1] - AUDIT_YEAR[0]).days + 1) if audit else (NOW, 730)
    for ticket_id in range(1, sizes["tickets"] + 1):
        customer = rng.randrange(1, sizes["customers"] + 1)
        contract, held = rng.choice(contracts_of[customer])
        region = region_of[customer]
        province = region[:2] + "0000"
        local = by_province[province] or partner_ids
        draw = rng.random()
        if draw < 0.80:
            status = "closed"
        elif draw < 0.86:
            status = "resolved"
        elif draw < 0.93:
            status = rng.choice(held_statuses)
        elif draw < 0.945:
            status = "hq_queue"
        elif draw < 0.95:
            status = "offered"
        else:
            status = "served_by_hq"
        recent = status in held_statuses + ("hq_queue", "offered")
        created = anchor - timedelta(minutes=rng.randrange(60, 14 * 24 * 60 if recent else span_days * 24 * 60))
        owner = offered = deadline = cause = engineer = None
        steps = [("created", None, None, "new")]
        if status in ("closed", "resolved") or status in held_statuses:
            owner = rng.choice(active_in[province] or local) if status in held_statuses else rng.choice(local)
            if rng.random() < 0.12:
                other = rng.choice(local)
                steps += [("offered", other, "new", "offered"), ("declined", other, "offered", "new")]
            else:
                steps += [("offered", owner, "new", "offered")]
            steps += [("accepted", owner, "offered", "accepted")]
            if audit and status in ("closed", "resolved") and rng.random() < RETURNED:
                # Returned after accepting: queued at HQ with that cause, taken and finished there.
                steps += [("returned_to_hq", owner, "accepted", "hq_queue"), ("queued_to_hq", None, "accepted", "hq_queue"),
                          ("taken_by_hq", hq_id, "hq_queue", "accepted")]
                owner, cause = hq_id, "returned_by_partner"
            if status in ("closed", "resolved") and len(steps) < 4:
                steps += [("status_changed", owner, "accepted", status)]
            engineer = rng.choice(staff[owner]) if staff[owner] else None
        elif status == "hq_queue":
            cause = rng.choice(causes)
            if cause == "no_coverage":
                steps += [("queued_to_hq", None, "new", "hq_queue")]
            else:
                other = rng.choice(local)
                steps += [("offered", other, "new", "offered"),
                          ("offer_expired" if cause == "all_expired" else "declined", other, "offered", "new"),
                          ("queued_to_hq", None, "new", "hq_queue")]
        elif status == "offered":
            offered = rng.choice(local)
            deadline = created + timedelta(minutes=15)
            steps += [("offered", offered, "new", "offered")]
        else:  # served by HQ: queued, taken, closed
            status, owner = "closed", hq_id
            steps += [("queued_to_hq", None, "new", "hq_queue"), ("taken_by_hq", hq_id, "hq_queue", "accepted")]
        line = rng.choice(held)
        # Audit scales: most finished within the eight-hour resolution target, as the SLA events say.
        closed = created + (timedelta(minutes=rng.randint(30, 560)) if audit else timedelta(hours=rng.randint(1, 72)))
        tier = weighted(rng, TIER_WEIGHTS)
        tickets.append(dict(
            id=ticket_id, customer_id=customer, contract_id=contract, region_code=region,
            product_line_id=line, complexity="simple" if rng.random() < 0.6 else "complex",
            channel=rng.choice(["phone", "email", "im", "web", "api"]), tier=tier, billable=False,
            billable_reason=None, subject=f"历史工单 {ticket_id}", description="", status=status,
            owner_party_id=owner, offered_party_id=offered, offer_deadline=deadline,
            hq_queue_cause=cause, engineer_id=engineer, route=None,
            response_due_at=created + timedelta(minutes=30), resolution_due_at=created + timedelta(hours=8),
            responded_at=created + timedelta(minutes=20) if owner else None,
            resolved_at=closed if status in ("resolved", "closed") else None,
            closed_at=closed if status == "closed" else None,
            paused_at=created + timedelta(hours=1) if status == "waiting_on_customer" else None,
            created_by_id=None, created_at=created,
            updated_at=closed if status in ("resolved", "closed") else created))
        at = created
        for kind, party, before, after in steps:
            event(ticket_id, at, kind, party, before, after, cause if kind == "queued_to_hq" else None)
            at += timedelta(minutes=rng.randint(1, 20))
        if audit and status in ("resolved", "closed"):  # the resolution target, met or breached, once
            event(ticket_id, max(at, closed), "resolution_met" if closed <= created + timedelta(hours=8)
                  else "resolution_breached")
        if len(tickets) >= CHUNK:
            flush_tickets()
    flush_tickets()
    log(f"  {counts['ticket']:,} tickets, {counts['ticket_event']:,} ticket events, "
        f"{counts['notification']:,} notifications to {len(users):,} partner administrators")
    return counts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="tenth")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--force", action="store_true", help="generate even when a cached file exists")
    args = parser.parse_args(argv)
    path = database_path(args.scale, args.seed)
    if args.force and path.exists():
        path.unlink()
    print(ensure_database(args.scale, args.seed))


if __name__ == "__main__":
    main()
