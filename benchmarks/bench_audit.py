"""How long the push-back audit takes over 100,000 and 1,000,000 tickets, and how much memory.

    python benchmarks/bench_audit.py              # what `make bench` runs: SQLite, then PostgreSQL
    python benchmarks/bench_audit.py --profile    # plus a cProfile of the audit at 1,000,000 tickets
    python benchmarks/bench_audit.py --only postgresql [--postgres URL]

generate.py builds (once, then cached) the full network with one year of tickets and all their
events, at two scales: audit-100k and audit-1m. The audit runs over that whole year, so it reads
every ticket. The product's path is partnernet.audit.measures.measure_partners(first day, last day,
as_of): the measures of every partner, as service.start_run stores them. The floor is one
hand-written SQL query (FLOOR_SQL) that returns the same numbers; the script checks that they are
equal. Both run side by side in one process, in alternating order, on the same connection settings.

The same runs on PostgreSQL, on pgcopy.py's cached copy of each scale (the server: --postgres URL,
else BENCH_POSTGRES_URL, else the development server; without one that answers, that part prints
why it was skipped), against FLOOR_SQL_PG, a floor written for PostgreSQL.

Each scale is measured in a fresh subprocess, so that its memory figures are its own:
- tracemalloc peak: the most memory Python objects held at once during one audit;
- peak RSS: the process's resident memory at its highest during one audit (VmHWM, reset just
  before the audit through /proc/self/clear_refs), which also counts what SQLite allocates (its
  page cache, sorters and temporary b-trees) and the Flask app loaded before;
- growth: that peak minus the resident memory just before the audit.
The first audit of each subprocess is the memory run; the timed rounds follow it.
The script reports and exits 0; it prints TARGET MISSED when a target is not met.
"""
import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

import generate  # benchmarks/generate.py, next to this script
import pgcopy  # benchmarks/pgcopy.py: the PostgreSQL copy of a scale
from bench_routing import machine  # noqa: E402  (one description of the machine for both benchmarks)

import sqlalchemy as sa  # noqa: E402  (generate.py puts the project on sys.path)

from partnernet import create_app  # noqa: E402
from partnernet.audit.measures import measure_partners, period_bounds  # noqa: E402
from partnernet.db_types import UTCDateTime  # noqa: E402
from partnernet.extensions import db  # noqa: E402

SCALES = ("audit-100k", "audit-1m")
DATABASES = ("sqlite", "postgresql")
ROUNDS = {"audit-100k": 5, "audit-1m": 2}  # timed rounds of each side: about a minute at 1M per round
PERIOD = generate.AUDIT_YEAR
WEEK = (PERIOD[1] - timedelta(days=6), PERIOD[1])  # the scheduler's weekly run, for context
AS_OF = generate.NOW  # the moment of the run: after the period, as start_run requires
TARGET_RATIO = 2.0
TARGET_PEAK_MB = 300
# "Not growing with the ticket count": the audit's own memory (Python peak, RSS growth) at 1M may
# exceed its memory at 100k by this much at most, in MiB or as a share, whichever is larger.
GROWTH_TOLERANCE_MB, GROWTH_TOLERANCE_SHARE = 10, 0.25
MEASURES = ("offered", "accepted", "declined", "expired", "returned", "sold_tickets", "sold_not_served",
            "sla_kept", "sla_met")

