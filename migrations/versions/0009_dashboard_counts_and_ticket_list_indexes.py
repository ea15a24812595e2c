"""Daily counts of ticket events kept by a trigger, and the ticket list's indexes: the dashboard
and the list at a million tickets

event_count_day holds, per day in China, counted kind and party, how many SLA targets were settled
and tickets resolved; offer_count_month, per month and partner, the offers and what became of
them. Triggers on ticket_event add to them in the transaction that inserts the event (events are
append-only, so nothing ever has to be taken back). What is counted is in
partnernet.tickets.daily; the rows already there are counted here once.

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

OFFER_KINDS = "'offered', 'accepted', 'declined', 'offer_expired', 'returned_to_hq'"
SLA_KINDS = "'response_met', 'response_breached', 'resolution_met', 'resolution_breached'"
COUNTED = f"NEW.kind IN ({SLA_KINDS}) OR (NEW.kind = 'status_changed' AND NEW.to_status = 'resolved')"
OFFER = f"NEW.kind IN ({OFFER_KINDS}) AND NEW.party_id IS NOT NULL"
KIND = "CASE WHEN NEW.kind = 'status_changed' THEN 'resolved' ELSE NEW.kind END"
TICKET_INDEXES = {
    "ix_ticket_created_id": ["created_at", "id"],
    "ix_ticket_due_id": ["resolution_due_at", "id"],
    "ix_ticket_updated_id": ["updated_at", "id"],
    "ix_ticket_line_status_created": ["product_line_id", "status", "created_at", "id", "complexity"],
    "ix_ticket_status_region": ["status", "region_code"],
    "ix_ticket_status_cause": ["status", "hq_queue_cause"],
}


def day_of(column: str) -> str:
    if op.get_bind().dialect.name == "postgresql":
        return f"CAST({column} + INTERVAL '8 hours' AS DATE)"
    return f"date({column}, '+8 hours')"


def month_of(column: str) -> str:
    if op.get_bind().dialect.name == "postgresql":
        return f"CAST(date_trunc('month', {column} + INTERVAL '8 hours') AS DATE)"
    return f"date({column}, '+8 hours', 'start of month')"


def upgrade():
    op.create_table(
        "event_count_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("party_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "kind", "party_id", name=op.f("pk_event_count_day")),
    )
    op.create_index("ix_event_count_day_kind_day", "event_count_day", ["kind", "day", "party_id", "count"])
    op.create_table(
        "offer_count_month",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("party_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("month", "party_id", "kind", name=op.f("pk_offer_count_month")),
    )
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        for name, columns in TICKET_INDEXES.items():
            batch_op.create_index(name, columns, unique=False)

    upsert_day = (f"INSERT INTO event_count_day (day, kind, party_id, count) "
                  f"VALUES ({day_of('NEW.at')}, {KIND}, COALESCE(NEW.party_id, 0), 1) "
                  f"ON CONFLICT (day, kind, party_id) DO UPDATE SET count = event_count_day.count + 1")
    upsert_month = (f"INSERT INTO offer_count_month (month, party_id, kind, count) "
                    f"VALUES ({month_of('NEW.at')}, NEW.party_id, NEW.kind, 1) "
                    f"ON CONFLICT (month, party_id, kind) DO UPDATE SET count = offer_count_month.count + 1")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE OR REPLACE FUNCTION count_ticket_event() RETURNS trigger AS $$
            BEGIN
                IF {COUNTED} THEN
                    {upsert_day};
                ELSIF {OFFER} THEN
                    {upsert_month};
                END IF;
                RETURN NULL;
            END;
            $$ LANGUAGE plpgsql""")
        op.execute("CREATE TRIGGER ticket_event_count AFTER INSERT ON ticket_event "
                   "FOR EACH ROW EXECUTE FUNCTION count_ticket_event()")
    else:
        op.execute(f"CREATE TRIGGER ticket_event_count AFTER INSERT ON ticket_event WHEN {COUNTED} "
                   f"BEGIN {upsert_day}; END")
        op.execute(f"CREATE TRIGGER ticket_event_count_offer AFTER INSERT ON ticket_event WHEN {OFFER} "
                   f"BEGIN {upsert_month}; END")

    event = "ticket_event"
    old = lambda sql: sql.replace("NEW.", f"{event}.")  # noqa: E731 (the trigger's terms over stored rows)
    op.execute(f"""
        INSERT INTO event_count_day (day, kind, party_id, count)
        SELECT {day_of(f'{event}.at')}, {old(KIND)}, COALESCE({event}.party_id, 0), count(*)
        FROM {event} WHERE {old(COUNTED)}
        GROUP BY {day_of(f'{event}.at')}, {old(KIND)}, COALESCE({event}.party_id, 0)""")
    op.execute(f"""
        INSERT INTO offer_count_month (month, party_id, kind, count)
        SELECT {month_of(f'{event}.at')}, {event}.party_id, {event}.kind, count(*)
        FROM {event} WHERE {old(OFFER)}
        GROUP BY {month_of(f'{event}.at')}, {event}.party_id, {event}.kind""")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ticket_event_count ON ticket_event")
        op.execute("DROP FUNCTION IF EXISTS count_ticket_event()")
    else:
        op.execute("DROP TRIGGER IF EXISTS ticket_event_count")
        op.execute("DROP TRIGGER IF EXISTS ticket_event_count_offer")
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        for name in TICKET_INDEXES:
            batch_op.drop_index(name)
    op.drop_table("offer_count_month")
    op.drop_index("ix_event_count_day_kind_day", table_name="event_count_day")
    op.drop_table("event_count_day")
