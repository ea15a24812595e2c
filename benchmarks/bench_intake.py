"""What one ticket intake costs: this code beside an older revision, and at two network sizes.

Targets (issue: intake on one ORM path and route()):
- CPU per intake (app + database) of this code <= 1.5x that of --against REV (33935ec, the last
  hand-built intake), measured side by side in one run, on SQLite and on PostgreSQL;
- SQL statements per intake printed, and the same at the tenth and the full scale of
  generate.py; CPU per intake at the full scale <= 1.2x the tenth's;
- zero errors. It reports and never fails the build.

Part 1, over HTTP. For each database (SQLite, then PostgreSQL), each version gets a fresh database
migrated and seeded with the demo network, an hq_agent API token, and its own gunicorn serving
`benchmarks.bench_app:app` (this checkout's bench_app, also for REV) with 4 sync workers. A
bounded threaded client loads, round by round and in turn for each version:

  intake      POST /api/v1/tickets: a valid ticket for a random demo customer, routed and committed
  intake+key  the same with a new Idempotency-Key on every request, as integrations send them
  service     the intake service alone for the same body (no token, no schemas)

and prints requests, rps, p50, p99, errors, SQL statements per request (bench_app's
X-Bench-Statements header) and the CPU per request read from /proc: gunicorn's workers, the
database server (PostgreSQL: a private server this script starts, so that its CPU is ours to
read; TEST_POSTGRES_URL's server only when none can be started, without its CPU) and the client.
On SQLite the database runs inside the app's workers.

Part 2, in one process, on SQLite: the cached databases of generate.py at the tenth and the full
scale (benchmarks/.data/; generated first when missing, the full one in a few minutes), a working
copy of each, and TICKETS intakes per scale through tickets.service.intake, ticket by ticket in
alternating order; CPU per intake is the process's (app and SQLite), statements are counted by a
before_cursor_execute listener.

  .venv/bin/python benchmarks/bench_intake.py [--against REV] [--seconds 5] [--rounds 3] [--threads 16]
                                              [--only sqlite|postgresql|scales] [--tickets 1000]
"""
import argparse
import contextlib
import http.client
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
TARGET_RATIO = 1.5    # CPU per intake, this code / REV's
TARGET_GROWTH = 1.2   # CPU per intake, full scale / tenth scale
WORKERS = 4


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_env(database_url: str, root: Path = ROOT) -> dict:
    env = dict(os.environ, PARTNERNET_ENV="production", SECRET_KEY="bench", DATABASE_URL=database_url,
               SESSION_COOKIE_SECURE="0")
    # One token from one address at full speed: the API's rate limits (600 a minute per token by
    # default) would refuse most of it. What is measured is the work of a request, not the limit.
    for limit in ("API_RATE_LIMIT_PER_TOKEN", "API_RATE_LIMIT_PER_ADDRESS"):
        env[limit] = "1000000 per minute"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH")) if p)
    return env


def flask(env: dict, *args: str, root: Path = ROOT) -> str:
    result = subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=root, env=env,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def prepare(database_url: str, root: Path = ROOT) -> tuple[str, list[int], list[str]]:
    """Migrate, seed, issue a token for agent@hq.demo; the customer ids and product line codes."""
    env = app_env(database_url, root)
    flask(env, "db", "upgrade", root=root)
    flask(env, "seed-demo", root=root)
    out = flask(env, "tokens", "create", "agent@hq.demo", "--name", "bench", root=root)
    token = out.strip().splitlines()[-1].strip()
    import sqlalchemy as sa
    url = re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", database_url)
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        customers = [r[0] for r in connection.execute(sa.text("SELECT id FROM customer"))]
        lines = [r[0] for r in connection.execute(sa.text("SELECT code FROM product_line WHERE active"))]
    engine.dispose()
    if not customers or not lines:
        raise RuntimeError("the demo seed gave no customers or no product lines")
    return token, customers, lines


# --- the server ------------------------------------------------------------------------------

class Gunicorn:
    def __init__(self, database_url: str, log_path: Path, root: Path = ROOT):
        self.port = free_port()
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [str(BIN / "gunicorn"), "benchmarks.bench_app:app", "-w", str(WORKERS),
             "-b", f"127.0.0.1:{self.port}", "--backlog", "256", "--timeout", "60"],
            cwd=root, env=app_env(database_url, root), stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.proc.returncode}); see {log_path}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                c.request("POST", "/bench/bare")
                if c.getresponse().status == 204:
                    c.close()
                    return
                c.close()
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn did not answer within 60 s; see {log_path}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# --- the load generator ----------------------------------------------------------------------

