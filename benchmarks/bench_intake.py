"""Ticket intake over HTTP under gunicorn, next to a bare insert endpoint in the same server.

For each database (SQLite, then PostgreSQL when one is available): a fresh database is migrated
and seeded with the demo network, an hq_agent API token is created, and gunicorn serves
`benchmarks.bench_app:app` (the product app plus `POST /bench/bare` and `POST /bench/service`)
on 127.0.0.1 with 4 sync workers. A bounded threaded client (THREADS threads, http.client) then
alternates the endpoints in ROUNDS rounds of SECONDS s each:

  intake  POST /api/v1/tickets: a valid ticket for a random demo customer, routed and committed
  intake+key  the same with a new Idempotency-Key on every request, as integrations send them
  service  the intake service alone, for the same body, without the API around it (no token, no
          schemas): a yardstick for how much of intake's cost is the API's
  bare    POST /bench/bare: a Flask view that inserts one row and commits

and prints requests, rps, p50, p99 and errors for each, and intake rps / bare rps, with the lowest
and highest of the rounds' ratios (intake+key's and the service's ratios are printed beside it,
for information: the target is on intake). Beside them, the CPU each request cost, read from
/proc: in gunicorn's workers, in the database server (only for the private PostgreSQL server this
script starts) and in the load generator.
Target: intake >= 40% of bare's throughput, and zero errors. It reports and never fails the build.

With --against REV, the code of git revision REV (a temporary worktree, run with this .venv) is
served too, by its own gunicorn on its own fresh database, and every round loads both servers in
turn: two versions measured under the same noise, which on a shared machine tells a change of
5-10% apart where two runs one after the other cannot.

  .venv/bin/python benchmarks/bench_intake.py [--seconds 5] [--rounds 3] [--threads 16] [--only sqlite|postgresql]
                                              [--against REV]
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
TARGET = 0.40
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
    latencies, errors, samples = [], [0], []
    lock = threading.Lock()
    start = time.perf_counter()
    deadline = start + seconds

    def worker(seed):
        rng = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, bad = [], 0
        while time.perf_counter() < deadline:
            method, path, body, headers = make_request(rng)
            t0 = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                ok = 200 <= response.status < 300
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
            errors[0] += bad

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - start
    return latencies, errors[0], elapsed, samples


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

    def bare(_rng):
        return "POST", "/bench/bare", b"", {"Content-Length": "0"}

    return {"intake": intake, "intake+key": intake_with_key, "service": service_alone, "bare": bare}


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
                                 "rounds": []} for code in servers for name in names}
        for r in range(args.rounds):
            order = ("bare", "intake", "service", "intake+key") if r % 2 == 0 else \
                ("intake+key", "service", "intake", "bare")
            for code in (list(servers) if r % 2 == 0 else list(servers)[::-1]):
                server = servers[code]
                for name in order:
                    before = cpu_now(server.proc.pid, database_pid)
                    lat, err, elapsed, samples = run_load(server.port, endpoints[code][name], args.seconds,
                                                          args.threads)
                    after = cpu_now(server.proc.pid, database_pid)
                    t = totals[code, name]
                    t["cpu"] = [used + (b - a if a is not None else 0.0)
                                for used, a, b in zip(t["cpu"], before, after)]
                    t["lat"] += lat
                    t["errors"] += err
                    t["elapsed"] += elapsed
                    t["samples"] += samples
                    t["rounds"].append(len(lat) / elapsed)
                    print(f"[{label}/{code}] round {r + 1} {name:10} {len(lat) / elapsed:8.1f} rps  errors {err}",
                          flush=True)
    finally:
        for server in servers.values():
            server.stop()
    rows = []
    for (code, name), t in totals.items():
        lat = sorted(t["lat"])
        rows.append({"db": label if len(codes) == 1 else f"{label} ({code})", "endpoint": name,
                     "requests": len(lat), "rps": len(lat) / t["elapsed"],
                     "p50": percentile(lat, 0.50) * 1000, "p99": percentile(lat, 0.99) * 1000,
                     "errors": t["errors"], "samples": t["samples"],
                     "cpu": [1000 * used / max(len(lat), 1) for used in t["cpu"]],
                     "database_cpu": database_pid is not None, "rounds": t["rounds"]})
    return rows


@contextlib.contextmanager
def worktree(revision: str | None, workdir: Path):
    """The source tree of `revision` (a temporary git worktree, with this checkout's compiled
    translations), or nothing without one."""
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
    print("\n| db | endpoint | requests | rps | p50 ms | p99 ms | errors | CPU ms per request: app | database | client |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        app, database, client = r["cpu"]
        print(f"| {r['db']} | {r['endpoint']} | {r['requests']} | {r['rps']:.1f} | {r['p50']:.1f} | "
              f"{r['p99']:.1f} | {r['errors']} | {app:.2f} | {f'{database:.2f}' if r['database_cpu'] else '–'} | "
              f"{client:.2f} |")
    print()
    for db in dict.fromkeys(r["db"] for r in rows):
        row = {r["endpoint"]: r for r in rows if r["db"] == db}
        intake, bare = row["intake"], row["bare"]
        ratio = intake["rps"] / bare["rps"] if bare["rps"] else 0.0
        errors = sum(r["errors"] for r in row.values())
        verdict = "ok" if ratio >= TARGET and errors == 0 else "TARGET MISSED"
        keyed = row["intake+key"]["rps"] / bare["rps"] if bare["rps"] else 0.0
        alone = row["service"]["rps"] / bare["rps"] if bare["rps"] else 0.0
        # Each round's ratio too: on a shared machine they show how far one run can be trusted.
        by_round = sorted(i / b for i, b in zip(intake["rounds"], bare["rounds"]) if b)
        spread = f"; rounds {by_round[0]:.2f}–{by_round[-1]:.2f}" if by_round else ""
        print(f"{db}: intake rps / bare rps = {ratio:.2f} (target >= {TARGET:.2f}, zero errors; errors {errors})  "
              f"{verdict}; with an Idempotency-Key {keyed:.2f}{spread}; the service alone {alone:.2f}")
        # On PostgreSQL both endpoints keep every core busy (app, server and client share them), so
        # the ratio follows the CPU a request costs in all three: the budget the target leaves
        # intake, against what it spends. (On SQLite neither fills the cores, most likely because
        # its one write lock serialises the commits, and this reckoning does not hold.)
        spent, budget = sum(intake["cpu"]), sum(bare["cpu"]) / TARGET
        if intake["database_cpu"] and spent and budget:
            print(f"    CPU per request (app + database + client): intake {spent:.2f} ms, "
                  f"bare {sum(bare['cpu']):.2f} ms; at the target intake may spend {budget:.2f} ms: "
                  f"{max(0.0, 1 - budget / spent):.0%} less than now")
        for r in row.values():
            for s in r["samples"]:
                print(f"    {r['endpoint']} error sample: {s!r}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="per endpoint per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--against", metavar="REV", help="also serve git revision REV, round by round beside this code")
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
    finally:
        if rows:
            print_table(rows)
        for leftover in workdir.glob("bench-*.sqlite*"):
            leftover.unlink()
        print(f"(gunicorn logs in {workdir})")


def bench_postgresql(trees, args, workdir: Path) -> list[dict]:
    """On TEST_POSTGRES_URL's server, else a private one; nothing (with a note) without either."""
    pg, drops = None, []
    try:
        server_url = os.environ.get("TEST_POSTGRES_URL")
        if not server_url:
            if not (PG_BIN / "initdb").exists():
                print(f"\n[postgresql] SKIPPED: no TEST_POSTGRES_URL and no PostgreSQL in {PG_BIN}")
                return []
            try:
                pg = PrivatePostgres()
            except (OSError, subprocess.CalledProcessError, LookupError) as error:
                print(f"\n[postgresql] SKIPPED: could not start a private server ({error})")
                return []
            server_url = pg.url
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
