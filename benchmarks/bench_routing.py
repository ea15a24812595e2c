"""How long one routing decision takes, at a tenth of the full scale and at the full scale.

    python benchmarks/bench_routing.py              # what `make bench` runs
    python benchmarks/bench_routing.py --profile    # plus a cProfile of routing at the full scale

For each scale, a cached database from generate.py is copied to a working file and 2,000 new
tickets (a random customer's county, product line and tier, drawn from a fixed seed) are added
with status 'new'. Each ticket is then routed once through the product's own path,
partnernet.tickets.service.route(ticket, now), in a fresh session whose transaction is rolled
back afterwards. The floor is one hand-written SQL query fetching the same candidate coverage rows
(coverage joined with party, for the ticket's region chain, effective today, covering the line).

Both scales and both measurements run interleaved in one process, ticket by ticket, in
alternating order, so the ratios compare figures taken side by side on a shared, noisy machine.
The script reports and exits 0; it prints TARGET MISSED when a target is not met.
"""
import argparse
import cProfile
import functools
import io
import os
import platform
import pstats
import random
import shutil
import sqlite3
import statistics
import sys
import time
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path

import generate  # benchmarks/generate.py, next to this script

import sqlalchemy as sa  # noqa: E402  (generate.py puts the project on sys.path)

from partnernet import create_app, routing  # noqa: E402
from partnernet.extensions import db  # noqa: E402
from partnernet.network.models import ProductLine  # noqa: E402
from partnernet.regions.models import Region  # noqa: E402
from partnernet.tickets import routing_data, service  # noqa: E402
from partnernet.tickets.models import Ticket, TicketEvent  # noqa: E402
from partnernet.timeclock import today_in_china  # noqa: E402

TARGET_RATIO = 3.0
TARGET_GROWTH = 1.5
# tenth and full: the same density at two sizes (growth with the tables); dense: the full scale's
# regions with ten times the partners (growth with the candidates per ticket, reported, no target).
SCALES = ("tenth", "full", "dense")
NOW = generate.NOW

# The floor: the candidate coverage rows, in one query, written by hand.
FLOOR_SQL = sa.text("""
    SELECT c.id, c.party_id, c.region_code, c.tier_l1, c.tier_l2, c.tier_l3,
           p.name, p.kind, p.status, p.capacity, p.tier_l1, p.tier_l2, p.tier_l3
    FROM coverage AS c JOIN party AS p ON p.id = c.party_id
    WHERE c.region_code IN (:r0, :r1, :r2) AND p.kind <> 'hq'
      AND c.effective_from <= :day AND (c.effective_to IS NULL OR c.effective_to >= :day)
      AND (c.all_product_lines OR EXISTS (
            SELECT 1 FROM coverage_product_line AS l
            WHERE l.coverage_id = c.id AND l.product_line_id = :line))
""")


class Breakdown:
    """Where a decision's time goes: thin timers around the functions route() calls.

    The functions stay the product's own; each is wrapped so that its time inside one route()
    call is added up (a wrapper costs about a microsecond). notify_offer's figure includes the
    autoflush of the ticket and its event, which its first query triggers.
    """

    PARTS = (("load_settings", service, "load_settings"), ("gather", routing_data, "gather"),
             ("decide", routing, "decide"), ("notify_offer", service, "notify_offer"))

    def __init__(self):
        self.current = defaultdict(float)
        self.parts = [name for name, module, attribute in self.PARTS if hasattr(module, attribute)]
        for name, module, attribute in self.PARTS:
            if hasattr(module, attribute):
                setattr(module, attribute, self._timed(name, getattr(module, attribute)))

    def _timed(self, name, function):
        @functools.wraps(function)
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.current[name] += time.perf_counter() - started
        return timed

    def start(self):
        self.current.clear()


BREAKDOWN = None  # installed by main() once the floor check has run


