"""A 200,000-row partners import next to a bare executemany of the same rows, and the import bombs.

    python benchmarks/bench_import.py                 # what `make bench` runs
    python benchmarks/bench_import.py --rows 20000 --rounds 2 --only sqlite

For each database (SQLite, then PostgreSQL when TEST_POSTGRES_URL names a server), a freshly
migrated database receives, in ROUNDS rounds and in alternating order:

  import  partnernet's own path, transfer.run_import("partners", a CSV of ROWS new partners, …):
          read the file, check every row against the database, write the partners and their
          "created" events in one transaction. Its write lock is timed too: from the first write
          statement to the end of the commit (on SQLite, how long other writers wait).
  bare    the same rows, already as tuples, into the same tables through the driver alone:
          cursor.executemany of the party rows, their ids read back, executemany of the events,
          commit.

Every measurement has a fresh copy of the migrated database (the events table is append-only). Each round prints both times
and their ratio; the last line gives the median ratio with the lowest and highest.
Target: the import within 5x the bare executemany. It reports and never fails the build.

First, each import bomb of tests/spreadsheet_bombs.py is read by transfer.read_sheet in a fresh
Python process, which reports how long the refusal took and its peak RSS (VmHWM; getrusage's
ru_maxrss beside it), next to the same process importing the app and reading nothing.
"""
import argparse
import csv
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

TARGET_RATIO = 5.0
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)
PARTY_COLUMNS = ("name", "name_en", "kind", "status", "capacity", "province_code", "address", "contact_name",
                 "contact_phone", "contact_email", "contract_start", "contract_end", "created_at",
                 "tier_l1", "tier_l2", "tier_l3")
EVENT_COLUMNS = ("party_id", "at", "actor_user_id", "kind", "from_status", "to_status", "reason", "data")


def partner_csv(rows: int) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["name", "kind", "province_code", "capacity", "tiers", "contact_name", "contact_phone",
                     "contact_email", "address", "contract_start"])
    for n in range(rows):
        writer.writerow([f"代理商{n:06d}", "agent", "330000", "10", "L1|L2", f"王经理{n}", f"0571-{n:07d}",
                         f"boss{n}@agent.cn", f"杭州市西湖区文三路 {n} 号", "2025-01-01"])
    return out.getvalue().encode("utf-8-sig")


def bare_rows(rows: int, naive_now) -> list[tuple]:
    from datetime import date
    return [(f"代理商{n:06d}", None, "agent", "onboarding", 10, "330000", f"杭州市西湖区文三路 {n} 号", f"王经理{n}",
             f"0571-{n:07d}", f"boss{n}@agent.cn", date(2025, 1, 1), None, naive_now, True, True, False)
            for n in range(rows)]


def bare_insert(engine, rows: list[tuple]) -> float:
    """The floor: the driver's executemany of the same rows into the same tables, in one transaction."""
    naive_now = NOW.replace(tzinfo=None)
    connection = engine.raw_connection()
    marker = "?" if engine.dialect.name == "sqlite" else "%s"
    try:
        started = time.perf_counter()
        cursor = connection.cursor()
        cursor.executemany(f"INSERT INTO party ({', '.join(PARTY_COLUMNS)}) "
                           f"VALUES ({', '.join([marker] * len(PARTY_COLUMNS))})", rows)
        cursor.execute("SELECT id FROM party WHERE kind <> 'hq' ORDER BY id")
        ids = [row[0] for row in cursor.fetchall()]
        data = json.dumps({"status": "onboarding"})
        cursor.executemany(f"INSERT INTO party_event ({', '.join(EVENT_COLUMNS)}) "
                           f"VALUES ({', '.join([marker] * len(EVENT_COLUMNS))})",
                           [(party_id, naive_now, None, "created", None, None, "import", data) for party_id in ids])
        connection.commit()
        return time.perf_counter() - started
    finally:
        connection.close()


class WriteLock:
    """When the first statement that writes starts (the write lock lasts from there to the commit's end)."""

    def __init__(self, engine):
        self.engine, self.first_write = engine, None
        sa.event.listen(engine, "before_cursor_execute", self.statement)

    def statement(self, _connection, _cursor, statement, *_args):
        if self.first_write is None and not statement.lstrip().upper().startswith("SELECT"):
            self.first_write = time.perf_counter()

    def close(self):
        sa.event.remove(self.engine, "before_cursor_execute", self.statement)


def measure_once(what: str, url: str, content: bytes, tuples: list[tuple]) -> dict:
    """One measurement on a fresh database (the events table is append-only: nothing is deleted)."""
    from partnernet import create_app
    from partnernet.extensions import db
    from partnernet.network import transfer
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        db.session.execute(sa.text("SELECT count(*) FROM region")).scalar()  # connect before timing
        db.session.rollback()
        if what == "bare":
            times = {"bare": bare_insert(db.engine, tuples)}
        else:
            lock = WriteLock(db.engine)
            started = time.perf_counter()
            plan = transfer.run_import("partners", content, "csv", None, NOW)
            ended = time.perf_counter()
            lock.close()
            assert plan.counts["create"] == len(tuples)
            times = {"import": ended - started, "lock": ended - lock.first_write}
        db.session.remove()
        db.engine.dispose()
    return times


