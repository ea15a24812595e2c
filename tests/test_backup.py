"""Backup and restore round-trip a seeded database exactly."""
import shutil

import pytest
import sqlalchemy as sa

from partnernet import backup
from partnernet.extensions import db
from tests.test_tickets import certified_partner, open_ticket


def dump() -> dict:
    """Every row of every table, as sorted tuples."""
    tables = {}
    for table in db.metadata.sorted_tables:
        rows = db.session.execute(sa.select(table)).all()
        tables[table.name] = sorted(tuple(str(v) for v in row) for row in rows)
    return tables


def test_backup_then_restore_gives_back_the_same_database(app, tmp_path):
    if db.engine.dialect.name == "postgresql" and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    certified_partner()
    open_ticket()
    before = dump()
    target = str(tmp_path / "backup.dump")
    db.session.remove()
    backup.backup(db.engine.url, target)
    # Something changes after the backup …
    with db.engine.begin() as connection:
        connection.execute(sa.text("UPDATE party SET name = name || '（改）' WHERE kind <> 'hq'"))
        connection.execute(sa.text("DELETE FROM notification"))
    assert dump() != before
    db.session.remove()
    db.engine.dispose()
    # … and the restore brings back exactly what was backed up.
    backup.restore(db.engine.url, target)
    assert dump() == before


def test_restoring_a_file_that_is_not_a_backup_fails_clearly(app, tmp_path):
    bogus = tmp_path / "not-a-backup"
    bogus.write_text("hello")
    with pytest.raises((backup.BackupError, Exception)):
        backup.restore(db.engine.url, str(bogus))


def test_backup_and_restore_commands(app, tmp_path):
    if db.engine.dialect.name == "postgresql" and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    certified_partner()
    before = dump()
    target = str(tmp_path / "cli.dump")
    db.session.remove()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["backup", target]).exit_code == 0
    with db.engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM coverage_product_line"))
    result = runner.invoke(args=["restore", target, "--yes"])
    assert result.exit_code == 0, result.output
    assert dump() == before
