"""the kinds of notification a user does not want by e-mail (they still see them under the bell)

One row per user and kind left out; no row means e-mail (where SMTP is set up).

Revision ID: 0020_email_preferences
Revises: 0019_reminder_times
"""
import sqlalchemy as sa
from alembic import op

revision = "0020_email_preferences"
down_revision = "0019_reminder_times"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "email_opt_out",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_email_opt_out_user_id_user"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "kind", name=op.f("pk_email_opt_out")),
    )


def downgrade():
    op.drop_table("email_opt_out")