# The floor: every partner's measures in one statement, written by hand for SQLite. It reads offer
# counts from the (party_id, kind, at) index alone (INDEXED BY: without statistics SQLite would
# take the (kind, at) index and look up each event's row), and everything per ticket through
# (ticket_id, kind, at).
FLOOR_SQL = sa.text("""
WITH offers AS (
    SELECT party_id,
           SUM(CASE WHEN kind = 'offered' THEN 1 ELSE 0 END) AS offered,
           SUM(CASE WHEN kind = 'accepted' THEN 1 ELSE 0 END) AS accepted,
           SUM(CASE WHEN kind = 'declined' THEN 1 ELSE 0 END) AS declined,
           SUM(CASE WHEN kind = 'offer_expired' THEN 1 ELSE 0 END) AS expired,
           SUM(CASE WHEN kind = 'returned_to_hq' THEN 1 ELSE 0 END) AS returned
    FROM ticket_event INDEXED BY ix_ticket_event_party_kind_at
    WHERE kind IN ('offered', 'accepted', 'declined', 'offer_expired', 'returned_to_hq')
      AND at >= :start AND at < :end AND party_id IS NOT NULL
    GROUP BY party_id
), kept AS (
    SELECT DISTINCT a.party_id, a.ticket_id
    FROM ticket_event AS a
    WHERE a.kind = 'accepted' AND a.at >= :start AND a.at < :end AND a.party_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM ticket_event AS r
                      WHERE r.ticket_id = a.ticket_id AND r.kind = 'returned_to_hq'
                        AND r.at <= :as_of AND r.party_id = a.party_id)
), sla AS (
    SELECT k.party_id,
           SUM(CASE WHEN EXISTS (SELECT 1 FROM ticket_event AS o
                                 WHERE o.ticket_id = k.ticket_id AND o.at <= :as_of
                                   AND o.kind IN ('resolution_met', 'resolution_breached'))
               THEN 1 ELSE 0 END) AS sla_kept,
           SUM(CASE WHEN EXISTS (SELECT 1 FROM ticket_event AS o
                                 WHERE o.ticket_id = k.ticket_id AND o.kind = 'resolution_met' AND o.at <= :as_of)
               THEN 1 ELSE 0 END) AS sla_met
    FROM kept AS k
    GROUP BY k.party_id
), handover AS (
    SELECT e.ticket_id,
           MAX(CASE WHEN e.kind = 'queued_to_hq' THEN e.id END) AS queued,
           MAX(CASE WHEN e.kind = 'offered' THEN e.id END) AS offered
    FROM ticket_event AS c
    JOIN ticket_event AS e ON e.ticket_id = c.ticket_id
    WHERE c.kind = 'created' AND c.at >= :start AND c.at < :end
      AND e.kind IN ('queued_to_hq', 'offered') AND e.at <= :as_of
    GROUP BY e.ticket_id
), sold AS (
    SELECT COALESCE(k.sold_by_party_id, cu.sold_by_party_id) AS party_id,
           COUNT(*) AS sold_tickets,
           SUM(CASE WHEN h.queued IS NOT NULL AND (h.offered IS NULL OR h.queued > h.offered)
               THEN 1 ELSE 0 END) AS sold_not_served
    FROM ticket_event AS c
    JOIN ticket AS t ON t.id = c.ticket_id
    JOIN customer AS cu ON cu.id = t.customer_id
    LEFT JOIN contract AS k ON k.id = t.contract_id
    LEFT JOIN handover AS h ON h.ticket_id = t.id
    WHERE c.kind = 'created' AND c.at >= :start AND c.at < :end
    GROUP BY 1
)
SELECT p.id,
       COALESCE(o.offered, 0), COALESCE(o.accepted, 0), COALESCE(o.declined, 0),
       COALESCE(o.expired, 0), COALESCE(o.returned, 0),
       COALESCE(s.sold_tickets, 0), COALESCE(s.sold_not_served, 0),
       COALESCE(l.sla_kept, 0), COALESCE(l.sla_met, 0)
FROM party AS p
LEFT JOIN offers AS o ON o.party_id = p.id
LEFT JOIN sla AS l ON l.party_id = p.id
LEFT JOIN sold AS s ON s.party_id = p.id
WHERE p.kind <> 'hq'
  AND (p.status <> 'terminated' OR o.party_id IS NOT NULL OR l.party_id IS NOT NULL OR s.party_id IS NOT NULL)
ORDER BY p.id
""").bindparams(*(sa.bindparam(name, type_=UTCDateTime()) for name in ("start", "end", "as_of")))

