"""A PostgreSQL copy of one of generate.py's scales, made once and cached on the server.

    python benchmarks/pgcopy.py --scale audit-1m [--postgres URL]   # only build the copy

ensure_postgres(scale, seed, server_url) returns the URL of a database on that server holding the
same rows as generate.py's SQLite file of that scale (generated first when missing). The database
is named after the scale and the SQLite file's key (bench_audit_1m_<key>): a new migration or a
change to the generator makes a new one, and a second call with the same key only finds it.

How it is made, in a database named <name>_partial, renamed to <name> when complete:
1. `flask db upgrade` (flask_migrate's upgrade with the app): the real migrations, so the triggers,
   partial and expression indexes and PostgreSQL's own column types are the product's;
2. every table emptied (the reference data the migrations inserted comes back from the file);
3. the non-unique indexes and the foreign keys dropped, the statements that remake them kept (from
   pg_get_indexdef / pg_get_constraintdef, i.e. what the migrations made), the tables' own triggers
   disabled (the trigger-kept counts are copied as the SQLite triggers kept them, not counted twice);
4. each table's rows read from the SQLite file and written with COPY (psycopg), parents first;
5. the indexes built again, the foreign keys added again (which checks every row), triggers enabled,
   each id sequence set past the largest id, then VACUUM ANALYZE.

The server: --postgres URL, else BENCH_POSTGRES_URL, else the development server (DEFAULT_SERVER).
When none answers, ensure_postgres raises NoPostgres, whose message is the line to print.
"""
import argparse
import os
import sqlite3
import time
import zlib
from graphlib import TopologicalSorter

import generate  # benchmarks/generate.py, next to this script

import psycopg  # noqa: E402  (generate.py puts the project on sys.path)
import sqlalchemy as sa  # noqa: E402

DEFAULT_SERVER = "postgresql://partnernet@127.0.0.1:54340/postgres"
SKIPPED = "skipped: no PostgreSQL server (set BENCH_POSTGRES_URL)"


class NoPostgres(RuntimeError):
    """No PostgreSQL server answered at the URL given."""


def server_url(given: str | None = None) -> str:
    """The server to use: the argument, else BENCH_POSTGRES_URL, else the development server."""
    return given or os.environ.get("BENCH_POSTGRES_URL") or DEFAULT_SERVER


def database_name(scale: str, seed: int) -> str:
    seed_part = "" if seed == generate.DEFAULT_SEED else f"_seed{seed}"
    return f"bench_{scale.replace('-', '_')}{seed_part}_{generate.schema_key()}"


