"""indexes serving the long lists paged by keyset: customers by name (pinyin or as written),
certifications by expiry (a status filter walks the same index), call-backs by resolution, the change
log by kind

Revision ID: 0023_list_keyset_indexes
Revises: 0022_review_queue_index
"""
from alembic import op

revision = "0023_list_keyset_indexes"
down_revision = "0022_review_queue_index"
branch_labels = None
depends_on = None

# No (status, …) index on certification: SQLite, which has no statistics, would read every valid
# certificate of the network through it where routing asks whether a partner has a certified engineer
# (ix_certification_engineer_line answers that from the partner's engineers).
INDEXES = [
    ("ix_customer_name_sort_id", "customer", ["name_sort", "name", "id"]),
    ("ix_customer_name_id", "customer", ["name", "id"]),
    ("ix_certification_expires_id", "certification", ["expires_on", "id"]),
    ("ix_ticket_resolved_id", "ticket", ["resolved_at", "id"]),
    ("ix_change_event_kind_id", "change_event", ["kind", "id"]),
]


def upgrade():
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade():
    for name, table, _columns in INDEXES:
        op.drop_index(name, table_name=table)
