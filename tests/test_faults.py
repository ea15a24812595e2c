"""Faults the product survives: a scheduler killed (SIGKILL) in the middle of expiring a batch of
offers, and the PostgreSQL server restarted under the running app. Real processes and servers:
`flask --app wsgi scheduler`, gunicorn, a PostgreSQL cluster of the test's own."""
import itertools
import signal
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from partnernet import create_app
from partnernet.auth import tokens
from partnernet.api.models import IdempotencyKey
from partnernet.extensions import db
from partnernet.invariants import STATUS_EVENTS, check
from partnernet.settings.models import SlaPolicy
from partnernet.tickets import service
from partnernet.tickets.models import SLA_EVENT_KINDS, Ticket, TicketEvent
from partnernet.timeclock import now_utc
from tests import databases, factories
from tests.load_client import ApiClient, Tally
from tests.servers import Gunicorn, PostgresServer, free_port, require_postgres_binaries
from tests.test_scheduler_processes import ACTIVE, output_of, start_scheduler

STALE = "offer live past its deadline"


# --- the scheduler killed in the middle of a batch ------------------------------------------------

BATCH = 400  # tickets whose offers are all past their deadline when the scheduler starts


def wait_for(condition, seconds: float, every: float = 0.2) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False


def expiry_network():
    """Xihu district (330106) is covered by a county agent certified for workflow and mobile, and
    Hangzhou (330100) by a joint venture certified for workflow only. A ticket is offered to the
    agent first; when that offer expires, a workflow ticket goes to the joint venture and a mobile
    ticket, with nobody left, to HQ's queue."""
    agent = factories.partner(kind="agent", capacity=1000)
    factories.coverage(agent, "330106")
    engineer = factories.engineer(agent)
    factories.certification(engineer, "workflow")
    factories.certification(engineer, "mobile")
    venture = factories.partner(kind="joint_venture", capacity=1000)
    factories.coverage(venture, "330100")
    factories.certification(factories.engineer(venture), "workflow")
    return agent, venture


def open_overdue_offers(agent, count: int) -> dict[int, str]:
    """`count` tickets opened an hour ago, each offered to the agent with a deadline 45 minutes
    past; their product lines by id. The contract is served 24x7, so the offers run on the wall
    clock whatever the hour: a business-hours offer opened at night would wait for the morning."""
    customer = factories.customer(region_code="330106")
    round_the_clock = db.session.execute(sa.select(SlaPolicy).where(SlaPolicy.code == "24x7")).scalar_one()
    factories.contract(customer, sla_policy_id=round_the_clock.id)
    opened = now_utc() - timedelta(hours=1)
    lines = {}
    for n in range(count):
        line = "workflow" if n % 2 == 0 else "mobile"
        ticket = service.intake(service.IntakeRequest(
            customer_id=customer.id, product_line=line, complexity="simple", channel="phone",
            subject=f"到期批次 {n}", tier="L2"), None, opened)
        assert (ticket.status, ticket.offered_party_id) == ("offered", agent.id)
        lines[ticket.id] = line
    return lines


def status_events() -> dict[int, list[tuple]]:
    """Each ticket's status-setting events in order: (kind, party, reason)."""
    db.session.expire_all()
    rows = db.session.execute(sa.select(TicketEvent.ticket_id, TicketEvent.kind, TicketEvent.party_id,
                                        TicketEvent.reason_code)
                              .where(TicketEvent.kind.in_(STATUS_EVENTS)).order_by(TicketEvent.id)).all()
    found = {}
    for ticket_id, kind, party_id, reason in rows:
        found.setdefault(ticket_id, []).append((kind, party_id, reason))
    return found


def expired_count() -> int:
    db.session.expire_all()
    return db.session.execute(sa.select(sa.func.count()).where(TicketEvent.kind == "offer_expired")).scalar()


def sla_events_recorded_twice() -> list[int]:
    """A met or breached target is recorded once: tickets with two events for one target."""
    target = sa.func.substr(TicketEvent.kind, 1, 8)  # "response" / "resolution"[:8]
    return list(db.session.execute(
        sa.select(TicketEvent.ticket_id).where(TicketEvent.kind.in_(SLA_EVENT_KINDS))
        .group_by(TicketEvent.ticket_id, target).having(sa.func.count() > 1)).scalars())


