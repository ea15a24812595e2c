"""an index serving HQ's review queue: pending certificates oldest first, paged by (submitted_at, id)

Revision ID: 0022_review_queue_index
Revises: 0021_ticket_list_keyset
"""
from alembic import op

revision = "0022_review_queue_index"
down_revision = "0021_ticket_list_keyset"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_certification_status_submitted", "certification", ["status", "submitted_at", "id"])


def downgrade():
    op.drop_index("ix_certification_status_submitted", table_name="certification")
