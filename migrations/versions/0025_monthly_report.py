"""monthly reports per partner: the figures and the PDF, one per partner and month

Revision ID: 0025_monthly_report
Revises: 0024_import_history
"""
import sqlalchemy as sa
from alembic import op

revision = "0025_monthly_report"
down_revision = "0024_import_history"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "monthly_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("made_at", sa.DateTime(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("pdf_size", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["party_id"], ["party.id"], name=op.f("fk_monthly_report_party_id_party")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monthly_report")),
        sa.UniqueConstraint("party_id", "month", name=op.f("uq_monthly_report_party_id_month")),
    )
    op.create_index("ix_monthly_report_month", "monthly_report", ["month"])


def downgrade():
    op.drop_table("monthly_report")
