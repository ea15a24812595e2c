"""customers' address and location notes; the `escalated` ticket event

The owner of a ticket reaches the customer on site: the customer gets an address and optional
location notes. A ticket's tier is raised by its owner's escalation, recorded as an event of the
new kind `escalated`: the ticket events' check constraint is recreated from the full list of kinds.
On SQLite the constraint is widened in place (SQLite's documented procedure for changing a CHECK
constraint: the table's definition is edited, its rows, indexes and triggers stay as they are).

Revision ID: 0014_customer_address
Revises: 0013_customer_feedback
"""
import re

import sqlalchemy as sa
from alembic import op

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
CONSTRAINT = "ck_ticket_event_kind_valid"


def event_kind_check(kinds) -> None:
    """Recreate the ticket events' kind check from `kinds`."""
    check = "kind IN (%s)" % ", ".join(f"'{kind}'" for kind in kinds)
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.drop_constraint(op.f(CONSTRAINT), "ticket_event", type_="check")
        op.create_check_constraint(op.f(CONSTRAINT), "ticket_event", check)
        return
    table_sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'ticket_event'").scalar_one()
    widened, found = re.subn(rf"CONSTRAINT {CONSTRAINT} CHECK \(kind IN \([^)]*\)\)",
                             f"CONSTRAINT {CONSTRAINT} CHECK ({check})", table_sql)
    assert found == 1, f"ticket_event's {CONSTRAINT} not found in: {table_sql}"
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'ticket_event'",
                         (widened,))
    bind.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def upgrade():
    op.add_column("customer", sa.Column("address", sa.String(length=255), nullable=True))
    op.add_column("customer", sa.Column("location_notes", sa.Text(), nullable=True))
    event_kind_check(KINDS)


def downgrade():
    event_kind_check(KINDS[:-1])
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_column("location_notes")
        batch_op.drop_column("address")
