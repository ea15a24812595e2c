"""The product app plus one bare endpoint, for bench_intake.py only (never a product route).

`gunicorn benchmarks.bench_app:app` serves everything `wsgi:app` serves, and `POST /bench/bare`:
a plain Flask view that inserts one row into `bench_row` and commits. The table is created here,
through db.engine, outside the product's metadata (so migrations never see it)."""
import sqlalchemy as sa
from flask import Response

from partnernet import create_app
from partnernet.extensions import csrf, db
from partnernet.process import tune_garbage_collector
from partnernet.timeclock import now_utc

app = create_app()
tune_garbage_collector()  # as wsgi.py does in the product's web workers

INSERT = sa.text("INSERT INTO bench_row (at) VALUES (:at)")


def _create_table():
    with app.app_context():
        serial = "serial" if db.engine.dialect.name == "postgresql" else "integer"
        try:
            with db.engine.begin() as connection:
                connection.execute(sa.text(
                    f"CREATE TABLE IF NOT EXISTS bench_row (id {serial} PRIMARY KEY, at text)"))
        except sa.exc.DBAPIError:
            # Several workers may race on PostgreSQL's catalog; one of them wins, which is enough.
            with db.engine.connect() as connection:
                connection.execute(sa.text("SELECT 1 FROM bench_row LIMIT 1"))


_create_table()


@app.route("/bench/bare", methods=["POST"])
@csrf.exempt
def bench_bare():
    db.session.execute(INSERT, {"at": now_utc().isoformat()})
    db.session.commit()
    return Response(status=204)
