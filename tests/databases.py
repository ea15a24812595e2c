"""Real databases for the tests: a migrated template, cloned fresh for every test.

SQLite: the template is a file, copied per test. PostgreSQL (TEST_DATABASE_URL or
TEST_POSTGRES_URL): the template is a database, cloned with CREATE DATABASE … TEMPLATE.
Without PostgreSQL the tests that need it skip, except in CI (CI=true), where they fail.
"""
import contextlib
import os
import shutil
import sqlite3
import time
import uuid

import pytest
import sqlalchemy as sa

IN_CI = os.environ.get("CI", "").lower() == "true"


def postgres_admin_url() -> str | None:
    """A URL of a PostgreSQL server we may create databases on, if one is configured."""
    url = os.environ.get("TEST_POSTGRES_URL") or os.environ.get("TEST_DATABASE_URL")
    if url and url.startswith("postgres"):
        return url.replace("postgresql://", "postgresql+psycopg://", 1)
    return None


def require_postgres() -> str:
    url = postgres_admin_url()
    if url is None:
        message = "needs PostgreSQL: set TEST_POSTGRES_URL (e.g. postgresql://user@localhost/postgres)"
        if IN_CI:
            pytest.fail(message + " — CI must run it, not skip it")
        pytest.skip(message)
    return url


def migrate(url: str) -> None:
    from flask_migrate import upgrade
    from partnernet import create_app
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        upgrade()
        from partnernet.extensions import db
        db.engine.dispose()


class SqliteDatabases:
    def __init__(self, directory):
        self.directory = directory
        self.template = os.path.join(directory, "template.sqlite")

    def create_template(self):
        migrate("sqlite:///" + self.template)
        connection = sqlite3.connect(self.template)
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file
        connection.close()

    def clone(self) -> str:
        path = os.path.join(self.directory, f"test-{uuid.uuid4().hex[:8]}.sqlite")
        shutil.copyfile(self.template, path)
        return "sqlite:///" + path

    def drop(self, url: str):
        path = url[len("sqlite:///"):]
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)


class PostgresDatabases:
    def __init__(self, admin_url: str, name: str = "tmpl"):
        self.admin_url = sa.make_url(admin_url)
        self.engine = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        self.template = f"partnernet_{name}_{os.getpid()}"

    def url_for(self, name: str) -> str:
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def create_template(self):
        with self.engine.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.template}"'))
            connection.execute(sa.text(f'CREATE DATABASE "{self.template}"'))
        migrate(self.url_for(self.template))

    def clone(self) -> str:
        name = f"partnernet_t_{uuid.uuid4().hex[:10]}"
        with self.engine.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
        return self.url_for(name)

    def drop(self, url: str):
        self._drop(sa.make_url(url).database)

    def close(self):
        self._drop(self.template)
        self.engine.dispose()

    def _drop(self, name: str, attempts: int = 5):
        # FORCE terminates the database's sessions; a role without pg_signal_backend cannot
        # terminate an autovacuum worker that happens to be there, so wait for it instead.
        for attempt in range(attempts):
            try:
                with self.engine.connect() as connection:
                    connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                return
            except sa.exc.DBAPIError:
                if attempt == attempts - 1:
                    raise
                time.sleep(0.5 * (attempt + 1))


@contextlib.contextmanager
def postgres_database(name: str, admin_url: str | None = None):
    """A migrated database of its own on the PostgreSQL server at admin_url, by default the tests'
    (skipped without one, failed in CI), for a test that needs PostgreSQL whatever
    TEST_DATABASE_URL says; its URL, dropped afterwards."""
    factory = PostgresDatabases(admin_url or require_postgres(), name=name)
    factory.create_template()
    url = factory.clone()
    try:
        yield url
    finally:
        factory.drop(url)
        factory.close()
