"""The HQ pages at 1,000,000 tickets: the dashboard, the ticket list (first page, and a deep page
with filters) and the coverage map, each requested ROUNDS times; p50, p95 and max per page.

The data is generate.py's `audit-1m` scale (the full network of 2,000 partners and one year of
1,000,000 tickets with 4.8M events), copied so that the cached file stays as generated. The
requests go through the whole app (routing, login, the templates) with Flask's test client as an
hq_manager, in this one process. The clock is set to NOW, Friday 30 October 2026 10:00 in China,
near the end of the data's year, so that "this week", "last week" and "this month" hold what they
would hold on a live system (the data's year ends on 31 October).

Target: p95 <= 150 ms for each page. It reports and never fails the build.

  .venv/bin/python benchmarks/bench_pages.py [--rounds 20] [--scale audit-1m] [--only NAME] [--profile]
"""
import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from benchmarks import generate  # noqa: E402

TARGET_MS = 150.0
NOW = datetime(2026, 10, 30, 2, 0, tzinfo=timezone.utc)
PAGES = [
    ("dashboard", "/hq"),
    ("tickets, first page", "/tickets/"),
    ("tickets, open in Zhejiang", "/tickets/?status=open&region=330000"),
    # A deep page is reached as a reader reaches it, by Next from the first (untimed): the list pages
    # by cursor; then that page is measured.
    ("tickets, page 200: closed, workflow, complex", ("/tickets/?status=closed&product_line=workflow&complexity=complex", 200)),
    ("tickets, page 400 by due date", ("/tickets/?sort=due&order=asc", 400)),
    ("coverage map of China", "/coverage?product_line=workflow"),
    ("coverage map, kind view", "/coverage?product_line=integration&view=kind"),
    ("coverage map, Zhejiang", "/coverage?product_line=workflow&region=330000"),
]


def freeze_clock(now):
    """Every module that took `now_utc` from partnernet.timeclock gets one that answers `now`."""
    from partnernet import timeclock
    original = timeclock.now_utc

    def frozen():
        return now

    for module in list(sys.modules.values()):
        if getattr(module, "now_utc", None) is original:
            module.now_utc = frozen


def hq_manager(app) -> tuple[int, int]:
    from partnernet.auth.models import User
    from partnernet.extensions import db
    with app.app_context():
        user = db.session.execute(sa.select(User).where(User.email == "manager@bench.hq")).scalar_one_or_none()
        if user is None:
            hq_id = db.session.execute(sa.text("SELECT id FROM party WHERE kind = 'hq'")).scalar_one()
            user = User(email="manager@bench.hq", name="Bench manager", role="hq_manager", party_id=hq_id,
                        password_hash="!", locale="zh_CN", active=True, session_version=1)
            db.session.add(user)
            db.session.commit()
        return user.id, user.session_version


def page_url(client, url) -> str:
    """`url`, or for (url, n) the URL of its n-th page, followed by its Next links."""
    if isinstance(url, str):
        return url
    import html
    import re
    url, pages = url
    for _ in range(pages - 1):
        following = re.search(r'rel="next" href="([^"]+)"', client.get(url).get_data(as_text=True))
        if following is None:
            raise RuntimeError(f"{url} has fewer than {pages} pages")
        url = html.unescape(following.group(1))
    return url


def measure(client, url: str, rounds: int) -> list[float]:
    response = client.get(url)  # warm: templates compiled, caches filled
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}")
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, url
    return times


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--scale", default="audit-1m", choices=sorted(generate.SCALES))
    parser.add_argument("--only", help="measure only the pages whose name contains this")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of each page measured")
    args = parser.parse_args(argv)

    source = generate.ensure_database(args.scale)
    with tempfile.TemporaryDirectory(prefix="partnernet-bench-pages.") as workdir:
        path = Path(workdir) / "pages.sqlite"
        started = time.perf_counter()
        shutil.copyfile(source, path)
        print(f"[{args.scale}] copied to {path} in {time.perf_counter() - started:.1f} s")

        from partnernet import create_app
        app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(path), "WTF_CSRF_ENABLED": False})
        with app.app_context():
            from flask_migrate import upgrade
            upgrade()  # the cached file is at the migrations' head already; a no-op then
        freeze_clock(NOW)
        from partnernet.process import tune_garbage_collector
        tune_garbage_collector()  # as wsgi.py does in the web workers
        user_id, version = hq_manager(app)
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = f"{user_id}:{version}"
            session["_fresh"] = True

        rows = []
        for name, url in PAGES:
            if args.only and args.only not in name:
                continue
            if args.profile:
                import cProfile
                import pstats
                profiler = cProfile.Profile()
                profiler.enable()
            url = page_url(client, url)
            times = measure(client, url, args.rounds)
            if args.profile:
                profiler.disable()
                print(f"--- profile of {name} ({args.rounds + 1} requests)")
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
            rows.append((name, url, statistics.median(times), percentile(times, 0.95), max(times)))
            print(f"  {name:48} p50 {rows[-1][2]:7.1f} ms  p95 {rows[-1][3]:7.1f} ms  "
                  f"(each: {' '.join(str(round(t)) for t in times)})")

    print(f"\n| page | url | p50 ms | p95 ms | max ms |\n|---|---|---:|---:|---:|")
    for name, url, p50, p95, worst in rows:
        print(f"| {name} | `{url}` | {p50:.1f} | {p95:.1f} | {worst:.1f} |")
    missed = [name for name, _url, _p50, p95, _worst in rows if p95 > TARGET_MS]
    print(f"\n{args.scale}, {args.rounds} requests per page: "
          + (f"TARGET MISSED (p95 > {TARGET_MS:.0f} ms): {', '.join(missed)}" if missed
             else f"every page p95 <= {TARGET_MS:.0f} ms"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
