"""the audit measures customers' satisfaction: rated answers, satisfied ones, the Wilson upper bound

Each finding gets the number of rated answers about the partner's service in the period, how many
were satisfied (4 or 5 of 5) and the 95% Wilson upper bound of that share; each run keeps the
satisfaction threshold and minimum number of answers it flagged with. Runs made before have no
satisfaction parameters (NULL) and their findings count no answers (0).

Revision ID: 0017_satisfaction_in_audit
Revises: 0016_confirmation_links
"""
import sqlalchemy as sa
from alembic import op

revision = "0017_satisfaction_in_audit"
down_revision = "0016_confirmation_links"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("audit_finding", schema=None) as batch_op:
        batch_op.add_column(sa.Column("satisfaction_answers", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("satisfied", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("satisfaction_upper_bound", sa.Double(), nullable=True))
    with op.batch_alter_table("audit_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("satisfaction_threshold", sa.Numeric(precision=5, scale=4), nullable=True))
        batch_op.add_column(sa.Column("satisfaction_min_answers", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("audit_run", schema=None) as batch_op:
        batch_op.drop_column("satisfaction_min_answers")
        batch_op.drop_column("satisfaction_threshold")
    with op.batch_alter_table("audit_finding", schema=None) as batch_op:
        batch_op.drop_column("satisfied")
        batch_op.drop_column("satisfaction_upper_bound")
        batch_op.drop_column("satisfaction_answers")