# The floor on PostgreSQL: the same numbers in one statement, written the way PostgreSQL reads best
# (FILTER aggregates; each ticket's resolution outcome aggregated once and joined, rather than two
# EXISTS probes per kept ticket; the hand-over ids per ticket in one pass). No hints: the planner
# has the statistics VACUUM ANALYZE left.
FLOOR_SQL_PG = sa.text("""
WITH offers AS (
    SELECT party_id,
           count(*) FILTER (WHERE kind = 'offered') AS offered,
           count(*) FILTER (WHERE kind = 'accepted') AS accepted,
           count(*) FILTER (WHERE kind = 'declined') AS declined,
           count(*) FILTER (WHERE kind = 'offer_expired') AS expired,
           count(*) FILTER (WHERE kind = 'returned_to_hq') AS returned
    FROM ticket_event
    WHERE kind IN ('offered', 'accepted', 'declined', 'offer_expired', 'returned_to_hq')
      AND at >= :start AND at < :end AND party_id IS NOT NULL
    GROUP BY party_id
), kept AS (
    SELECT DISTINCT a.party_id, a.ticket_id
    FROM ticket_event AS a
    WHERE a.kind = 'accepted' AND a.at >= :start AND a.at < :end AND a.party_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM ticket_event AS r
                      WHERE r.ticket_id = a.ticket_id AND r.kind = 'returned_to_hq'
                        AND r.at <= :as_of AND r.party_id = a.party_id)
), outcome AS (
    SELECT ticket_id, bool_or(kind = 'resolution_met') AS met
    FROM ticket_event
    WHERE kind IN ('resolution_met', 'resolution_breached') AND at <= :as_of
    GROUP BY ticket_id
), sla AS (
    SELECT k.party_id, count(o.ticket_id) AS sla_kept, count(*) FILTER (WHERE o.met) AS sla_met
    FROM kept AS k LEFT JOIN outcome AS o ON o.ticket_id = k.ticket_id
    GROUP BY k.party_id
), opened AS (
    SELECT ticket_id FROM ticket_event WHERE kind = 'created' AND at >= :start AND at < :end
), handover AS (
    SELECT e.ticket_id,
           max(e.id) FILTER (WHERE e.kind = 'queued_to_hq') AS queued,
           max(e.id) FILTER (WHERE e.kind = 'offered') AS offered
    FROM ticket_event AS e JOIN opened USING (ticket_id)
    WHERE e.kind IN ('queued_to_hq', 'offered') AND e.at <= :as_of
    GROUP BY e.ticket_id
), sold AS (
    SELECT COALESCE(k.sold_by_party_id, cu.sold_by_party_id) AS party_id,
           count(*) AS sold_tickets,
           count(*) FILTER (WHERE h.queued IS NOT NULL AND (h.offered IS NULL OR h.queued > h.offered))
               AS sold_not_served
    FROM opened AS c
    JOIN ticket AS t ON t.id = c.ticket_id
    JOIN customer AS cu ON cu.id = t.customer_id
    LEFT JOIN contract AS k ON k.id = t.contract_id
    LEFT JOIN handover AS h ON h.ticket_id = t.id
    GROUP BY 1
)
SELECT p.id,
       COALESCE(o.offered, 0), COALESCE(o.accepted, 0), COALESCE(o.declined, 0),
       COALESCE(o.expired, 0), COALESCE(o.returned, 0),
       COALESCE(s.sold_tickets, 0), COALESCE(s.sold_not_served, 0),
       COALESCE(l.sla_kept, 0), COALESCE(l.sla_met, 0)
FROM party AS p
LEFT JOIN offers AS o ON o.party_id = p.id
LEFT JOIN sla AS l ON l.party_id = p.id
LEFT JOIN sold AS s ON s.party_id = p.id
WHERE p.kind <> 'hq'
  AND (p.status <> 'terminated' OR o.party_id IS NOT NULL OR l.party_id IS NOT NULL OR s.party_id IS NOT NULL)
ORDER BY p.id
""").bindparams(*(sa.bindparam(name, type_=UTCDateTime()) for name in ("start", "end", "as_of")))