def assert_each_ticket_whole(lines: dict[int, str], agent, venture, allow_untouched: bool) -> int:
    """Every ticket's history is one of the whole ones: untouched (still offered to the agent), or
    expired once and then offered to the joint venture (workflow) or queued at HQ (mobile). Never
    an expiry without its next step, never two expiries. Returns how many were expired."""
    before = [("created", None, None), ("offered", agent.id, None)]
    after = {"workflow": before + [("offer_expired", agent.id, None), ("offered", venture.id, None)],
             "mobile": before + [("offer_expired", agent.id, None), ("queued_to_hq", None, "all_expired")]}
    expected_status = {"workflow": ("offered", venture.id), "mobile": ("hq_queue", None)}
    histories = status_events()
    tickets = {t.id: t for t in db.session.execute(sa.select(Ticket)).scalars()}
    assert set(tickets) == set(lines)
    expired = 0
    for ticket_id, line in lines.items():
        history, ticket = histories[ticket_id], tickets[ticket_id]
        if allow_untouched and history == before:
            assert (ticket.status, ticket.offered_party_id) == ("offered", agent.id), ticket_id
            continue
        assert history == after[line], (ticket_id, history)
        assert (ticket.status, ticket.offered_party_id) == expected_status[line], ticket_id
        expired += 1
    assert sla_events_recorded_twice() == []
    return expired