def run_load(port: int, make_request, seconds: float, threads: int):
    """THREADS threads, each on its own keep-alive connection (reopened whenever the server closes
    it: gunicorn's sync workers close after every response), sending until the deadline."""
    latencies, errors, samples, statements = [], [0], [], []
    lock = threading.Lock()
    start = time.perf_counter()
    deadline = start + seconds

    def worker(seed):
        rng = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, counted, bad = [], [], 0
        while time.perf_counter() < deadline:
            method, path, body, headers = make_request(rng)
            t0 = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                ok = 200 <= response.status < 300
                if ok and response.getheader("X-Bench-Statements"):
                    counted.append(int(response.getheader("X-Bench-Statements")))
            except (OSError, http.client.HTTPException) as error:
                ok, data = False, repr(error).encode()
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            mine.append(time.perf_counter() - t0)
            if not ok:
                bad += 1
                if len(samples) < 3:
                    samples.append(data[:300])
        conn.close()
        with lock:
            latencies.extend(mine)
            statements.extend(counted)
            errors[0] += bad

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - start
    return latencies, errors[0], elapsed, samples, statements


def process_cpu(pids) -> float:
    """Seconds of CPU (user and system) the processes have used so far; 0 for one that is gone."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def children(parent: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == parent:
                        found.append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    return found


def cpu_now(server_pid: int, database_pid: int | None) -> tuple[float, float | None, float]:
    """(app, database, client) CPU seconds so far: gunicorn's workers, the database server's
    processes (None when it is not ours to watch) and this process."""
    database = process_cpu([database_pid, *children(database_pid)]) if database_pid else None
    return process_cpu(children(server_pid)), database, sum(os.times()[:2])


def percentile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(round(q * (len(sorted_values) - 1))))]


def endpoints_for(token: str, customers: list[int], lines: list[str]) -> dict:
    def intake(rng):
        body = json.dumps({"customer_id": rng.choice(customers), "product_line": rng.choice(lines),
                           "complexity": rng.choice(["simple", "complex"]), "tier": rng.choice(["L1", "L2", "L3"]),
                           "channel": "api", "subject": f"bench ticket {rng.randrange(10**9)}",
                           "description": "opened by benchmarks/bench_intake.py"})
        return "POST", "/api/v1/tickets", body, {"Authorization": f"Bearer {token}",
                                                 "Content-Type": "application/json"}

    def intake_with_key(rng):
        method, path, body, headers = intake(rng)
        # uuid4, not rng: each round's threads replay the same random sequence, and a key seen
        # before would measure a retry.
        return method, path, body, {**headers, "Idempotency-Key": f"bench-{uuid.uuid4().hex}"}

    def service_alone(rng):
        _method, _path, body, _headers = intake(rng)
        return "POST", "/bench/service", body, {"Content-Type": "application/json"}

    return {"intake": intake, "intake+key": intake_with_key, "service": service_alone}


def bench_database(label: str, codes: list[tuple[str, Path, str]], args, workdir: Path,
                   database_pid: int | None = None) -> list[dict]:
    """`codes`: (name, source tree, fresh database URL) of each version of the code to serve; one
    version normally, two with --against. Each round loads every version in turn."""
    servers, endpoints = {}, {}
    try:
        for code, root, database_url in codes:
            print(f"\n[{label}/{code}] preparing a fresh database (db upgrade, seed-demo, token)…", flush=True)
            token, customers, lines = prepare(database_url, root)
            print(f"[{label}/{code}] {len(customers)} customers, product lines {', '.join(lines)}", flush=True)
            endpoints[code] = endpoints_for(token, customers, lines)
            servers[code] = Gunicorn(database_url, workdir / f"gunicorn-{label}-{code}.log", root)
            print(f"[{label}/{code}] gunicorn on 127.0.0.1:{servers[code].port}, {WORKERS} workers; "
                  f"warm-up 1 s each", flush=True)
            for request in endpoints[code].values():
                run_load(servers[code].port, request, 1.0, args.threads)
        names = list(endpoints[codes[0][0]])
        totals = {(code, name): {"lat": [], "errors": 0, "elapsed": 0.0, "samples": [], "cpu": [0.0, 0.0, 0.0],
                                 "statements": []} for code in servers for name in names}
        for r in range(args.rounds):
            order = names if r % 2 == 0 else names[::-1]
            for code in (list(servers) if r % 2 == 0 else list(servers)[::-1]):
                server = servers[code]
                for name in order:
                    before = cpu_now(server.proc.pid, database_pid)
                    lat, err, elapsed, samples, statements = run_load(server.port, endpoints[code][name],
                                                                      args.seconds, args.threads)
                    after = cpu_now(server.proc.pid, database_pid)
                    t = totals[code, name]
                    t["cpu"] = [used + (b - a if a is not None else 0.0)
                                for used, a, b in zip(t["cpu"], before, after)]
                    t["lat"] += lat
                    t["errors"] += err
                    t["elapsed"] += elapsed
                    t["samples"] += samples
                    t["statements"] += statements
                    print(f"[{label}/{code}] round {r + 1} {name:10} {len(lat) / elapsed:8.1f} rps  errors {err}",
                          flush=True)
    finally:
        for server in servers.values():
            server.stop()
    rows = []
    for (code, name), t in totals.items():
        lat = sorted(t["lat"])
        rows.append({"db": label, "code": code, "endpoint": name,
                     "requests": len(lat), "rps": len(lat) / t["elapsed"],
                     "p50": percentile(lat, 0.50) * 1000, "p99": percentile(lat, 0.99) * 1000,
                     "errors": t["errors"], "samples": t["samples"],
                     "cpu": [1000 * used / max(len(lat), 1) for used in t["cpu"]],
                     "database_cpu": database_pid is not None or label == "sqlite",
                     "statements": sum(t["statements"]) / len(t["statements"]) if t["statements"] else None})
    return rows


@contextlib.contextmanager
def worktree(revision: str | None, workdir: Path):
    """The source tree of `revision` (a temporary git worktree, with this checkout's compiled
    translations and bench_app.py), or nothing without one."""
    if revision is None:
        yield None
        return
    tree = workdir / "against"
    subprocess.run(["git", "worktree", "add", "--detach", str(tree), revision], cwd=ROOT, check=True,
                   capture_output=True)
    try:
        for compiled in (ROOT / "partnernet" / "translations").glob("*/LC_MESSAGES/messages.mo"):
            target = tree / compiled.relative_to(ROOT)
            if target.parent.is_dir():
                shutil.copyfile(compiled, target)
        shutil.copyfile(ROOT / "benchmarks" / "bench_app.py", tree / "benchmarks" / "bench_app.py")
        yield tree
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, capture_output=True)


# --- PostgreSQL --------------------------------------------------------------------------------

class PrivatePostgres:
    """A throwaway server like .ci/run's: initdb as postgres, trust auth, 127.0.0.1, fsync off."""

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="partnernet-bench-pg."))
        self.data = self.root / "data"
        sockets = self.root / "sockets"
        sockets.mkdir()
        if os.geteuid() == 0:  # initdb refuses to run as root: the server runs as postgres
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(sockets, "postgres", "postgres")
        os.chmod(self.root, 0o700)
        self.port = free_port()
        self.started = False
        self._pg("initdb", "-D", str(self.data), "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8",
                 "--auth-local=trust", "--auth-host=trust")
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "60", "start",
                 "-o", f"-c listen_addresses=127.0.0.1 -p {self.port} -k {sockets} -c fsync=off "
                       "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
        self.started = True
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def _pg(self, program, *args):
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, str(PG_BIN / program), *args], check=True, capture_output=True, cwd="/")

    def stop(self):
        if self.started:
            try:
                self._pg("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
            except subprocess.CalledProcessError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)