def _libpq(url: str, database: str | None = None) -> str:
    """A plain libpq URL (no SQLAlchemy driver name), optionally for another database."""
    parsed = sa.engine.make_url(url).set(drivername="postgresql")
    if database:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def ensure_postgres(scale: str, seed: int = generate.DEFAULT_SEED, server_url: str = DEFAULT_SERVER,
                    log=print) -> str:
    """The URL (postgresql+psycopg://…) of the cached PostgreSQL copy of this scale, made first when missing."""
    name = database_name(scale, seed)
    url = sa.engine.make_url(_libpq(server_url, name)).set(drivername="postgresql+psycopg")
    url = url.render_as_string(hide_password=False)
    try:
        admin = psycopg.connect(_libpq(server_url), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        raise NoPostgres(f"{SKIPPED}; {server_url}: {str(error).strip().splitlines()[0]}") from error
    with admin:
        exists = "SELECT 1 FROM pg_database WHERE datname = %s"
        if admin.execute(exists, (name,)).fetchone():
            log(f"[{scale}] reusing PostgreSQL database {name}")
            return url
        # One builder per name at a time (another benchmark may be asking for the same copy).
        admin.execute("SELECT pg_advisory_lock(%s)", (zlib.crc32(name.encode()),))
        if admin.execute(exists, (name,)).fetchone():
            log(f"[{scale}] reusing PostgreSQL database {name}")
            return url
        source = generate.ensure_database(scale, seed, log)
        started = time.perf_counter()
        partial = name + "_partial"
        admin.execute(f'DROP DATABASE IF EXISTS "{partial}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{partial}"')
        try:
            counts = _fill(source, _libpq(server_url, partial), log)
        except BaseException:
            admin.execute(f'DROP DATABASE IF EXISTS "{partial}" WITH (FORCE)')
            raise
        admin.execute(f'ALTER DATABASE "{partial}" RENAME TO "{name}"')
        size = admin.execute("SELECT pg_database_size(%s)", (name,)).fetchone()[0]
    log(f"[{scale}] PostgreSQL copy {name} made in {time.perf_counter() - started:.1f} s "
        f"({size / 2**20:,.0f} MiB): " + ", ".join(f"{n:,} {t}" for t, n in counts.items() if n))
    return url


def _fill(source, target: str, log) -> dict:
    from flask_migrate import upgrade

    from partnernet import create_app
    from partnernet.extensions import db

    phase = time.perf_counter()

    def done(what):
        nonlocal phase
        now = time.perf_counter()
        log(f"  {what} in {now - phase:.1f} s")
        phase = now

    app = create_app({"SQLALCHEMY_DATABASE_URI": sa.engine.make_url(target).set(drivername="postgresql+psycopg")})
    with app.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()
    done("flask db upgrade")

    counts = {}
    lite = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    with psycopg.connect(target) as pg:
        pg.execute("SET maintenance_work_mem = '256MB'")
        tables = [t for (t,) in pg.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")]
        parents = {t: set() for t in tables}
        for child, parent in pg.execute(
                "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint "
                "WHERE contype = 'f' AND connamespace = 'public'::regnamespace"):
            child, parent = child.strip('"'), parent.strip('"')
            if child != parent:
                parents[child].add(parent)
        order = list(TopologicalSorter(parents).static_order())
        foreign_keys = pg.execute(
            "SELECT (SELECT relname FROM pg_class WHERE oid = conrelid), conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'f' AND connamespace = 'public'::regnamespace").fetchall()
        indexes = pg.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index AS i "
            "JOIN pg_class AS c ON c.oid = i.indrelid AND c.relnamespace = 'public'::regnamespace "
            "WHERE NOT EXISTS (SELECT 1 FROM pg_constraint AS k WHERE k.conindid = i.indexrelid)").fetchall()
        for table, constraint, _definition in foreign_keys:
            pg.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{constraint}"')
        for index, _definition in indexes:
            pg.execute(f"DROP INDEX {index}")
        pg.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables))
        for table in tables:
            pg.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER USER')
        done(f"{len(indexes)} indexes and {len(foreign_keys)} foreign keys dropped, tables emptied")

        in_file = {t for (t,) in lite.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        with pg.cursor() as cursor:
            for table in order:
                if table not in in_file:
                    continue
                columns = [c for (c,) in pg.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
                    "AND table_name = %s ORDER BY ordinal_position", (table,))]
                listed = ", ".join(f'"{c}"' for c in columns)
                rows = lite.execute(f'SELECT {listed} FROM "{table}"')
                written = 0
                with cursor.copy(f'COPY "{table}" ({listed}) FROM STDIN') as copy:
                    while batch := rows.fetchmany(10000):
                        for row in batch:
                            copy.write_row(row)
                        written += len(batch)
                counts[table] = written
        pg.commit()
        done(f"{sum(counts.values()):,} rows copied")

        for _index, definition in indexes:
            pg.execute(definition)
        pg.commit()
        done(f"{len(indexes)} indexes built")
        for table, constraint, definition in foreign_keys:
            pg.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{constraint}" {definition}')
        for table in tables:
            pg.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER USER')
        sequences = pg.execute(
            "SELECT table_name, column_name, pg_get_serial_sequence(quote_ident(table_name), column_name) "
            "FROM information_schema.columns WHERE table_schema = 'public' "
            "AND pg_get_serial_sequence(quote_ident(table_name), column_name) IS NOT NULL").fetchall()
        for table, column, sequence in sequences:
            pg.execute(f'SELECT setval(%s, COALESCE((SELECT max("{column}") FROM "{table}"), 0) + 1, false)',
                       (sequence,))
        pg.commit()
        done(f"{len(foreign_keys)} foreign keys checked and added, triggers enabled, {len(sequences)} sequences set")
        pg.autocommit = True
        pg.execute("VACUUM ANALYZE")
        done("VACUUM ANALYZE")
    lite.close()
    return counts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(generate.SCALES), default="tenth")
    parser.add_argument("--seed", type=int, default=generate.DEFAULT_SEED)
    parser.add_argument("--postgres", metavar="URL", help="the server (default: BENCH_POSTGRES_URL, else "
                        f"{DEFAULT_SERVER})")
    args = parser.parse_args(argv)
    try:
        print(ensure_postgres(args.scale, args.seed, server_url(args.postgres)))
    except NoPostgres as error:
        print(error)


if __name__ == "__main__":
    main()
