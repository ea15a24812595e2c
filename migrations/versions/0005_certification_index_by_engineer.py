"""certification index by engineer: look up an engineer's certificates for a line, not a line's

ix_certification_valid_lookup (product_line_id, status, expires_on) led SQLite, which has no
statistics unless ANALYZE runs, to answer "which of these partners have an engineer certified
for the line" by reading every certificate of the line and joining engineers: routing cost grew
with the number of certifications (13 ms at 40,000 certificates, see benchmarks/README.md).
Leading with engineer_id lets every such query start from the partner's engineers instead, with
or without statistics; the partner list's "uncertified" filter and the lapsed-certificate job
read the whole table either way and are no slower.

Revision ID: 0005
Revises: 0004
"""
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("certification", schema=None) as batch_op:
        batch_op.drop_index("ix_certification_valid_lookup")
        batch_op.create_index("ix_certification_engineer_line",
                              ["engineer_id", "product_line_id", "status", "expires_on"], unique=False)


def downgrade():
    with op.batch_alter_table("certification", schema=None) as batch_op:
        batch_op.drop_index("ix_certification_engineer_line")
        batch_op.create_index("ix_certification_valid_lookup",
                              ["product_line_id", "status", "expires_on"], unique=False)