class Scale:
    """One scale's database: a working copy of the cached file, its app and its new tickets."""

    def __init__(self, name: str, cached: Path, workdir: Path):
        self.name = name
        self.path = workdir / f"{name}.sqlite"
        shutil.copyfile(cached, self.path)
        self.app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(self.path)})
        self.decision_times, self.route_times, self.flush_times, self.floor_times = [], [], [], []
        self.parts = defaultdict(list)
        self.outcomes = Counter()
        self.candidate_rows = 0

    def add_new_tickets(self, count: int, seed: int) -> None:
        """`count` tickets with status 'new', committed, as intake creates them before routing."""
        rng = random.Random(f"{seed}-{self.name}-new-tickets")
        with self.app.app_context():
            parents = dict(db.session.execute(sa.select(Region.code, Region.parent_code)).all())
            lines = dict(db.session.execute(sa.select(ProductLine.code, ProductLine.id)).all())
            customers = db.session.execute(sa.text(
                "SELECT id, region_code, (SELECT min(id) FROM contract WHERE customer_id = customer.id) "
                "FROM customer ORDER BY id")).all()
            first_id = db.session.execute(sa.select(sa.func.max(Ticket.id))).scalar_one() + 1
            first_event = db.session.execute(sa.select(sa.func.max(TicketEvent.id))).scalar_one() + 1
            tickets, events, self.specs = [], [], []
            for offset in range(count):
                customer, region, contract = rng.choice(customers)
                line = lines[generate.weighted(rng, generate.LINE_WEIGHTS)]
                tier = generate.weighted(rng, generate.TIER_WEIGHTS)
                ticket_id = first_id + offset
                created = NOW - timedelta(seconds=count - offset)
                tickets.append(dict(
                    id=ticket_id, customer_id=customer, contract_id=contract, region_code=region,
                    product_line_id=line, complexity="simple", channel="phone", tier=tier, billable=False,
                    billable_reason=None, subject=f"基准工单 {offset}", description="", status="new",
                    created_at=created, updated_at=created))
                events.append(dict(id=first_event + offset, ticket_id=ticket_id, at=created, kind="created",
                                   to_status="new"))
                chain = [region]
                while parents.get(chain[-1]):
                    chain.append(parents[chain[-1]])
                self.specs.append((ticket_id, chain, line))
            db.session.execute(sa.insert(Ticket.__table__), tickets)
            db.session.execute(sa.insert(TicketEvent.__table__), events)
            db.session.commit()

    def floor_params(self, spec) -> dict:
        _ticket_id, chain, line = spec
        padded = (chain + chain[-1:] * 3)[:3]
        return {"r0": padded[0], "r1": padded[1], "r2": padded[2], "line": line,
                "day": today_in_china(NOW).isoformat()}

    def check_floor(self) -> int:
        """The floor must fetch the coverage rows routing gathers: count the tickets where not."""
        mismatches = 0
        with self.app.app_context():
            day = today_in_china(NOW)
            for spec in self.specs:
                floor = sorted((r.party_id, r.region_code) for r in db.session.execute(FLOOR_SQL, self.floor_params(spec)))
                ticket = db.session.get(Ticket, spec[0])
                product = sorted((c.party_id, c.region_code) for c in routing_data.gather(ticket, day)[1])
                mismatches += floor != product
                self.candidate_rows += len(floor)
        return mismatches

    def measure_one(self, spec, floor_first: bool, record: bool) -> None:
        """Route one ticket (and run the floor query for it) in a fresh session; roll back."""
        with self.app.app_context():
            ticket = db.session.get(Ticket, spec[0])  # untimed: the ticket as intake holds it
            params = self.floor_params(spec)
            settings = service.load_settings()  # read once per batch, as the scheduler does
            if floor_first:
                floor = self._floor(params)
            started = time.perf_counter()
            service.decide_for(ticket, NOW, settings)
            decided = time.perf_counter()
            if not floor_first:
                floor = self._floor(params)
            BREAKDOWN.start()
            started_route = time.perf_counter()
            decision = service.route(ticket, NOW)
            routed = time.perf_counter()
            db.session.flush()  # the decision's writes: the ticket and its event
            flushed = time.perf_counter()
            db.session.rollback()
        if record:
            self.decision_times.append(decided - started)
            self.route_times.append(routed - started_route)
            self.flush_times.append(flushed - started_route)
            self.floor_times.append(floor)
            self.outcomes["offered" if decision.offered_party_id else decision.cause] += 1
            for name in BREAKDOWN.parts:
                self.parts[name].append(BREAKDOWN.current.get(name, 0.0))

    @staticmethod
    def _floor(params) -> float:
        started = time.perf_counter()
        db.session.execute(FLOOR_SQL, params).all()
        return time.perf_counter() - started

    def close(self):
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()


def p(values, q: int) -> float:
    """The q-th percentile, in milliseconds."""
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        memory_kib = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
        memory = f"{memory_kib / 2**20:.1f} GiB RAM"
    except OSError:
        memory = "RAM unknown"
    return (f"{os.cpu_count()} CPUs ({model}), {memory}, Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}, SQLAlchemy {sa.__version__}")


