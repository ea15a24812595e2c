"""Two real scheduler processes against one database: one is active, the other takes over."""
import os
import signal
import subprocess
import sys
import time
import pytest
import sqlalchemy as sa

from partnernet import create_app
from partnernet.config import ROOT
from partnernet.extensions import db
from partnernet.tickets.models import Ticket, TicketEvent
from tests import databases
from tests.test_tickets import certified_partner, open_ticket

ACTIVE = "now the active one"


def start_scheduler(url: str, log_path) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=url, PARTNERNET_ENV="development",
               SCHEDULER_LEADER_CHECK_SECONDS="0.5", SCHEDULER_MINUTE_SECONDS="1", PYTHONUNBUFFERED="1")
    log = open(log_path, "w")
    process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "scheduler"], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    process.log_path = log_path
    return process


def output_of(process: subprocess.Popen) -> str:
    with open(process.log_path) as handle:
        return handle.read()


def wait_for(condition, seconds=20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def run_two_schedulers(url: str, tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        certified_partner()
        ticket_id = open_ticket().id  # offered at NOW with a 15-minute deadline: long past

        def expired_events():
            db.session.expire_all()
            return db.session.execute(sa.select(sa.func.count()).where(
                TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "offer_expired")).scalar()

        first, second = start_scheduler(url, tmp_path / "first.log"), start_scheduler(url, tmp_path / "second.log")
        logs = {}
        try:
            assert wait_for(lambda: expired_events() >= 1), "no scheduler expired the offer"
            time.sleep(2)  # both have had several turns at the job by now
            assert expired_events() == 1
            assert db.session.get(Ticket, ticket_id).status == "hq_queue"
            for process in (first, second):
                logs[process.pid] = output_of(process)
            leaders = [p for p in (first, second) if ACTIVE in logs[p.pid]]
            assert len(leaders) == 1, logs
            leader = leaders[0]
            stand_by = second if leader is first else first
            leader.send_signal(signal.SIGKILL)
            leader.wait()

            assert wait_for(lambda: ACTIVE in output_of(stand_by), 15), output_of(stand_by)
        finally:
            for process in (first, second):
                if process.poll() is None:
                    process.terminate()
                    process.wait(10)
            db.session.remove()
            db.engine.dispose()


def test_two_schedulers_on_sqlite_run_each_job_once_and_one_takes_over(database_url, tmp_path):
    if not database_url.startswith("sqlite"):
        pytest.skip("the SQLite variant; the PostgreSQL one runs below")
    run_two_schedulers(database_url, tmp_path)


def test_two_schedulers_on_postgresql_run_each_job_once_and_one_takes_over(tmp_path):
    with databases.postgres_database("schedulers") as url:
        run_two_schedulers(url, tmp_path)
