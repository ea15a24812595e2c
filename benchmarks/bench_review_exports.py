"""HQ's certification review queue and the exports at benchmark scale: per request the time
(median of ROUNDS), the SQL statements, the bytes sent and, for the exports, the peak of Python's
allocations (tracemalloc) while the file is produced and read a chunk at a time.

With --before DIR (another checkout of the app, e.g. `git archive <commit> | tar -x -C DIR`), the
same requests are measured in that code too, each tree in its own process against the same
database copy, alternating, and the table gives the ratios of this tree's figures to that one's.

  .venv/bin/python benchmarks/bench_review_exports.py [--scale full] [--rounds 3] [--before DIR] [--only NAME]

The reports' exports at a million tickets: --scale audit-1m --rounds 1 --only tickets.
"""
import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

REQUESTS = [  # (name, url, an export?); before the queue was paged, it showed every pending certificate
    ("review queue", "/certifications/review", False),
    ("export certifications.csv", "/export/certifications.csv", True),
    ("export certifications.xlsx", "/export/certifications.xlsx", True),
    ("export engineers.csv", "/export/engineers.csv", True),
    ("export engineers.xlsx", "/export/engineers.xlsx", True),
    ("export coverage.csv", "/export/coverage.csv", True),
    ("export partners.xlsx", "/export/partners.xlsx", True),
    ("export customers.csv", "/customers/export.csv", True),
    ("export customers.xlsx", "/customers/export.xlsx", True),
    # The reports (partnernet/reports): every ticket HQ sees, a month's SLA results and a partner's
    # settlement (the audit scales' tickets lie in AUDIT_YEAR, which ends with October 2026).
    ("export tickets.csv", "/reports/tickets.csv", True),
    ("export tickets.xlsx", "/reports/tickets.xlsx", True),
    ("monthly SLA results page", "/reports/sla?month=2026-10", False),
    ("export monthly SLA results.xlsx", "/reports/sla.xlsx?month=2026-10", True),
    ("settlement page", "/reports/settlement/2?month=2026-10", False),
    ("export settlement.xlsx", "/reports/settlement/2.xlsx?month=2026-10", True),
]


def measure_here(database: str, rounds: int, only: str = "") -> dict:
    """Run in a child process whose sys.path starts with the tree measured."""
    import sqlalchemy as sa

    from benchmarks.bench_pages import freeze_clock, hq_manager
    from benchmarks.generate import NOW  # the data's "now": the pending certificates' last weeks
    from partnernet import create_app
    from partnernet.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite:///" + database, "WTF_CSRF_ENABLED": False})
    freeze_clock(NOW)
    user_id, version = hq_manager(app)
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = f"{user_id}:{version}"
        session["_fresh"] = True
    results = {}
    with app.app_context():
        engine = db.engine
    client.get("/partners/")  # the layout's templates compiled, the settings cached
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    for name, url, is_export in REQUESTS:
        if only not in name:
            continue
        statements.clear()
        times, size = [], 0
        # Every request is timed (an export's own work dwarfs compiling its statements; the queue
        # took two minutes before it was paged); the first also counts the statements.
        for round_ in range(rounds if is_export else 1):
            if round_ == 0:
                sa.event.listen(engine, "before_cursor_execute", listener)
            started = time.perf_counter()
            response = client.get(url, buffered=False)
            size = sum(len(chunk) for chunk in response.response)
            response.close()
            elapsed = time.perf_counter() - started
            if round_ == 0:
                sa.event.remove(engine, "before_cursor_execute", listener)
            times.append(elapsed * 1000)
            assert response.status_code == 200, (url, response.status_code)
        peak = None
        if is_export:
            tracemalloc.start()
            response = client.get(url, buffered=False)
            for _chunk in response.response:
                pass
            response.close()
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        results[name] = {"ms": statistics.median(times), "statements": len(statements), "bytes": size, "peak": peak}
        print(f"  {name}: {results[name]}", file=sys.stderr, flush=True)
    return results


def run_tree(tree: Path, database: str, rounds: int, only: str) -> dict:
    # The tree's partnernet and benchmarks; this file's measure_here.
    code = (f"import sys, json, importlib.util; sys.path.insert(0, {str(tree)!r}); "
            f"spec = importlib.util.spec_from_file_location('bench_review_exports', {__file__!r}); "
            f"module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module); "
            f"print('RESULT ' + json.dumps(module.measure_here({database!r}, {rounds}, {only!r})))")
    print(f"[{tree}]", file=sys.stderr, flush=True)
    output = subprocess.run([sys.executable, "-c", code], cwd=tree, stdout=subprocess.PIPE, text=True, check=True).stdout
    return json.loads(next(line for line in output.splitlines() if line.startswith("RESULT "))[7:])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="full")
    parser.add_argument("--rounds", type=int, default=3, help="requests per export (the queue: one)")
    parser.add_argument("--only", default="", help="only the requests whose name contains this")
    parser.add_argument("--before", type=Path, help="another checkout of the app to compare with")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from benchmarks import generate
    source = generate.ensure_database(args.scale)
    with tempfile.TemporaryDirectory(prefix="partnernet-bench-review.") as workdir:
        database = str(Path(workdir) / "review.sqlite")
        shutil.copyfile(source, database)
        trees = {"after": ROOT} if args.before is None else {"before": args.before.resolve(), "after": ROOT}
        results = {label: run_tree(tree, database, max(1, args.rounds), args.only) for label, tree in trees.items()}
    after = results["after"]
    if args.before is None:
        print("| request | ms | statements | bytes | export peak MB |\n|---|---:|---:|---:|---:|")
        for name, r in after.items():
            peak = f"{r['peak'] / 1e6:.1f}" if r["peak"] is not None else ""
            print(f"| {name} | {r['ms']:.0f} | {r['statements']} | {r['bytes']:,} | {peak} |")
        return 0
    before = results["before"]
    print("| request | ms before → after (ratio) | statements before → after | bytes before → after "
          "| export peak MB before → after (ratio) |\n|---|---:|---:|---:|---:|")
    for name, r in after.items():
        b = before[name]
        peak = (f"{b['peak'] / 1e6:.1f} → {r['peak'] / 1e6:.1f} ({r['peak'] / b['peak']:.2f})"
                if r["peak"] is not None else "")
        print(f"| {name} | {b['ms']:.0f} → {r['ms']:.0f} ({r['ms'] / b['ms']:.2f}) | {b['statements']} → "
              f"{r['statements']} | {b['bytes']:,} → {r['bytes']:,} | {peak} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
