"""Real servers for the fault and load tests: a private PostgreSQL cluster the test may restart,
and the app under gunicorn on loopback. Both live in temporary directories and are stopped by
the test that started them.
"""
import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from partnernet.config import ROOT
from tests.databases import IN_CI

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_binaries() -> Path | None:
    """The newest PostgreSQL server binaries installed (Debian's layout), or PG_BIN."""
    if os.environ.get("PG_BIN"):
        path = Path(os.environ["PG_BIN"])
        return path if (path / "initdb").exists() else None
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    return found[-1].parent if found else None


def require_postgres_binaries() -> Path:
    """PostgreSQL's initdb and pg_ctl, to run a server of the test's own; skip without them, except in CI."""
    path = postgres_binaries()
    if path is None or (os.geteuid() == 0 and shutil.which("runuser") is None):
        message = ("needs PostgreSQL's server binaries (initdb, pg_ctl; Debian: apt-get install postgresql, "
                   "or PG_BIN=…) to start a private server")
        if IN_CI:
            pytest.fail(message + " — CI must run it, not skip it")
        pytest.skip(message)
    return path


class PostgresServer:
    """A private cluster like .ci/run's: trust auth, 127.0.0.1 only, fsync off. As root, initdb
    and the server run as the `postgres` user (initdb refuses root), so the directory is theirs."""

    def __init__(self, binaries: Path):
        self.binaries = binaries
        self.root = Path(tempfile.mkdtemp(prefix="partnernet-test-pg."))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.log = self.root / "server.log"
        self.sockets.mkdir()
        if os.geteuid() == 0:
            for path in (self.root, self.sockets):
                shutil.chown(path, "postgres", "postgres")
        os.chmod(self.root, 0o700)
        self.port = free_port()
        self.running = False
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def pg(self, program: str, *args: str) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        result = subprocess.run([*prefix, str(self.binaries / program), *args], capture_output=True, text=True,
                                cwd="/")
        if result.returncode != 0:
            raise RuntimeError(f"{program} {' '.join(args)} failed ({result.returncode}):\n{result.stdout}"
                               f"{result.stderr}\n{self.log_tail()}")
        return result

    def start(self) -> "PostgresServer":
        try:
            self.pg("initdb", "-D", str(self.data), "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8",
                    "--auth-local=trust", "--auth-host=trust")
            self.running = True  # from here on, stop() has a server to stop
            self.pg("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start", "-o",
                    f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sockets} -c fsync=off "
                    "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
        except RuntimeError:
            self.stop()
            raise
        return self

    def restart(self) -> float:
        """`pg_ctl restart -m fast`: every session is ended, the server stops and starts again.
        Returns the seconds pg_ctl took, i.e. until the server accepts connections again."""
        started = time.monotonic()
        self.pg("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-m", "fast", "-w", "-t", "60", "restart")
        return time.monotonic() - started

    def create_database(self, name: str) -> str:
        self.pg("psql", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                "-d", "postgres", "-c", f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self):
        if self.running:
            try:
                self.pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
            except RuntimeError:
                pass  # not running (it never started, or it is already gone)
            self.running = False
        shutil.rmtree(self.root, ignore_errors=True)


class Gunicorn:
    """The product app (`wsgi:app`) under gunicorn with sync workers on 127.0.0.1, in production
    configuration, against `database_url`; ready when it answers the sign-in page."""

    def __init__(self, database_url: str, log_path: Path, workers: int = 4):
        self.port = free_port()
        self.log_path = log_path
        self.log = open(log_path, "w")
        env = dict(os.environ, PARTNERNET_ENV="production", SECRET_KEY="test-not-secret",
                   DATABASE_URL=database_url, SESSION_COOKIE_SECURE="0", PYTHONUNBUFFERED="1")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "wsgi:app", "-w", str(workers), "-b", f"127.0.0.1:{self.port}",
             "--backlog", "256", "--timeout", "60", "--graceful-timeout", "5"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.wait_ready()

    def wait_ready(self, seconds: float = 60.0):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.process.returncode}):\n{self.output()}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", "/login")
                status = connection.getresponse().status
                connection.close()
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within {seconds:g} s:\n{self.output()}")

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