# --- in the subprocess: one scale ---------------------------------------------------------------

def resident_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MiB, from /proc/self/status."""
    values = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                values[line.split(":")[0]] = int(line.split()[1]) / 1024
    return values["VmRSS"], values["VmHWM"]


def reset_peak_rss() -> bool:
    """Start the peak (VmHWM) afresh from the current resident size; False where Linux says no."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
            clear.write("5")
        return True
    except OSError:
        return False


def audit(period):
    """The product's path: every partner's measures, as rows of plain numbers."""
    return [(m.party_id, *(getattr(m, name) for name in MEASURES)) for m in measure_partners(*period, AS_OF)]


def floor(period):
    start, end = period_bounds(*period)
    statement = FLOOR_SQL_PG if db.engine.dialect.name == "postgresql" else FLOOR_SQL
    return [tuple(int(v) for v in row) for row in db.session.execute(statement, {"start": start, "end": end, "as_of": AS_OF})]


class Watchdog:
    """Interrupts the statement running after `budget` seconds (SQLite's interrupt, PostgreSQL's
    cancel): a slow audit ends the benchmark's wait, not the benchmark."""

    def __init__(self, budget: float):
        self.budget = budget

    def __call__(self, function, *args):
        raw = db.session.connection().connection.driver_connection
        timer = threading.Timer(self.budget, raw.cancel if db.engine.dialect.name == "postgresql" else raw.interrupt)
        timer.start()
        try:
            return function(*args)
        finally:
            timer.cancel()


def timed(function, *args) -> tuple[float, list]:
    started = time.perf_counter()
    rows = function(*args)
    return time.perf_counter() - started, rows


def measure_scale(scale: str, seed: int, rounds: int, budget: float, profile: bool, url: str | None = None) -> dict:
    """One scale, on SQLite (generate.py's file) or, given `url`, on its PostgreSQL copy."""
    if url is None:
        path = generate.database_path(scale, seed)
        if not path.exists():  # the parent generates it first; this is for a --measure run on its own
            generate.ensure_database(scale, seed, log=lambda message: print(message, file=sys.stderr))
        url = "sqlite:///" + str(path)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    result = {"scale": scale, "db": app.config["SQLALCHEMY_DATABASE_URI"].split(":")[0].split("+")[0]}
    guard = Watchdog(budget)
    with app.app_context():
        counts = db.session.execute(sa.text(
            "SELECT (SELECT count(*) FROM ticket), (SELECT count(*) FROM ticket_event), "
            "(SELECT count(*) FROM party WHERE kind <> 'hq')")).one()
        result.update(tickets=counts[0], events=counts[1], partners=counts[2])
        db.session.rollback()

        # Memory: one audit, nothing else in between.
        rss_before, _ = resident_mb()
        result["peak_reset"] = reset_peak_rss()
        tracemalloc.start()
        try:
            seconds, product_rows = timed(guard, audit, PERIOD)
        except sa.exc.OperationalError as error:
            tracemalloc.stop()
            result.update(error=f"the audit did not finish within {budget:.0f} s ({error.orig})")
            return result
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        _, rss_peak = resident_mb()
        result.update(first_audit_s=seconds, traced_peak_mb=traced_peak / 2**20, rss_before_mb=rss_before,
                      rss_peak_mb=rss_peak, rss_growth_mb=rss_peak - rss_before)
        db.session.rollback()

        # The floor, once for its own memory; its rows must be the product's.
        rss_before, _ = resident_mb()
        reset_peak_rss()
        seconds, floor_rows = timed(floor, PERIOD)
        result.update(floor_rss_growth_mb=resident_mb()[1] - rss_before, first_floor_s=seconds,
                      mismatches=sum(a != b for a, b in zip(product_rows, floor_rows))
                      + abs(len(product_rows) - len(floor_rows)), rows=len(product_rows))
        db.session.rollback()

        # Time: rounds of both, alternating which goes first; the year, then a week for context.
        for name, period, count in (("year", PERIOD, rounds), ("week", WEEK, 5)):
            times = {"audit": [], "floor": []}
            for i in range(count):
                order = (("audit", audit), ("floor", floor))
                for label, function in (order if i % 2 == 0 else order[::-1]):
                    seconds, _rows = timed(guard, function, period)
                    times[label].append(seconds)
                    db.session.rollback()
            result[name] = {label: statistics.median(values) for label, values in times.items()}

        if profile:
            profiler = cProfile.Profile()
            profiler.enable()
            audit(PERIOD)
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
            result["profile"] = out.getvalue()
        db.session.remove()
        db.engine.dispose()
    return result


