"""Backing up and restoring the database: SQLite's online backup API, or pg_dump/pg_restore."""
import shutil
import sqlite3
import subprocess

import sqlalchemy as sa


class BackupError(RuntimeError):
    pass


def sqlite_path(url: sa.URL) -> str:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return url.database


def libpq_url(url: sa.URL) -> str:
    """The URL as pg_dump understands it (no SQLAlchemy driver suffix)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def backup(url: sa.URL, target: str) -> None:
    """A consistent copy of the live database in `target`, taken while the app keeps running."""
    if url.get_backend_name() == "sqlite":
        copy_sqlite(sqlite_path(url), target)
    elif url.get_backend_name() == "postgresql":
        if shutil.which("pg_dump") is None:
            raise BackupError("pg_dump is not installed (Debian: apt-get install postgresql-client)")
        run(["pg_dump", "--format=custom", "--no-owner", "--file", target, libpq_url(url)])
    else:
        raise BackupError(f"no backup for {url.get_backend_name()}")


def restore(url: sa.URL, source_file: str) -> None:
    """Replace the database's contents with a backup made by backup()."""
    if url.get_backend_name() == "sqlite":
        copy_sqlite(source_file, sqlite_path(url), check_source=True)
    elif url.get_backend_name() == "postgresql":
        if shutil.which("pg_restore") is None:
            raise BackupError("pg_restore is not installed (Debian: apt-get install postgresql-client)")
        run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
             "--dbname", libpq_url(url), source_file])
    else:
        raise BackupError(f"no restore for {url.get_backend_name()}")


def copy_sqlite(source_path: str, destination_path: str, check_source: bool = False) -> None:
    """SQLite's online backup API, page by page, while others keep using the source."""
    source = sqlite3.connect(source_path)
    destination = sqlite3.connect(destination_path)
    try:
        if check_source:
            source.execute("PRAGMA quick_check")  # refuses a file that is not a database
        with destination:
            source.backup(destination)
    finally:
        destination.close()
        source.close()


def run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()[:2000]}")
