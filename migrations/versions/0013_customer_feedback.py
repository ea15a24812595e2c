"""customers' answers about resolved tickets: solved or not, a 1-5 rating and a comment

Revision ID: 0013_customer_feedback
Revises: 0012_audit_standing
"""
import sqlalchemy as sa
from alembic import op

revision = "0013_customer_feedback"
down_revision = "0012_audit_standing"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "customer_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("solved", sa.Boolean(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("answered_at", sa.DateTime(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("source IN ('customer', 'callback')", name=op.f("ck_customer_feedback_source_valid")),
        sa.CheckConstraint("rating IS NULL OR (rating BETWEEN 1 AND 5)", name=op.f("ck_customer_feedback_rating_one_to_five")),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], name=op.f("fk_customer_feedback_ticket_id_ticket")),
        sa.ForeignKeyConstraint(["party_id"], ["party.id"], name=op.f("fk_customer_feedback_party_id_party")),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["user.id"], name=op.f("fk_customer_feedback_recorded_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_feedback")),
    )
    op.create_index("ix_customer_feedback_ticket_id", "customer_feedback", ["ticket_id"])
    op.create_index("ix_customer_feedback_party_answered", "customer_feedback", ["party_id", "answered_at"])


def downgrade():
    op.drop_table("customer_feedback")
