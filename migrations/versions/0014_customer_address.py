"""customers' address and location notes; the `escalated` ticket event

The owner of a ticket reaches the customer on site: the customer gets an address and optional
location notes. A ticket's tier is raised by its owner's escalation, recorded as an event of the
new kind `escalated`: the ticket events' check constraint is widened (partnernet.schema_changes).

Revision ID: 0014_customer_address
Revises: 0013_customer_feedback
"""
import sqlalchemy as sa
from alembic import op

from partnernet.schema_changes import set_ticket_event_kinds

revision = "0014_customer_address"
down_revision = "0013_customer_feedback"
branch_labels = None
depends_on = None

KINDS = (
    "created", "routed", "offered", "accepted", "declined", "offer_expired",
    "returned_to_hq", "queued_to_hq", "taken_by_hq", "rerouted", "assigned",
    "status_changed", "note", "response_met", "response_breached",
    "resolution_met", "resolution_breached", "escalated",
)


def upgrade():
    op.add_column("customer", sa.Column("address", sa.String(length=255), nullable=True))
    op.add_column("customer", sa.Column("location_notes", sa.Text(), nullable=True))
    set_ticket_event_kinds(KINDS)


def downgrade():
    set_ticket_event_kinds(KINDS[:-1])
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_column("location_notes")
        batch_op.drop_column("address")
