"""Which index SQLite reads certificates through. SQLite plans without statistics (nothing runs
ANALYZE), so an index led by `status` looks as good as any to it; these rules keep routing and
HQ's review queue each on the index made for it, whatever the number of certificates."""
import pytest
import sqlalchemy as sa

from partnernet.extensions import db
from partnernet.network.certifications import ReviewFilters, pending_statement
from partnernet.network.models import Certification
from partnernet.tickets import routing_data
from partnernet.timeclock import now_utc

NOW = now_utc()


def plan(statement, values: dict) -> list[str]:
    """SQLite's query plan of a statement, one line per step."""
    compiled = statement.compile(dialect=db.engine.dialect)
    params = [values.get(name, compiled.params.get(name)) for name in compiled.positiontup]
    raw = db.session.connection().connection.driver_connection
    return [row[3] for row in raw.execute("EXPLAIN QUERY PLAN " + str(compiled), params)]


@pytest.fixture
def sqlite_only(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the plan is SQLite's (PostgreSQL plans from its statistics)")


def test_routing_looks_for_certified_engineers_from_each_partners_engineers(app, sqlite_only):
    steps = plan(routing_data.CANDIDATES, {
        "ticket_id": 1, "code0": "110101", "code1": "110100", "code2": "110000", "product_line_id": 1,
        "day": NOW.date()})
    certificate_reads = [step for step in steps if step.startswith("SEARCH certification")]
    assert certificate_reads, steps
    # Not "every valid certificate of the network, then its engineer": that grows with the network.
    assert all("ix_certification_engineer_line" in step for step in certificate_reads), steps


def test_the_review_queue_reads_pending_certificates_oldest_first_from_its_own_index(app, sqlite_only):
    statement = pending_statement(ReviewFilters(), NOW).order_by(Certification.submitted_at, Certification.id)
    steps = plan(statement, {})
    assert any(step.startswith("SCAN certification USING INDEX ix_certification_pending_submitted")
               or step.startswith("SEARCH certification USING INDEX ix_certification_pending_submitted")
               for step in steps), steps
    assert not any("TEMP B-TREE" in step for step in steps), steps
