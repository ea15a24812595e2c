"""The migrations: they build exactly the schema the models describe, on SQLite and PostgreSQL,
leave a working system on an empty database, go down and up again, and keep events append-only.

These tests make their own empty databases (the `app` fixture's come already migrated):
a SQLite file, or a scratch database on the PostgreSQL server of tests.databases.require_postgres().
"""
import contextlib
import os
import uuid
from datetime import datetime
from pprint import pformat

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from partnernet import create_app
from partnernet.extensions import db
from partnernet.regions.service import read_data_file
from partnernet.settings.service import DEFAULTS
from tests import databases

from alembic.script import ScriptDirectory
from partnernet.config import ROOT

# The newest revision in migrations/: what an upgrade must reach.
HEAD = ScriptDirectory(str(ROOT / "migrations")).get_current_head()
APPEND_ONLY = ("ticket_event", "party_event", "change_event")


# -- empty databases ----------------------------------------------------------------------------

@contextlib.contextmanager
def empty_sqlite(directory):
    path = os.path.join(str(directory), f"empty-{uuid.uuid4().hex[:8]}.sqlite")
    yield "sqlite:///" + path


@contextlib.contextmanager
def empty_postgres():
    """A new, empty database on the test PostgreSQL server, dropped afterwards."""
    admin_url = sa.make_url(databases.require_postgres())
    name = f"partnernet_mig_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            yield admin_url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture
def empty_database_url(tmp_path):
    """An empty database on the backend the suite runs on (TEST_DATABASE_URL picks PostgreSQL)."""
    if os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"):
        with empty_postgres() as url:
            yield url
    else:
        with empty_sqlite(tmp_path) as url:
            yield url


@contextlib.contextmanager
def app_on(url):
    """The app bound to `url`, inside an app context; its connections closed on the way out."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


def current_revision(connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


# -- (a) the models and the migrations agree ------------------------------------------------------

def schema_differences(url) -> list:
    """Upgrade the empty database at `url` to head, then autogenerate's diff against the models."""
    with app_on(url):
        flask_migrate.upgrade()
        with db.engine.connect() as connection:
            assert current_revision(connection) == HEAD
            # As migrations/env.py configures it (render_as_batch comes from create_app's Migrate).
            context = MigrationContext.configure(connection, opts={
                "compare_type": True,
                "render_as_batch": True,
                "target_metadata": db.metadata,
            })
            return compare_metadata(context, db.metadata)


def test_models_agree_with_migrations_on_sqlite(tmp_path):
    with empty_sqlite(tmp_path) as url:
        differences = schema_differences(url)
    assert differences == [], "the models differ from the migrated schema:\n" + pformat(differences)


def test_models_agree_with_migrations_on_postgresql():
    with empty_postgres() as url:
        differences = schema_differences(url)
    assert differences == [], "the models differ from the migrated schema:\n" + pformat(differences)


# -- (b) an empty database, upgraded, is a working system -------------------------------------------

def test_upgrade_on_empty_database_leaves_a_working_system(empty_database_url):
    from partnernet.network.models import Party, ProductLine
    from partnernet.regions.models import Region
    from partnernet.regions.service import chain
    from partnernet.settings.models import Setting, SlaPolicy
    from partnernet.settings.service import load_settings

    with app_on(empty_database_url):
        flask_migrate.upgrade()
        session = db.session

        regions = session.scalar(sa.select(sa.func.count()).select_from(Region))
        assert regions == len(read_data_file())
        assert 3000 < regions < 3500
        assert [r.code for r in chain("330106")] == ["330106", "330100", "330000"]
        assert session.get(Region, "330106").level == "county"
        provinces = session.scalar(sa.select(sa.func.count()).where(Region.parent_code.is_(None)))
        assert provinces == session.scalar(sa.select(sa.func.count()).where(Region.level == "province"))
        assert 30 <= provinces <= 35

        lines = session.execute(sa.select(ProductLine)).scalars().all()
        assert sorted(line.code for line in lines) == ["integration", "mobile", "oa-core", "workflow"]
        assert all(line.active and line.name_zh and line.name_en for line in lines)

        parties = session.execute(sa.select(Party)).scalars().all()
        assert [(p.kind, p.status) for p in parties] == [("hq", "active")]
        assert parties[0].tiers == ["L1", "L2", "L3"]

        stored = {s.key: s.value for s in session.execute(sa.select(Setting)).scalars()}
        assert stored == DEFAULTS
        assert load_settings() == DEFAULTS

        policies = {p.code: p for p in session.execute(sa.select(SlaPolicy)).scalars()}
        assert sorted(policies) == ["24x7", "business-hours"]
        assert policies["business-hours"].kind == "business_hours"
        assert (policies["business-hours"].day_start.hour, policies["business-hours"].day_end.hour) == (9, 18)
        assert policies["24x7"].kind == "always"
        assert policies["24x7"].day_start is None and policies["24x7"].day_end is None


