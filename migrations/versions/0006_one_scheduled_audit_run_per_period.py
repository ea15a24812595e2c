"""one scheduled audit run per period

The weekly audit job checks for a run of the last week before making one; this partial unique
index makes that check hold when two attempts race (a catch-up at start and the Monday job, or
two schedulers in the moment one takes over from the other). Runs from the UI, the CLI or the
API may repeat a period: each is its own record.

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SCHEDULED = "triggered_by = 'scheduler'"


def upgrade():
    with op.batch_alter_table("audit_run", schema=None) as batch_op:
        batch_op.create_index("uq_audit_run_scheduled_period", ["period_start", "period_end"], unique=True,
                              sqlite_where=sa.text(SCHEDULED), postgresql_where=sa.text(SCHEDULED))


def downgrade():
    with op.batch_alter_table("audit_run", schema=None) as batch_op:
        batch_op.drop_index("uq_audit_run_scheduled_period", sqlite_where=sa.text(SCHEDULED),
                            postgresql_where=sa.text(SCHEDULED))