def profile_routing(scale: Scale, count: int) -> None:
    profiler = cProfile.Profile()
    for spec in scale.specs[:count]:
        with scale.app.app_context():
            ticket = db.session.get(Ticket, spec[0])
            profiler.enable()
            service.route(ticket, NOW)
            profiler.disable()
            db.session.rollback()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
    print(f"\ncProfile of service.route at the {scale.name} scale, {count} tickets (cumulative):")
    print(out.getvalue())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Routing benchmark: p50/p95 per decision, ratio to a floor query, growth.")
    parser.add_argument("--tickets", type=int, default=2000, help="measured routing decisions per scale")
    parser.add_argument("--warmup", type=int, default=200, help="decisions per scale before measuring")
    parser.add_argument("--seed", type=int, default=generate.DEFAULT_SEED)
    parser.add_argument("--profile", action="store_true", help="also profile routing at the largest scale")
    parser.add_argument("--scales", nargs="+", choices=SCALES, default=list(SCALES),
                        help="the scales to measure side by side (default: all three)")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    print(f"partnernet routing benchmark — {machine()}")
    cached = {name: generate.ensure_database(name, args.seed) for name in SCALES if name in args.scales}
    workdir = generate.DATA_DIR / "work"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    scales = [Scale(name, path, workdir) for name, path in cached.items()]
    try:
        for scale in scales:
            scale.add_new_tickets(args.warmup + args.tickets, args.seed)
            mismatches = scale.check_floor()
            if mismatches:
                print(f"WARNING [{scale.name}]: the floor query and routing_data.candidates disagree "
                      f"on {mismatches} tickets")

        global BREAKDOWN
        BREAKDOWN = Breakdown()
        # Warm up, then measure: ticket i of each scale in turn, alternating which scale goes
        # first and whether the floor runs before or after routing.
        for phase, first, last in (("warm-up", 0, args.warmup), ("measure", args.warmup, args.warmup + args.tickets)):
            for i in range(first, last):
                order = scales if i % 2 == 0 else scales[::-1]
                for scale in order:
                    scale.measure_one(scale.specs[i], floor_first=(i // 2) % 2 == 0, record=phase == "measure")

        report(scales, args.tickets)
        if args.profile:
            profile_routing(scales[-1], 500)
    finally:
        for scale in scales:
            scale.close()
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\nbenchmark took {time.perf_counter() - started:.0f} s in all")
    return 0


def report(scales, count: int) -> None:
    print(f"\nRouting {count:,} new tickets per scale; times per ticket in ms. decision = "
          "service.decide_for(ticket, now, settings): the data in one query and the pure decision; "
          "floor = one hand-written SQL query for the same candidate coverage rows; route = the decision "
          "applied (ticket, event, notifications), +flush = with those writes flushed")
    header = (f"{'scale':<6} {'cand/tkt':>8} {'decision p50':>12} {'decision p95':>12} {'floor p50':>9} "
              f"{'floor p95':>9} {'ratio p50':>9} {'route p50':>9} {'+flush p50':>10}")
    print(header)
    print("-" * len(header))
    by_name = {s.name: s for s in scales}
    missed = []
    for scale in scales:
        ratio = p(scale.decision_times, 50) / p(scale.floor_times, 50)
        print(f"{scale.name:<6} {scale.candidate_rows / len(scale.specs):>8.1f} "
              f"{p(scale.decision_times, 50):>12.3f} {p(scale.decision_times, 95):>12.3f} "
              f"{p(scale.floor_times, 50):>9.3f} {p(scale.floor_times, 95):>9.3f} {ratio:>9.1f} "
              f"{p(scale.route_times, 50):>9.2f} {p(scale.flush_times, 50):>10.2f}")
        if ratio > TARGET_RATIO:
            missed.append(f"TARGET MISSED [{scale.name}]: ratio p50(decision)/p50(floor) = {ratio:.1f} > {TARGET_RATIO:g}")

    def growth(large, small):
        return {kind: p(getattr(large, f"{kind}_times"), 50) / p(getattr(small, f"{kind}_times"), 50)
                for kind in ("decision", "route", "floor")}

    if {"tenth", "full"} <= by_name.keys():
        grown = growth(by_name["full"], by_name["tenth"])
        print(f"\ngrowth p50(full)/p50(tenth): decision {grown['decision']:.2f}, route {grown['route']:.2f}, "
              f"floor {grown['floor']:.2f} (for context)")
        if grown["decision"] > TARGET_GROWTH:
            missed.append(f"TARGET MISSED: growth of decision p50 from tenth to full = {grown['decision']:.2f} > {TARGET_GROWTH:g}")
    if {"full", "dense"} <= by_name.keys():
        full, dense = by_name["full"], by_name["dense"]
        grown = growth(dense, full)
        per_ticket = {s.name: s.candidate_rows / len(s.specs) for s in (full, dense)}
        extra = max(per_ticket["dense"] - per_ticket["full"], 1e-9)
        per_candidate = {kind: (p(getattr(dense, f"{kind}_times"), 50) - p(getattr(full, f"{kind}_times"), 50)) / extra
                         for kind in ("decision", "floor")}
        print(f"growth p50(dense)/p50(full), with x{per_ticket['dense'] / per_ticket['full']:.1f} the candidates per "
              f"ticket: decision {grown['decision']:.2f}, route {grown['route']:.2f}, floor {grown['floor']:.2f}; "
              f"each extra candidate adds {per_candidate['decision']:.4f} ms to the decision, "
              f"{per_candidate['floor']:.4f} ms to the floor")
    print("\nwhere route()'s time goes, p50 in ms:")
    parts = BREAKDOWN.parts
    print(f"{'scale':<6} " + " ".join(f"{name:>13}" for name in parts))
    for scale in scales:
        print(f"{scale.name:<6} " + " ".join(f"{p(scale.parts[name], 50):>13.2f}" for name in parts))
    for scale in scales:
        shares = ", ".join(f"{k} {v / count:.0%}" for k, v in scale.outcomes.most_common())
        print(f"outcomes [{scale.name}]: {shares}")
    print()
    for line in missed:
        print(line)
    if not missed:
        print(f"targets met: ratio <= {TARGET_RATIO:g} at every scale, growth tenth to full <= {TARGET_GROWTH:g}")


if __name__ == "__main__":
    sys.exit(main())
