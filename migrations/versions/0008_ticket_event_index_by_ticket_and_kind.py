"""ticket_event index by ticket and kind: the audit's "was this ticket's target settled" look-ups

Without it SQLite answered each look-up through ix_ticket_event_kind_at, reading every
resolution event up to the run's moment for every kept ticket: an audit of one month of the demo
network took 3.7 s, growing with the square of the tickets.

Revision ID: 0008
Revises: 0007
"""
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("ticket_event", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_event_ticket_kind_at", ["ticket_id", "kind", "at"], unique=False)


def downgrade():
    with op.batch_alter_table("ticket_event", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_event_ticket_kind_at")
