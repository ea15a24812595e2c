"""Shared fixtures: a fresh migrated database per test, the app, a client, signing in."""
import os

import pytest

os.environ.setdefault("PARTNERNET_ENV", "development")
# The suite's clients all come from 127.0.0.1 and call the API faster than any integration would
# (the load test, the fuzzer, the bad-input crawl): the API's rate limits are far above their pace
# here, servers started by the tests included. The limits are tested where they are the subject,
# with small ones of their own (tests/test_api.py, tests/test_feedback.py).
for _limit in ("API_RATE_LIMIT_PER_TOKEN", "API_RATE_LIMIT_PER_ADDRESS", "API_FAILED_TOKENS_PER_ADDRESS",
               "CONFIRMATION_RATE_LIMIT"):
    os.environ.setdefault(_limit, "1000000 per minute")

from partnernet import create_app  # noqa: E402
from partnernet.extensions import db, limiter  # noqa: E402
from tests import databases  # noqa: E402

# The clock sweep (.ci/clock-sweep) runs the tests marked `clock` with the wall clock moved to six
# moments in China (night, noon and evening; a working day and a Sunday). Every test is marked but
# those of the modules below: the first pin every time they use or read no time at all; the last four
# are long and assert what holds at any hour (no 500, a scope's 404, one winner of a race), so they
# run once, in `make test`. A new test module is swept unless it is named here with its reason.
CLOCK_FREE_MODULES = {
    "test_demo": "seeds the demo on a fixed day and hour (TODAY, NOW) and compares databases",
    "test_sla": "pure business-time arithmetic between fixed instants",
    "test_routing": "the pure routing decision at a fixed NOW",
    "test_calendar": "the working-day table for fixed years and days",
    "test_migrations": "the schema, up and down",
    "test_translations": "the catalogues and templates",
    "test_model_constraints": "the database's constraints (uniqueness, enumerations), whatever the dates",
    "test_bad_input": "nasty values on every form and endpoint answer an error, never a 500 (about 80 s)",
    "test_api_fuzz": "schemathesis's generated requests answer as documented, never a 500",
    "test_authorization_matrix": "every page and endpoint for every role: in scope or a 404",
    "test_concurrency": "eight threads race each transition at a fixed NOW: exactly one wins (about 100 s)",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.module.__name__.rpartition(".")[2] not in CLOCK_FREE_MODULES:
            item.add_marker(pytest.mark.clock)


# The sweep's first two moments (a working night and a Sunday night) note which tests read the app's
# wall clock (partnernet.timeclock), in the test, its fixtures or its module's import, into
# CLOCK_READERS_FILE; the other four moments run only those: a test that never reads the clock
# cannot depend on the hour. The modules below start servers or schedulers, whose clocks are read in
# other processes: they are noted whole.
PROCESS_CLOCK_MODULES = {"test_faults", "test_load", "test_scheduler_processes"}
CLOCK_READERS_FILE = os.environ.get("CLOCK_READERS_FILE")
_clock_read = [False]

if CLOCK_READERS_FILE:
    from datetime import datetime as _datetime

    from partnernet import timeclock

    class _NotedDatetime(_datetime):
        """timeclock's datetime: reading the wall clock notes it."""

        @classmethod
        def now(cls, tz=None):
            _clock_read[0] = True
            return _datetime.now(tz)

    timeclock.datetime = _NotedDatetime


def _note_clock_reader(nodeid: str) -> None:
    with open(CLOCK_READERS_FILE, "a", encoding="utf-8") as readers:
        readers.write(nodeid + "\n")


def pytest_collectstart(collector):
    _clock_read[0] = False


def pytest_collectreport(report):
    if CLOCK_READERS_FILE and _clock_read[0] and report.nodeid.endswith(".py"):
        _note_clock_reader(report.nodeid)  # the module read it on import: all its tests


@pytest.fixture(autouse=True)
def clock_reader(request):
    _clock_read[0] = False
    yield
    if CLOCK_READERS_FILE and (_clock_read[0] or request.module.__name__.rpartition(".")[2] in PROCESS_CLOCK_MODULES):
        _note_clock_reader(request.node.nodeid)


@pytest.fixture(scope="session")
def database_factory(tmp_path_factory):
    """Where each test's database comes from: SQLite by default, PostgreSQL with TEST_DATABASE_URL."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    if url.startswith("postgres"):
        factory = databases.PostgresDatabases(databases.postgres_admin_url())
    else:
        factory = databases.SqliteDatabases(str(tmp_path_factory.mktemp("db")))
    factory.create_template()
    yield factory
    if hasattr(factory, "close"):
        factory.close()


@pytest.fixture
def database_url(database_factory):
    url = database_factory.clone()
    yield url
    database_factory.drop(url)


@pytest.fixture
def app(database_url):
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": database_url,
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
    })
    with app.app_context():
        limiter.reset()  # sign-in throttling counts start at zero for every test
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def login_as(client):
    """Sign a user in through the real login form."""
    def login(user, password="correct horse battery"):
        response = client.post("/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, "sign-in failed"
        return client
    return login


@pytest.fixture
def invariants(app):
    """Check the product's invariants after the test's scenario, on the test's own clock."""
    yield
    from partnernet.invariants import check
    from partnernet.tickets.models import TicketEvent
    db.session.rollback()
    latest = db.session.execute(db.select(db.func.max(TicketEvent.at))).scalar()
    if latest is not None:
        report = check(latest)
        assert report.ok, report.lines()