def measure(name: str, databases, rows: int, rounds: int) -> list[float]:
    content, tuples = partner_csv(rows), bare_rows(rows, NOW.replace(tzinfo=None))
    ratios, lock_ratios = [], []
    for round_number in range(rounds):
        times = {}
        for what in (("import", "bare") if round_number % 2 == 0 else ("bare", "import")):
            url = databases.clone()
            try:
                times.update(measure_once(what, url, content, tuples))
            finally:
                databases.drop(url)
        ratio, lock_ratio = times["import"] / times["bare"], times["lock"] / times["bare"]
        ratios.append(ratio)
        lock_ratios.append(lock_ratio)
        print(f"  {name} round {round_number + 1}: import {times['import']:.2f} s (write lock held "
              f"{times['lock']:.2f} s), bare executemany {times['bare']:.2f} s: import/bare {ratio:.2f}x, "
              f"lock/bare {lock_ratio:.2f}x", flush=True)
    median = statistics.median(ratios)
    print(f"{name}: {rows:,} partners, import/bare median {median:.2f}x (lowest {min(ratios):.2f}, highest "
          f"{max(ratios):.2f}); write lock/bare median {statistics.median(lock_ratios):.2f}x"
          + ("" if median <= TARGET_RATIO else f"  TARGET MISSED (<= {TARGET_RATIO:.0f}x)"), flush=True)
    return ratios


BOMB_CHILD = """
import resource, sys, time
sys.path.insert(0, {root!r})
from partnernet import create_app
from partnernet.errors import ValidationFailed
from partnernet.network import transfer
app = create_app({{"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"}})
path, file_format = sys.argv[1], sys.argv[2]
with app.test_request_context():
    started = time.perf_counter()
    outcome = "nothing read"
    if path != "-":
        with open(path, "rb") as handle:
            content = handle.read()
        try:
            transfer.read_sheet(content, file_format)
            outcome = "READ (not refused)"
        except ValidationFailed as error:
            outcome = "422 " + error.message
    elapsed = time.perf_counter() - started
# Peak RSS of this process: VmHWM starts afresh at exec, where getrusage's ru_maxrss keeps the
# parent's (Linux carries it across fork and exec); both are printed, ru_maxrss for the record.
with open("/proc/self/status") as status:
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
print(f"{{elapsed:.2f}}|{{peak:.0f}}|{{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}}|{{outcome}}")
"""


def bombs() -> None:
    from tests import spreadsheet_bombs as made
    cases = [("baseline: the app, no file", None, "xlsx"),
             ("xlsx, one 200 MB shared string", made.huge_shared_string, "xlsx"),
             ("xlsx, a 200 MB string in 1,000-character rich-text runs", made.split_shared_string, "xlsx"),
             ("xlsx, one 200 MB inline cell", made.huge_inline_cell, "xlsx"),
             ("xlsx, 5,000,000 rows", made.many_rows, "xlsx"),
             ("csv, 250,000 rows", lambda: made.csv_many_rows(250_000), "csv"),
             ("csv, one 5,000,000-character cell", made.csv_huge_cell, "csv")]
    child = BOMB_CHILD.format(root=str(ROOT))
    with tempfile.TemporaryDirectory() as directory:
        for label, build, file_format in cases:
            path = "-"
            if build is not None:
                path = os.path.join(directory, f"bomb.{file_format}")
                with open(path, "wb") as handle:
                    handle.write(build())
            size = os.path.getsize(path) if path != "-" else 0
            result = subprocess.run([sys.executable, "-c", child, path, file_format], capture_output=True,
                                    text=True, check=True)
            elapsed, peak, maxrss, outcome = result.stdout.strip().splitlines()[-1].split("|", 3)
            print(f"  {label:<56} {size / 1024:>7,.0f} kB {elapsed:>6} s  peak RSS {peak:>4} MB "
                  f"(ru_maxrss {maxrss:>4} MB)  {outcome[:90]}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--no-bombs", action="store_true")
    arguments = parser.parse_args()
    from tests.databases import PostgresDatabases, SqliteDatabases, postgres_admin_url
    if not arguments.no_bombs:  # first, while this process is small (its children inherit ru_maxrss)
        print("import bombs, each refused in a fresh process (peak RSS includes the app's own):", flush=True)
        bombs()
    print(f"partners import: {arguments.rows:,} rows, {arguments.rounds} rounds (import and bare alternate)",
          flush=True)
    if arguments.only != "postgresql":
        with tempfile.TemporaryDirectory() as directory:
            databases = SqliteDatabases(directory)
            databases.create_template()
            measure("sqlite", databases, arguments.rows, arguments.rounds)
    admin_url = postgres_admin_url()
    if arguments.only != "sqlite" and admin_url:
        databases = PostgresDatabases(admin_url, name="bench_import")
        databases.create_template()
        try:
            measure("postgresql", databases, arguments.rows, arguments.rounds)
        finally:
            databases.close()
    elif arguments.only != "sqlite":
        print("postgresql: skipped (set TEST_POSTGRES_URL to a server the benchmark may create databases on)")


if __name__ == "__main__":
    main()
