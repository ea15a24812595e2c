"""The product app plus two bench endpoints, for bench_intake.py only (never product routes).

`gunicorn benchmarks.bench_app:app` serves everything `wsgi:app` serves, and:

- `POST /bench/bare`: a plain Flask view that inserts one row into `bench_row` and commits (the
  bench waits for it to answer before it starts);
- `POST /bench/service`: the intake service alone (tickets.service.intake, routed and committed)
  for the JSON body of POST /api/v1/tickets, without the API around it: no token, no schemas, an
  answer of just the id. It shows how much of intake's cost is the API's.

Every answer carries `X-Bench-Statements`: the SQL statements the request sent (a
before_cursor_execute listener; a gunicorn sync worker serves one request at a time).

`bench_row` is created here, through db.engine, outside the product's metadata (so migrations
never see it)."""
import sqlalchemy as sa
from flask import Response, jsonify, request
from sqlalchemy.engine import Engine

from partnernet import create_app
from partnernet.auth.models import User
from partnernet.extensions import csrf, db
from partnernet.process import tune_garbage_collector
from partnernet.tickets import service
from partnernet.timeclock import now_utc

app = create_app()
tune_garbage_collector()  # as wsgi.py does in the product's web workers

INSERT = sa.text("INSERT INTO bench_row (at) VALUES (:at)")
_statements = [0]


@sa.event.listens_for(Engine, "before_cursor_execute")
def _count_statement(*_args):
    _statements[0] += 1


@app.before_request
def _start_counting():
    _statements[0] = 0


@app.after_request
def _report_statements(response):
    response.headers["X-Bench-Statements"] = str(_statements[0])
    return response


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


_agent_id = None


@app.route("/bench/service", methods=["POST"])
@csrf.exempt
def bench_service():
    """Intake for the HQ agent, whose id is read once per process (intake uses only the id)."""
    global _agent_id
    if _agent_id is None:
        _agent_id = db.session.execute(sa.select(User.id).where(User.email == "agent@hq.demo")).scalar_one()
    data = request.get_json()
    ticket = service.intake(service.IntakeRequest(
        customer_id=data["customer_id"], product_line=data["product_line"], complexity=data["complexity"],
        channel=data["channel"], subject=data["subject"], description=data["description"], tier=data.get("tier")),
        User(id=_agent_id), now_utc())
    return jsonify(id=sa.inspect(ticket).identity[0]), 201  # the id without reading the ticket again