# -- (c) down to nothing and up again ----------------------------------------------------------------

def leftovers(connection) -> list:
    """Whatever the schema still holds besides Alembic's own table: tables, indexes, triggers, functions."""
    if connection.dialect.name == "sqlite":
        return connection.execute(sa.text(
            "SELECT type, name FROM sqlite_master "
            "WHERE name NOT LIKE 'sqlite_%' AND name NOT IN ('alembic_version', 'alembic_version_pkc')")).all()
    return connection.execute(sa.text(
        "SELECT 'relation', c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relname NOT IN ('alembic_version', 'alembic_version_pkc') "
        "UNION ALL SELECT 'function', p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = 'public' "
        "UNION ALL SELECT 'type', t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
        "WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd')")).all()


def append_only_triggers(connection) -> list[str]:
    if connection.dialect.name == "sqlite":
        return connection.scalars(sa.text(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name")).all()
    return connection.scalars(sa.text(
        "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY tgname")).all()


def assert_downgrade_and_upgrade_again(url):
    with app_on(url):
        flask_migrate.upgrade()
        flask_migrate.downgrade(revision="base")
        with db.engine.connect() as connection:
            assert current_revision(connection) is None
            assert set(sa.inspect(connection).get_table_names()) <= {"alembic_version"}
            assert leftovers(connection) == []  # no table, index, trigger or function left behind

        flask_migrate.upgrade()
        with db.engine.connect() as connection:
            assert current_revision(connection) == HEAD
            assert set(sa.inspect(connection).get_table_names()) >= set(db.metadata.tables)
            assert connection.scalar(sa.text("SELECT count(*) FROM party WHERE kind = 'hq'")) == 1
            assert connection.scalar(sa.text("SELECT count(*) FROM sla_policy")) == 2
            assert connection.scalar(sa.text("SELECT count(*) FROM region")) == len(read_data_file())
            if connection.dialect.name == "sqlite":
                expected = [f"{t}_no_{a}" for t in APPEND_ONLY for a in ("delete", "update")]
            else:
                expected = [f"{t}_append_only" for t in APPEND_ONLY]
            # and the triggers that keep the dashboard's counts (0009) and the weekly offer counts (0021)
            counts = ["ticket_event_count", "ticket_event_count_offer"] if connection.dialect.name == "sqlite" \
                else ["ticket_event_count"]
            counts.append("ticket_event_count_offer_week")
            assert append_only_triggers(connection) == sorted(expected + counts)


def test_downgrade_to_base_and_up_again(tmp_path):
    with empty_sqlite(tmp_path) as url:
        assert_downgrade_and_upgrade_again(url)


def test_downgrade_to_base_and_up_again_on_postgresql():
    with empty_postgres() as url:
        assert_downgrade_and_upgrade_again(url)


# -- (d) events are append-only, by the database's own rule ---------------------------------------

def insert_events(engine) -> dict:
    """The fewest rows for a ticket_event, a party_event and a change_event; their ids."""
    now = datetime(2026, 1, 5, 9, 30)
    with engine.begin() as connection:
        def insert(sql, **values):
            return connection.execute(sa.text(sql + " RETURNING id"), values).scalar_one()

        hq_id = connection.scalar(sa.text("SELECT id FROM party WHERE kind = 'hq'"))
        line_id = connection.scalar(sa.text("SELECT id FROM product_line WHERE code = 'workflow'"))
        customer_id = insert(
            "INSERT INTO customer (name, region_code, sold_by_party_id, created_at) "
            "VALUES (:name, :region, :party, :now)",
            name="杭州测试客户", region="330106", party=hq_id, now=now)
        ticket_id = insert(
            "INSERT INTO ticket (customer_id, region_code, product_line_id, complexity, channel, tier, "
            "billable, subject, description, status, created_at, updated_at) "
            "VALUES (:customer, :region, :line, 'simple', 'web', 'L1', :billable, :subject, '', 'new', :now, :now)",
            customer=customer_id, region="330106", line=line_id, billable=False, subject="打不开", now=now)
        ticket_event_id = insert(
            "INSERT INTO ticket_event (ticket_id, at, kind, to_status) VALUES (:ticket, :now, 'created', 'new')",
            ticket=ticket_id, now=now)
        party_event_id = insert(
            "INSERT INTO party_event (party_id, at, kind) VALUES (:party, :now, 'created')",
            party=hq_id, now=now)
        change_event_id = insert(
            "INSERT INTO change_event (at, kind, target, data) VALUES (:now, 'setting_changed', 'audit_threshold', "
            "'{\"from\": \"0.20\", \"to\": \"0.25\"}')", now=now)
    return {"ticket_event": ticket_event_id, "party_event": party_event_id, "change_event": change_event_id}


CHANGES = {
    "ticket_event": ["UPDATE ticket_event SET note = 'rewritten' WHERE id = :id",
                     "UPDATE ticket_event SET kind = 'note' WHERE id = :id",
                     "DELETE FROM ticket_event WHERE id = :id",
                     "DELETE FROM ticket_event"],
    "party_event": ["UPDATE party_event SET reason = 'rewritten' WHERE id = :id",
                    "DELETE FROM party_event WHERE id = :id"],
    "change_event": ["UPDATE change_event SET actor_user_id = NULL, target = 'offer_deadline_minutes' WHERE id = :id",
                     "DELETE FROM change_event"],
}


def assert_events_are_append_only(url):
    with app_on(url):
        flask_migrate.upgrade()
        ids = insert_events(db.engine)
        for table, statements in CHANGES.items():
            for statement in statements:
                with pytest.raises(sa.exc.DBAPIError) as refused:
                    with db.engine.begin() as connection:
                        connection.execute(sa.text(statement), {"id": ids[table]})
                assert f"{table} is append-only" in str(refused.value), statement
        with db.engine.connect() as connection:
            row = connection.execute(sa.text(
                "SELECT kind, note FROM ticket_event WHERE id = :id"), {"id": ids["ticket_event"]}).one()
            assert tuple(row) == ("created", None)
            assert connection.scalar(sa.text("SELECT count(*) FROM party_event")) == 1
            # Appending is still allowed, and so is changing the ticket the events belong to.
            connection.execute(sa.text(
                "INSERT INTO ticket_event (ticket_id, at, kind) "
                "SELECT ticket_id, at, 'note' FROM ticket_event WHERE id = :id"), {"id": ids["ticket_event"]})
            connection.execute(sa.text("UPDATE ticket SET subject = 'still editable'"))
            connection.commit()
            assert connection.scalar(sa.text("SELECT count(*) FROM ticket_event")) == 2


def test_ticket_events_are_append_only_on_sqlite(tmp_path):
    with empty_sqlite(tmp_path) as url:
        assert_events_are_append_only(url)


def test_ticket_events_are_append_only_on_postgresql():
    with empty_postgres() as url:
        assert_events_are_append_only(url)
