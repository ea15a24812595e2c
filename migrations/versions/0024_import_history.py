"""the import history: each confirmed import (who, when, the file's name and SHA-256, rows created
and updated) and every row it created or updated, with the changed cells before and after

Revision ID: 0024_import_history
Revises: 0023_cert_pending_index
"""
import sqlalchemy as sa
from alembic import op

revision = "0024_import_history"
down_revision = "0023_cert_pending_index"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "import_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('partners', 'coverage', 'engineers', 'certifications')",
                           name=op.f("ck_import_record_kind_valid")),
        sa.ForeignKeyConstraint(["actor_user_id"], ["user.id"], name=op.f("fk_import_record_actor_user_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_record")),
    )
    op.create_index("ix_import_record_at_id", "import_record", ["at", "id"])
    op.create_table(
        "imported_row",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.CheckConstraint("action IN ('create', 'update')", name=op.f("ck_imported_row_action_valid")),
        sa.ForeignKeyConstraint(["import_id"], ["import_record.id"],
                                name=op.f("fk_imported_row_import_id_import_record")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imported_row")),
    )
    op.create_index("ix_imported_row_import_id_row", "imported_row", ["import_id", "row"])


def downgrade():
    op.drop_index("ix_imported_row_import_id_row", table_name="imported_row")
    op.drop_table("imported_row")
    op.drop_index("ix_import_record_at_id", table_name="import_record")
    op.drop_table("import_record")
