"""a ticket's attachments and on-site visits, and their events

Attachments (screenshots, photos, logs, PDFs: the files live under instance/uploads/attachments)
and visits (the planned window, check-in and check-out, the work done). Their steps are ticket
events of four new kinds, so the events' kind check is widened (partnernet.schema_changes).

Revision ID: 0015_attachments_visits
Revises: 0014_customer_address
"""
import sqlalchemy as sa
from alembic import op

from partnernet.schema_changes import set_ticket_event_kinds

revision = "0015_attachments_visits"
down_revision = "0014_customer_address"
branch_labels = None
depends_on = None

EVENT_KINDS_BEFORE = (
    "created", "routed", "offered", "accepted", "declined", "offer_expired",
    "returned_to_hq", "queued_to_hq", "taken_by_hq", "rerouted", "assigned",
    "status_changed", "note", "response_met", "response_breached",
    "resolution_met", "resolution_breached", "escalated",
)
EVENT_KINDS = EVENT_KINDS_BEFORE + ("attachment_added", "visit_planned", "visit_checked_in", "visit_checked_out")
OPEN_VISIT = "checked_in_at IS NOT NULL AND checked_out_at IS NULL"


def upgrade():
    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("stored_name", sa.String(length=64), nullable=False),
        sa.Column("thumbnail_name", sa.String(length=64), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('image', 'pdf', 'text')", name=op.f("ck_attachment_kind_valid")),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], name=op.f("fk_attachment_ticket_id_ticket")),
        sa.ForeignKeyConstraint(["party_id"], ["party.id"], name=op.f("fk_attachment_party_id_party")),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["user.id"], name=op.f("fk_attachment_uploaded_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachment")),
    )
    op.create_index("ix_attachment_ticket_id", "attachment", ["ticket_id"])
    op.create_table(
        "visit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.Column("engineer_id", sa.Integer(), nullable=False),
        sa.Column("planned_start", sa.DateTime(), nullable=False),
        sa.Column("planned_end", sa.DateTime(), nullable=False),
        sa.Column("checked_in_at", sa.DateTime(), nullable=True),
        sa.Column("checked_out_at", sa.DateTime(), nullable=True),
        sa.Column("work_done", sa.Text(), nullable=False),
        sa.Column("parts_used", sa.Text(), nullable=False),
        sa.Column("hours", sa.Numeric(precision=4, scale=1), nullable=True),
        sa.Column("planned_by_id", sa.Integer(), nullable=False),
        sa.Column("checked_in_by_id", sa.Integer(), nullable=True),
        sa.Column("checked_out_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("planned_end > planned_start", name=op.f("ck_visit_window_ends_after_it_starts")),
        sa.CheckConstraint("checked_out_at IS NULL OR (checked_in_at IS NOT NULL AND checked_out_at >= checked_in_at)",
                           name=op.f("ck_visit_check_out_after_check_in")),
        sa.CheckConstraint("hours IS NULL OR (hours >= 0 AND hours <= 99)", name=op.f("ck_visit_hours_in_range")),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], name=op.f("fk_visit_ticket_id_ticket")),
        sa.ForeignKeyConstraint(["party_id"], ["party.id"], name=op.f("fk_visit_party_id_party")),
        sa.ForeignKeyConstraint(["engineer_id"], ["engineer.id"], name=op.f("fk_visit_engineer_id_engineer")),
        sa.ForeignKeyConstraint(["planned_by_id"], ["user.id"], name=op.f("fk_visit_planned_by_id_user")),
        sa.ForeignKeyConstraint(["checked_in_by_id"], ["user.id"], name=op.f("fk_visit_checked_in_by_id_user")),
        sa.ForeignKeyConstraint(["checked_out_by_id"], ["user.id"], name=op.f("fk_visit_checked_out_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit")),
    )
    op.create_index("ix_visit_ticket_id", "visit", ["ticket_id"])
    op.create_index("ix_visit_engineer_id", "visit", ["engineer_id"])
    op.create_index("uq_visit_one_open_per_engineer", "visit", ["engineer_id"], unique=True,
                    sqlite_where=sa.text(OPEN_VISIT), postgresql_where=sa.text(OPEN_VISIT))
    set_ticket_event_kinds(EVENT_KINDS)


def downgrade():
    set_ticket_event_kinds(EVENT_KINDS_BEFORE)
    op.drop_table("visit")
    op.drop_table("attachment")