# --- in the parent: generate, run each scale in its own process, report -----------------------------

def run_scale(scale: str, args, url: str | None = None) -> dict:
    rounds = args.rounds or ROUNDS[scale]
    command = [sys.executable, __file__, "--measure", scale, "--rounds", str(rounds), "--budget",
               str(args.budget), "--seed", str(args.seed)] + (["--profile"] if args.profile and scale == SCALES[-1] else [])
    command += ["--url", url] if url else []
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        return {"scale": scale, "db": "postgresql" if url else "sqlite",
                "error": f"the measuring process exited with {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(results: list[dict], skipped: str | None = None) -> None:
    print(f"\nThe push-back audit over one year of tickets ({PERIOD[0]} to {PERIOD[1]}), every partner; "
          "times in seconds, medians. audit = measures.measure_partners (the product's path); floor = one "
          "hand-written SQL query for that database returning the same numbers; memory in MiB during one audit, "
          "in the benchmark's process (on PostgreSQL the server's memory is not counted)")
    header = (f"{'db':<10} {'scale':<10} {'tickets':>9} {'events':>10} {'audit':>7} {'floor':>7} {'ratio':>6} "
              f"{'week audit':>10} {'week floor':>10} {'py peak':>8} {'RSS peak':>8} {'RSS growth':>10}")
    print(header)
    print("-" * len(header))
    missed = []
    for r in results:
        where = f"{r['db']} {r['scale']}"
        if "error" in r:
            print(f"{r['db']:<10} {r['scale']:<10} {r.get('tickets', 0):>9,} {r.get('events', 0):>10,}  {r['error']}")
            missed.append(f"TARGET MISSED [{where}]: {r['error']}")
            continue
        ratio = r["year"]["audit"] / r["year"]["floor"]
        print(f"{r['db']:<10} {r['scale']:<10} {r['tickets']:>9,} {r['events']:>10,} {r['year']['audit']:>7.2f} "
              f"{r['year']['floor']:>7.2f} {ratio:>6.2f} {r['week']['audit']:>10.3f} {r['week']['floor']:>10.3f} "
              f"{r['traced_peak_mb']:>8.2f} {r['rss_peak_mb']:>8.1f} {r['rss_growth_mb']:>10.1f}")
        if r["mismatches"]:
            print(f"WARNING [{where}]: the floor and the audit disagree on {r['mismatches']} of {r['rows']} partners")
        if ratio > TARGET_RATIO:
            missed.append(f"TARGET MISSED [{where}]: ratio audit/floor = {ratio:.2f} > {TARGET_RATIO:g}")
        if r["rss_peak_mb"] >= TARGET_PEAK_MB:
            missed.append(f"TARGET MISSED [{where}]: peak RSS {r['rss_peak_mb']:.0f} MiB >= {TARGET_PEAK_MB} MB")
    if skipped:
        print(f"postgresql {skipped}")
    measured = [r for r in results if "error" not in r]
    print()
    for r in measured:
        print(f"[{r['db']} {r['scale']}] {r['rows']:,} partners measured; first audit {r['first_audit_s']:.2f} s, "
              f"first floor {r['first_floor_s']:.2f} s; RSS {r['rss_before_mb']:.1f} MiB before the audit (interpreter, "
              f"Flask app, SQLAlchemy); the floor's own RSS growth {r['floor_rss_growth_mb']:.1f} MiB"
              + ("" if r["peak_reset"] else "; peak RSS is the process's since start (clear_refs refused)"))
    for database in DATABASES:
        pair = [r for r in measured if r["db"] == database]
        if len(pair) != 2:
            continue
        small, large = pair
        print(f"\n{database}, from 100k to 1M tickets (x{large['tickets'] / small['tickets']:.0f}): time "
              f"x{large['year']['audit'] / small['year']['audit']:.1f}; the audit's memory: Python peak "
              f"{small['traced_peak_mb']:.2f} -> {large['traced_peak_mb']:.2f} MiB, RSS growth "
              f"{small['rss_growth_mb']:.1f} -> {large['rss_growth_mb']:.1f} MiB, RSS peak "
              f"{small['rss_peak_mb']:.1f} -> {large['rss_peak_mb']:.1f} MiB")
        for name, label in (("traced_peak_mb", "Python peak"), ("rss_growth_mb", "RSS growth")):
            allowed = max(GROWTH_TOLERANCE_MB, GROWTH_TOLERANCE_SHARE * small[name])
            if large[name] - small[name] > allowed:
                missed.append(f"TARGET MISSED [{database}]: the audit's memory grows with the tickets ({label} "
                              f"{small[name]:.1f} -> {large[name]:.1f} MiB)")
    for r in measured:
        if "profile" in r:
            print(f"\ncProfile of measure_partners on {r['db']} at {r['scale']} (cumulative):\n{r['profile']}")
    print()
    for line in missed:
        print(line)
    if not missed:
        print(f"targets met: ratio <= {TARGET_RATIO:g} at both scales on "
              f"{' and '.join(dict.fromkeys(r['db'] for r in measured))}, peak RSS < {TARGET_PEAK_MB} MB, "
              f"memory not growing with the tickets")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Audit benchmark: measure_partners against one SQL query, and its memory.")
    parser.add_argument("--rounds", type=int, default=0, help="timed rounds of each side per scale (default: ROUNDS)")
    parser.add_argument("--budget", type=float, default=300, help="seconds one audit may take before it is interrupted")
    parser.add_argument("--seed", type=int, default=generate.DEFAULT_SEED)
    parser.add_argument("--profile", action="store_true", help="also profile the audit at the largest scale")
    parser.add_argument("--only", choices=DATABASES, help="one database only (default: SQLite, then PostgreSQL)")
    parser.add_argument("--postgres", metavar="URL", help="the PostgreSQL server for the copies of the scales "
                        f"(default: BENCH_POSTGRES_URL, else {pgcopy.DEFAULT_SERVER})")
    parser.add_argument("--measure", choices=SCALES, help=argparse.SUPPRESS)  # the subprocess's part
    parser.add_argument("--url", help=argparse.SUPPRESS)  # the subprocess's database, when not SQLite's file
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure_scale(args.measure, args.seed, args.rounds, args.budget, args.profile, args.url)))
        return 0

    started = time.perf_counter()
    print(f"partnernet audit benchmark — {machine()}")
    databases = [args.only] if args.only else list(DATABASES)
    # Generated (and copied to PostgreSQL) here, before any measuring, so that no figure includes it.
    for scale in SCALES:
        generate.ensure_database(scale, args.seed)
    urls, skipped = {}, None
    if "postgresql" in databases:
        try:
            urls = {scale: pgcopy.ensure_postgres(scale, args.seed, pgcopy.server_url(args.postgres))
                    for scale in SCALES}
        except pgcopy.NoPostgres as error:
            skipped = str(error)
            print(f"[postgresql] {skipped}")
    results = []
    for database in databases:
        if database == "sqlite":
            results += [run_scale(scale, args) for scale in SCALES]
        elif urls:
            results += [run_scale(scale, args, urls[scale]) for scale in SCALES]
    report(results, skipped)
    print(f"\nbenchmark took {time.perf_counter() - started:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