def run_scheduler_killed_mid_batch(url: str, tmp_path, capsys):
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        agent, venture = expiry_network()
        lines = open_overdue_offers(agent, BATCH)
        first = start_scheduler(url, tmp_path / "killed.log")
        second = None
        try:
            # Mid-batch: a quarter of the offers expired, and the batch goes on. Kill it there.
            assert wait_for(lambda: expired_count() >= BATCH // 4, 60, every=0.02), output_of(first)
            first.send_signal(signal.SIGKILL)
            first.wait()
            at_kill = expired_count()
            assert BATCH // 4 <= at_kill < BATCH, f"the batch was over before the kill ({at_kill} of {BATCH})"

            # Dead scheduler: every ticket whole, the rest of the batch still offered and stale.
            db.session.rollback()
            assert assert_each_ticket_whole(lines, agent, venture, allow_untouched=True) == at_kill
            report = check(now_utc())
            assert {name: found for name, found in report.violations.items() if name != STALE and found} == {}
            still_offered = sorted(t for t, h in status_events().items() if h[-1][0] == "offered"
                                   and h[-1][1] == agent.id)
            assert report.violations[STALE] == still_offered and len(still_offered) == BATCH - at_kill

            # A new scheduler takes the lock over and finishes the batch, each ticket once.
            second = start_scheduler(url, tmp_path / "restarted.log")
            restarted = time.monotonic()
            assert wait_for(lambda: expired_count() == BATCH, 120), output_of(second)
            finished = time.monotonic() - restarted
            assert ACTIVE in output_of(second)
            time.sleep(2.5)  # two more runs of every job: a finished batch stays finished
            second.terminate()
            second.wait(15)
            db.session.rollback()
            assert assert_each_ticket_whole(lines, agent, venture, allow_untouched=False) == BATCH
            report = check(now_utc())
            assert report.ok, report.lines()
            with capsys.disabled():  # the figures, in every run's output
                print(f"\n[scheduler SIGKILL, {db.engine.dialect.name}] batch {BATCH}: killed at {at_kill} expired; "
                      f"a new scheduler finished the other {BATCH - at_kill} in {finished:.1f} s; no ticket "
                      f"half written or expired twice")
        finally:
            for process in (first, second):
                if process is not None and process.poll() is None:
                    process.kill()
                    process.wait()
            db.session.remove()
            db.engine.dispose()


def test_scheduler_killed_mid_batch_on_sqlite_leaves_every_ticket_whole_and_a_new_one_finishes(
        database_url, tmp_path, capsys):
    if not database_url.startswith("sqlite"):
        pytest.skip("the SQLite variant; the PostgreSQL one runs below")
    run_scheduler_killed_mid_batch(database_url, tmp_path, capsys)


def test_scheduler_killed_mid_batch_on_postgresql_leaves_every_ticket_whole_and_a_new_one_finishes(
        tmp_path, capsys):
    with databases.postgres_database("faults") as url:
        run_scheduler_killed_mid_batch(url, tmp_path, capsys)


# --- PostgreSQL restarted under the running app ---------------------------------------------------

def test_without_its_database_server_the_app_answers_503_and_says_when_to_retry():
    """Nothing listens where the app's PostgreSQL should be: pages and the API answer 503 with
    Retry-After (a 500 would say the request itself is wrong), in the API's error shape."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none",
                      "TESTING": True, "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    api = client.get("/api/v1/tickets", headers={"Authorization": "Bearer pn_" + "x" * 43})
    assert api.status_code == 503 and api.headers["Retry-After"]
    assert api.get_json()["error"]["code"] == "database_unavailable"
    page = client.post("/login", data={"email": "agent@hq.demo", "password": "x"}, headers={"Accept-Language": "en"})
    assert page.status_code == 503 and page.headers["Retry-After"]
    assert "The database is unavailable for a moment" in page.get_data(as_text=True)


WRITERS = 4             # client threads opening tickets
STEADY_SECONDS = 3.0    # of normal service before the restart
AFTER_SECONDS = 8.0     # of service after the restart, all of which must succeed…
RECOVERY_SECONDS = 5.0  # …except within this long of the server being back


def seed_intake(url: str) -> tuple[str, int]:
    """A certified partner for Xihu district, a customer there, an hq_agent with an API token."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        partner = factories.partner(capacity=100000)
        factories.coverage(partner, "330106")
        factories.certification(factories.engineer(partner), "workflow")
        customer = factories.customer(region_code="330106")
        factories.contract(customer)
        _token, secret = tokens.issue_token(factories.user(role="hq_agent"), "faults", now_utc())
        customer_id = customer.id
        db.session.remove()
        db.engine.dispose()
    return secret, customer_id


def test_postgresql_restart_under_the_app_fails_requests_cleanly_and_loses_or_doubles_no_ticket(tmp_path, capsys):
    """Intake clients keep opening tickets (each with an Idempotency-Key, retried until it gets a
    201) while the server is restarted with `pg_ctl restart -m fast`. During the restart the app
    answers 503 database_unavailable, never a 500; a few seconds after the server is back every
    request succeeds; every ticket a client was promised exists once, whole."""
    server = PostgresServer(require_postgres_binaries()).start()
    gunicorn = None
    try:
        url = server.create_database("partnernet_restart")
        databases.migrate(url)
        secret, customer_id = seed_intake(url)
        gunicorn = Gunicorn(url, tmp_path / "gunicorn.log", workers=2)

        tally = Tally()
        numbers = itertools.count(1)
        stop = threading.Event()
        attempts = []       # (request number, answer) for every attempt
        promised = {}       # request number -> ticket id of its 201
        lock = threading.Lock()

        def writer():
            client = ApiClient(gunicorn.port, secret, tally, timeout=30)
            while not stop.is_set():
                n = next(numbers)
                body = {"customer_id": customer_id, "product_line": "workflow", "complexity": "simple",
                        "tier": "L2", "channel": "api", "subject": f"重启 {n}", "description": "restart test"}
                give_up = time.monotonic() + 60
                while time.monotonic() < give_up:
                    answer = client.call("POST", "/api/v1/tickets", body, "POST /tickets",
                                         headers={"Idempotency-Key": f"restart-{n}"})
                    with lock:
                        attempts.append((n, answer))
                    if answer.status == 201:
                        with lock:
                            promised[n] = answer.body["id"]
                        break
                    time.sleep(0.1)
                else:
                    return  # never got its 201: asserted below
            client.close()

        threads = [threading.Thread(target=writer, daemon=True) for _ in range(WRITERS)]
        for thread in threads:
            thread.start()
        time.sleep(STEADY_SECONDS)
        restart_began = time.monotonic()
        restart_took = server.restart()
        back = time.monotonic()
        time.sleep(AFTER_SECONDS)
        stop.set()
        for thread in threads:
            thread.join(90)

        answers = [a for _n, a in attempts]
        before = [a for a in answers if a.at < restart_began]
        failed = [a for a in answers if a.status != 201]
        settled = [a for a in answers if a.at > back + RECOVERY_SECONDS]
        first_failure = min((a.at for a in failed), default=restart_began)
        last_failure = max((a.at for a in failed), default=restart_began)
        summary = tally.summary(WRITERS, time.monotonic() - restart_began + STEADY_SECONDS)
        with capsys.disabled():  # the figures, in every run's output
            print(f"\n[PostgreSQL restart] pg_ctl restart -m fast took {restart_took:.2f} s; "
                  f"{len(failed)} of {len(answers)} attempts failed, {first_failure - restart_began:.2f} s to "
                  f"{last_failure - restart_began:.2f} s after it began; {len(promised)} tickets promised\n{summary}")
        assert before and all(a.status == 201 for a in before), summary
        # Failing cleanly: a 503 in the API's error shape, never a 500 or a dropped connection.
        assert all(a.status == 503 and a.body["error"]["code"] == "database_unavailable" for a in failed), summary
        assert last_failure < back + RECOVERY_SECONDS, summary
        assert settled and all(a.status == 201 for a in settled), summary
        # Every logical request got its ticket in the end, retried under its key.
        asked = {n for n, _a in attempts}
        assert asked == set(promised), f"no 201 for requests {sorted(asked - set(promised))}"

        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
        with app.app_context():
            rows = db.session.execute(sa.select(Ticket.id, Ticket.subject)).all()
            subjects = Counter(subject for _id, subject in rows)
            assert [s for s, k in subjects.items() if k > 1] == []  # a retried request opened no second ticket
            assert {ticket_id for ticket_id, _s in rows} == set(promised.values())
            assert {int(subject.split()[1]): ticket_id for ticket_id, subject in rows} == promised
            histories = status_events()
            assert all([kind for kind, _p, _r in histories[t]] == ["created", "offered"] for t in promised.values())
            keys = db.session.execute(sa.select(IdempotencyKey.key, IdempotencyKey.ticket_id)).all()
            assert sorted(t for _k, t in keys) == sorted(promised.values())  # no key without its ticket
            report = check(now_utc())
            assert report.ok, report.lines()
            db.session.remove()
            db.engine.dispose()
    finally:
        if gunicorn is not None:
            gunicorn.stop()
        server.stop()
