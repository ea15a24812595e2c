"""the customer's confirmation links (满意度回访), a ticket's `reopened` event, one call-back per ticket

A resolved ticket's customer gets a signed link to confirm or reopen it. Only the SHA-256 of the
link's token is stored; a link waiting to be e-mailed has none yet (its token is made when the
delivery job sends it, so it never rests in the database). The ticket events may now be `reopened`
(the customer said "not solved"); HQ calls a ticket back once.

Revision ID: 0016_confirmation_links
Revises: 0015_attachments_visits
"""
import sqlalchemy as sa
from alembic import op

from partnernet.schema_changes import set_ticket_event_kinds

revision = "0016_confirmation_links"
down_revision = "0015_attachments_visits"
branch_labels = None
depends_on = None

EVENT_KINDS = (
    "created", "routed", "offered", "accepted", "declined", "offer_expired",
    "returned_to_hq", "queued_to_hq", "taken_by_hq", "rerouted", "assigned",
    "status_changed", "note", "response_met", "response_breached",
    "resolution_met", "resolution_breached", "escalated",
    "attachment_added", "visit_planned", "visit_checked_in", "visit_checked_out",
)
NEW_KINDS = ("reopened",)


def upgrade():
    op.create_table(
        "confirmation_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("issued_by_id", sa.Integer(), nullable=True),
        sa.Column("email_to", sa.String(length=255), nullable=True),
        sa.Column("email_status", sa.String(length=16), nullable=True),
        sa.Column("email_attempts", sa.Integer(), nullable=False),
        sa.Column("email_error", sa.Text(), nullable=True),
        sa.CheckConstraint("email_status IS NULL OR email_status IN ('pending', 'sent', 'failed')",
                           name=op.f("ck_confirmation_link_email_status_valid")),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], name=op.f("fk_confirmation_link_ticket_id_ticket")),
        sa.ForeignKeyConstraint(["party_id"], ["party.id"], name=op.f("fk_confirmation_link_party_id_party")),
        sa.ForeignKeyConstraint(["issued_by_id"], ["user.id"], name=op.f("fk_confirmation_link_issued_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_confirmation_link")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_confirmation_link_token_hash")),
    )
    op.create_index("ix_confirmation_link_ticket_id", "confirmation_link", ["ticket_id"])
    op.create_index("ix_confirmation_link_email_status", "confirmation_link", ["email_status"])
    callback = sa.text("source = 'callback'")
    op.create_index("uq_customer_feedback_one_callback", "customer_feedback", ["ticket_id"], unique=True,
                    sqlite_where=callback, postgresql_where=callback)
    set_ticket_event_kinds(EVENT_KINDS + NEW_KINDS)


def downgrade():
    # (refused by the check while a ticket has a `reopened` event: events are never deleted)
    set_ticket_event_kinds(EVENT_KINDS)
    op.drop_index("uq_customer_feedback_one_callback", table_name="customer_feedback")
    op.drop_table("confirmation_link")
