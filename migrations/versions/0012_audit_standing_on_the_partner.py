"""each partner keeps its standing in the latest audit, which routing reads

Routing ranks partners of one level by their standing in the latest audit (the push-back lower
bound). It read the latest run's findings; the audit now writes each partner's standing onto the
partner when a run is stored, so the tickets read a partner's own column and not the audit's
tables. The partners already audited get the latest run's figure here.

Revision ID: 0012_audit_standing
Revises: 0011_pinyin_sort
"""
import sqlalchemy as sa
from alembic import op

revision = "0012_audit_standing"
down_revision = "0011_pinyin_sort"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("party", schema=None) as batch_op:
        batch_op.add_column(sa.Column("audit_standing", sa.Double(), nullable=True))
    op.execute("""
        UPDATE party SET audit_standing = (
            SELECT audit_finding.push_back_lower_bound FROM audit_finding
            WHERE audit_finding.party_id = party.id
              AND audit_finding.run_id = (SELECT max(audit_run.id) FROM audit_run))
    """)


def downgrade():
    with op.batch_alter_table("party", schema=None) as batch_op:
        batch_op.drop_column("audit_standing")