def postgres_database(server_url: str, suffix: str = "") -> tuple[str, callable]:
    """A fresh database on the server at server_url; its URL and a function that drops it."""
    import psycopg
    plain = re.sub(r"^postgres(ql)?(\+psycopg)?://", "postgresql://", server_url)
    name = f"partnernet_bench_{os.getpid()}{suffix}"
    with psycopg.connect(plain, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}"')
        c.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = plain.rpartition("/")

    def drop():
        with psycopg.connect(plain, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return f"{base}/{name}", drop


def print_table(rows):
    print("\n| db | code | endpoint | requests | rps | p50 ms | p99 ms | errors | statements | "
          "CPU ms per request: app | database | client |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        app, database, client = r["cpu"]
        statements = f"{r['statements']:.1f}" if r["statements"] is not None else "–"
        database = "in app" if r["db"] == "sqlite" else f"{database:.2f}" if r["database_cpu"] else "–"
        print(f"| {r['db']} | {r['code']} | {r['endpoint']} | {r['requests']} | {r['rps']:.1f} | {r['p50']:.1f} | "
              f"{r['p99']:.1f} | {r['errors']} | {statements} | {app:.2f} | {database} | {client:.2f} |")
    print()
    for db in dict.fromkeys(r["db"] for r in rows):
        mine = [r for r in rows if r["db"] == db]
        errors = sum(r["errors"] for r in mine)
        codes = list(dict.fromkeys(r["code"] for r in mine))
        by = {(r["code"], r["endpoint"]): r for r in mine}
        for endpoint in dict.fromkeys(r["endpoint"] for r in mine):
            cpu = {code: sum(by[code, endpoint]["cpu"][:2]) for code in codes}  # app + database
            line = f"{db} {endpoint}: CPU per request (app + database) " + ", ".join(
                f"{code} {cpu[code]:.2f} ms" for code in codes)
            if len(codes) == 2 and cpu[codes[1]]:
                ratio = cpu[codes[0]] / cpu[codes[1]]
                line += f"; {codes[0]}/{codes[1]} = {ratio:.2f} (target <= {TARGET_RATIO:g})"
                if endpoint == "intake":
                    measured = all(by[code, endpoint]["database_cpu"] for code in codes)
                    line += (" ok" if ratio <= TARGET_RATIO else " TARGET MISSED") if measured else \
                        " (the database server's CPU was not measured)"
            print(line)
        print(f"{db}: errors {errors}" + ("" if errors == 0 else "  TARGET MISSED (zero errors)"))
        for r in mine:
            for sample in r["samples"]:
                print(f"    {r['code']} {r['endpoint']} error sample: {sample!r}")


# --- part 2: the tenth and the full scale, in one process -------------------------------------

class Scale:
    """A working copy of generate.py's database at one scale, its app and what its intakes cost."""

    def __init__(self, name: str, workdir: Path, seed: int):
        import generate  # benchmarks/generate.py, next to this script
        from partnernet import create_app
        self.name = name
        self.path = workdir / f"{name}.sqlite"
        shutil.copyfile(generate.ensure_database(name, seed), self.path)
        self.app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{self.path}"})
        self.statements, self.cpu, self.outcomes = [], [], []
        self._counted = [0]
        import sqlalchemy as sa
        with self.app.app_context():
            from partnernet.extensions import db
            sa.event.listen(db.engine, "before_cursor_execute", self._count)
            self.customers = [r[0] for r in db.session.execute(sa.text("SELECT id FROM customer ORDER BY id"))]
            self.lines = [r[0] for r in db.session.execute(
                sa.text("SELECT code FROM product_line WHERE active ORDER BY code"))]
            db.session.remove()

    def _count(self, *_args):
        self._counted[0] += 1

    def intake(self, rng: random.Random, now, record: bool) -> None:
        from partnernet.extensions import db
        from partnernet.tickets import service
        request = service.IntakeRequest(
            customer_id=rng.choice(self.customers), product_line=rng.choice(self.lines),
            complexity=rng.choice(["simple", "complex"]), channel="api", subject=f"bench ticket {rng.randrange(10**9)}",
            tier=rng.choice(["L1", "L2", "L3"]))
        with self.app.app_context():
            self._counted[0] = 0
            started = time.process_time()
            ticket = service.intake(request, None, now)
            used = time.process_time() - started
            if record:
                self.statements.append(self._counted[0])
                self.cpu.append(used)
                self.outcomes.append(ticket.status)
            db.session.remove()


def bench_scales(args, workdir: Path) -> None:
    """TICKETS intakes per scale after a warm-up, ticket by ticket, the scales in alternating order."""
    import statistics
    from collections import Counter
    import generate
    started = time.perf_counter()
    print(f"\n[scales] SQLite, in one process: {args.tickets} intakes per scale after {args.tickets // 10} "
          "of warm-up (generating a missing database first)", flush=True)
    scales = [Scale(name, workdir, generate.DEFAULT_SEED) for name in ("tenth", "full")]
    rngs = {scale.name: random.Random(f"{generate.DEFAULT_SEED}-intake") for scale in scales}
    warmup = args.tickets // 10
    for i in range(warmup + args.tickets):
        for scale in (scales if i % 2 == 0 else scales[::-1]):
            scale.intake(rngs[scale.name], generate.NOW, record=i >= warmup)
    print("\n| scale | intakes | outcomes | statements per intake (most common by outcome; mean) | "
          "CPU ms per intake: mean | p50 |")
    print("|---|---:|---|---|---:|---:|")
    typical = {}
    for scale in scales:
        by_outcome = {}
        for outcome, count in zip(scale.outcomes, scale.statements):
            by_outcome.setdefault(outcome, []).append(count)
        typical[scale.name] = {o: Counter(c).most_common(1)[0][0] for o, c in sorted(by_outcome.items())}
        shares = ", ".join(f"{o} {len(c) / len(scale.outcomes):.0%}" for o, c in sorted(by_outcome.items()))
        counts = ", ".join(f"{o} {n}" for o, n in typical[scale.name].items())
        print(f"| {scale.name} | {len(scale.cpu)} | {shares} | {counts}; {statistics.mean(scale.statements):.2f} | "
              f"{1000 * statistics.mean(scale.cpu):.2f} | {1000 * statistics.median(scale.cpu):.2f} |")
    tenth, full = scales
    shared = typical["tenth"].keys() & typical["full"].keys()
    same = bool(shared) and all(typical["tenth"][o] == typical["full"][o] for o in shared)
    growth = statistics.mean(full.cpu) / statistics.mean(tenth.cpu)
    print(f"\nstatements per intake the same at both scales (for {', '.join(sorted(shared))}): "
          f"{'yes' if same else 'NO  TARGET MISSED'}")
    print(f"CPU per intake full / tenth = {growth:.2f} (target <= {TARGET_GROWTH:g}) "
          f"{'ok' if growth <= TARGET_GROWTH else 'TARGET MISSED'}")
    print(f"[scales] took {time.perf_counter() - started:.0f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="per endpoint per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--only", choices=["sqlite", "postgresql", "scales"])
    parser.add_argument("--against", metavar="REV", help="also serve git revision REV, round by round beside this code")
    parser.add_argument("--tickets", type=int, default=1000, help="intakes per scale in part 2")
    args = parser.parse_args()
    print(f"bench_intake: {WORKERS} gunicorn sync workers, {args.threads} client threads, "
          f"{args.rounds} rounds x {args.seconds:g} s per endpoint; nproc {os.cpu_count()}"
          + (f"; this code beside {args.against}" if args.against else ""))

    workdir = Path(tempfile.mkdtemp(prefix="partnernet-bench-intake."))
    rows = []
    try:
        with worktree(args.against, workdir) as other:
            trees = [("this", ROOT)] + ([(args.against, other)] if other else [])
            if args.only in (None, "sqlite"):
                rows += bench_database("sqlite", [(code, tree, f"sqlite:///{workdir / f'bench-{n}.sqlite'}")
                                                  for n, (code, tree) in enumerate(trees)], args, workdir)
            if args.only in (None, "postgresql"):
                rows += bench_postgresql(trees, args, workdir)
        if rows:
            print_table(rows)
            rows = []
        if args.only in (None, "scales"):
            bench_scales(args, workdir)
    finally:
        if rows:
            print_table(rows)
        for leftover in workdir.glob("*.sqlite*"):
            leftover.unlink()
        print(f"(gunicorn logs in {workdir})")


def bench_postgresql(trees, args, workdir: Path) -> list[dict]:
    """On a private server (its CPU is ours to read), else on TEST_POSTGRES_URL's; nothing (with a
    note) without either."""
    pg, drops = None, []
    try:
        server_url = os.environ.get("TEST_POSTGRES_URL")
        if (PG_BIN / "initdb").exists():
            try:
                pg = PrivatePostgres()
                server_url = pg.url
            except (OSError, subprocess.CalledProcessError, LookupError) as error:
                print(f"\n[postgresql] could not start a private server ({error})")
        if not server_url:
            print(f"\n[postgresql] SKIPPED: no PostgreSQL in {PG_BIN} and no TEST_POSTGRES_URL")
            return []
        codes = []
        for n, (code, tree) in enumerate(trees):
            url, drop = postgres_database(server_url, f"_{n}")
            drops.append(drop)
            codes.append((code, tree, url))
        return bench_database("postgresql", codes, args, workdir, pg.postmaster_pid() if pg else None)
    finally:
        for drop in drops:
            try:
                drop()
            except Exception as error:  # noqa: BLE001  (clean-up only)
                print(f"[postgresql] could not drop a bench database: {error}")
        if pg:
            pg.stop()


if __name__ == "__main__":
    main()
