"""the ticket list pages by keyset, with partial indexes for its billable and overdue filters; weekly
offer counts kept by a trigger for the partner page's push-back chart

The billable tickets and the open ones (which overdue ones are) each get a partial index in the
list's orders, so that those filters read only their own tickets, however many closed ones there
are; a partner's tickets get indexes by partner and creation. offer_count_week holds, per ISO week of days in China and partner, the offers and what became
of them, added to by a trigger on ticket_event like offer_count_month (migration 0009); the rows
already there are counted here once.

Revision ID: 0021_ticket_list_keyset
Revises: 0020_email_preferences
"""
import sqlalchemy as sa
from alembic import op

revision = "0021_ticket_list_keyset"
down_revision = "0020_email_preferences"
branch_labels = None
depends_on = None

# As in partnernet.tickets.models (BILLABLE, OPEN): the list's queries repeat them word for word,
# which is how SQLite knows a partial index serves a query.
# On SQLite `+status`: a term that no index on status serves, so that the planner, without
# statistics, reads the open tickets through these indexes in the list's order.
OPEN = "status IN ('new', 'offered', 'accepted', 'in_progress', 'waiting_on_customer', 'hq_queue')"
OPEN = {"sqlite": "+" + OPEN, "postgresql": OPEN}
BILLABLE = {"sqlite": "billable = 1", "postgresql": "billable = true"}
OVERDUE_COLUMNS = ["responded_at", "response_due_at", "resolved_at", "resolution_due_at"]
# A partner's tickets (held or offered) newest first, from the cursor on.
PARTNER_INDEXES = {"ix_ticket_owner_created": ["owner_party_id", "created_at", "id"],
                   "ix_ticket_offered_created": ["offered_party_id", "created_at", "id"]}
OFFER_KINDS = "'offered', 'accepted', 'declined', 'offer_expired', 'returned_to_hq'"
OFFER = f"NEW.kind IN ({OFFER_KINDS}) AND NEW.party_id IS NOT NULL"


def week_of(column: str) -> str:
    """The Monday of the ISO week holding the instant's day in China."""
    if op.get_bind().dialect.name == "postgresql":
        return f"CAST(date_trunc('week', {column} + INTERVAL '8 hours') AS DATE)"
    return f"date({column}, '+8 hours', 'weekday 0', '-6 days')"


def partial(name: str, columns: list[str], condition: str) -> None:
    op.create_index(name, "ticket", columns, unique=False,
                    sqlite_where=sa.text(condition), postgresql_where=sa.text(condition))


def upgrade():
    dialect = op.get_bind().dialect.name
    partial("ix_ticket_billable_created", ["created_at", "id"], BILLABLE.get(dialect, BILLABLE["sqlite"]))
    # (the due and met times ride along: the overdue condition and its count read the index alone)
    partial("ix_ticket_open_created", ["created_at", "id", *OVERDUE_COLUMNS], OPEN.get(dialect, OPEN["sqlite"]))
    partial("ix_ticket_open_due", ["resolution_due_at", "id", *OVERDUE_COLUMNS[:3]], OPEN.get(dialect, OPEN["sqlite"]))
    for name, columns in PARTNER_INDEXES.items():
        op.create_index(name, "ticket", columns, unique=False)
    op.create_table(
        "offer_count_week",
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("party_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("week", "party_id", "kind", name=op.f("pk_offer_count_week")),
    )
    op.create_index("ix_offer_count_week_kind_week", "offer_count_week", ["kind", "week", "party_id", "count"])
    upsert = (f"INSERT INTO offer_count_week (week, party_id, kind, count) "
              f"VALUES ({week_of('NEW.at')}, NEW.party_id, NEW.kind, 1) "
              f"ON CONFLICT (week, party_id, kind) DO UPDATE SET count = offer_count_week.count + 1")
    if dialect == "postgresql":
        op.execute(f"""
            CREATE OR REPLACE FUNCTION count_offer_week() RETURNS trigger AS $$
            BEGIN
                IF {OFFER} THEN
                    {upsert};
                END IF;
                RETURN NULL;
            END;
            $$ LANGUAGE plpgsql""")
        op.execute("CREATE TRIGGER ticket_event_count_offer_week AFTER INSERT ON ticket_event "
                   "FOR EACH ROW EXECUTE FUNCTION count_offer_week()")
    else:
        op.execute(f"CREATE TRIGGER ticket_event_count_offer_week AFTER INSERT ON ticket_event WHEN {OFFER} "
                   f"BEGIN {upsert}; END")
    event = "ticket_event"
    op.execute(f"""
        INSERT INTO offer_count_week (week, party_id, kind, count)
        SELECT {week_of(f'{event}.at')}, {event}.party_id, {event}.kind, count(*)
        FROM {event} WHERE {OFFER.replace('NEW.', f'{event}.')}
        GROUP BY {week_of(f'{event}.at')}, {event}.party_id, {event}.kind""")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ticket_event_count_offer_week ON ticket_event")
        op.execute("DROP FUNCTION IF EXISTS count_offer_week()")
    else:
        op.execute("DROP TRIGGER IF EXISTS ticket_event_count_offer_week")
    op.drop_index("ix_offer_count_week_kind_week", table_name="offer_count_week")
    op.drop_table("offer_count_week")
    for name in ("ix_ticket_open_due", "ix_ticket_open_created", "ix_ticket_billable_created", *PARTNER_INDEXES):
        op.drop_index(name, table_name="ticket")
