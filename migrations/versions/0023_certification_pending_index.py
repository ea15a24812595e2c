"""the review queue's index holds the pending certificates only: an index led by `status` made
SQLite (no statistics) look for a partner's certified engineers among every valid certificate

Revision ID: 0023_cert_pending_index
Revises: 0023_list_keyset_indexes
"""
import sqlalchemy as sa
from alembic import op

revision = "0023_cert_pending_index"
down_revision = "0023_list_keyset_indexes"
branch_labels = None
depends_on = None

PENDING = sa.text("status = 'pending'")


def upgrade():
    op.drop_index("ix_certification_status_submitted", table_name="certification")
    op.create_index("ix_certification_pending_submitted", "certification", ["submitted_at", "id"],
                    sqlite_where=PENDING, postgresql_where=PENDING)


def downgrade():
    op.drop_index("ix_certification_pending_submitted", table_name="certification")
    op.create_index("ix_certification_status_submitted", "certification", ["status", "submitted_at", "id"])
