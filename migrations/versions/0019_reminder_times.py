"""when a ticket's reminders and warnings are due: the offer's half-way reminder, its first opening
by the offered partner, the warning points of the response and resolution targets

An offer not yet opened by anyone of the offered partner is announced again half-way through
(offer_remind_at, on the ticket's SLA clock; offer_seen_at set when one of its users opens it). A
target not yet met warns its owner at a share of its time (response_warn_at, resolution_warn_at).

Open tickets get their warning points here, simply: 80% of the way from creation to the due time
(on the wall clock, not the SLA clock; the setting's default). Offers live during the upgrade get
no reminder (they last minutes).

Revision ID: 0019_reminder_times
Revises: 0018_notification_channels
"""
import sqlalchemy as sa
from alembic import op

revision = "0019_reminder_times"
down_revision = "0018_notification_channels"
branch_labels = None
depends_on = None

OPEN_STATUSES = ("new", "offered", "accepted", "in_progress", "waiting_on_customer", "hq_queue")
RESPONSE_OPEN = "responded_at IS NULL"
RESOLUTION_OPEN = "resolved_at IS NULL"
COLUMNS = ("offer_remind_at", "offer_seen_at", "response_warn_at", "resolution_warn_at")
BATCH = 1000

ticket = sa.table("ticket", sa.column("id", sa.Integer), sa.column("status", sa.String),
                  sa.column("created_at", sa.DateTime), sa.column("response_due_at", sa.DateTime),
                  sa.column("resolution_due_at", sa.DateTime), sa.column("responded_at", sa.DateTime),
                  sa.column("resolved_at", sa.DateTime), sa.column("response_warn_at", sa.DateTime),
                  sa.column("resolution_warn_at", sa.DateTime))


def upgrade():
    for name in COLUMNS:
        op.add_column("ticket", sa.Column(name, sa.DateTime(), nullable=True))
    op.create_index("ix_ticket_offer_remind", "ticket", ["status", "offer_remind_at"])
    op.create_index("ix_ticket_response_warning", "ticket", ["response_due_at", "response_warn_at"],
                    sqlite_where=sa.text(RESPONSE_OPEN), postgresql_where=sa.text(RESPONSE_OPEN))
    op.create_index("ix_ticket_resolution_warning", "ticket", ["resolution_due_at", "resolution_warn_at"],
                    sqlite_where=sa.text(RESOLUTION_OPEN), postgresql_where=sa.text(RESOLUTION_OPEN))
    backfill_warning_points(op.get_bind())


def warning_point(created_at, due_at):
    """80% of the way from creation to the due time."""
    if created_at is None or due_at is None or due_at <= created_at:
        return None
    return due_at - (due_at - created_at) / 5


def backfill_warning_points(connection):
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(ticket.c.id, ticket.c.created_at, ticket.c.response_due_at, ticket.c.resolution_due_at,
                      ticket.c.responded_at, ticket.c.resolved_at)
            .where(ticket.c.status.in_(OPEN_STATUSES), ticket.c.id > last_id)
            .order_by(ticket.c.id).limit(BATCH)).all()
        if not rows:
            return
        values = [{"ticket_id": row.id,
                   "response_warn": None if row.responded_at else warning_point(row.created_at, row.response_due_at),
                   "resolution_warn": None if row.resolved_at else warning_point(row.created_at,
                                                                                 row.resolution_due_at)}
                  for row in rows]
        connection.execute(ticket.update().where(ticket.c.id == sa.bindparam("ticket_id")).values(
            response_warn_at=sa.bindparam("response_warn"), resolution_warn_at=sa.bindparam("resolution_warn")),
            values)
        last_id = rows[-1].id


def downgrade():
    op.drop_index("ix_ticket_resolution_warning", table_name="ticket")
    op.drop_index("ix_ticket_response_warning", table_name="ticket")
    op.drop_index("ix_ticket_offer_remind", table_name="ticket")
    for name in reversed(COLUMNS):
        op.drop_column("ticket", name)  # SQLite drops a column in place since 3.35: no copy of the table
