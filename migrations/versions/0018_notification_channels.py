"""a party's group robot channels: WeCom, DingTalk and Feishu webhooks that notifications are posted to

Each row is one robot of one party (a partner's dispatch group, HQ's queue group): its provider,
its webhook address (which holds the robot's key or token) and, for DingTalk and Feishu, its
signing secret; enabled or off; the language its cards are written in. channel_message is the
outbox of cards to these robots and, once sent or failed, their delivery log: one row per channel
and reason (unique), so that an event queued twice is sent once.

Revision ID: 0018_notification_channels
Revises: 0017_satisfaction_in_audit
"""
import sqlalchemy as sa
from alembic import op

revision = "0018_notification_channels"
down_revision = "0017_satisfaction_in_audit"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "notification_channel",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("webhook_url", sa.String(length=512), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False, server_default="zh_CN"),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("provider IN ('wecom', 'dingtalk', 'feishu')",
                           name=op.f("ck_notification_channel_provider_valid")),
        sa.ForeignKeyConstraint(["party_id"], ["party.id"], name=op.f("fk_notification_channel_party_id_party")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_channel")),
        sa.UniqueConstraint("party_id", "webhook_url", name="uq_notification_channel_party_webhook"),
    )
    op.create_index("ix_notification_channel_party_enabled", "notification_channel", ["party_id", "enabled"])
    op.create_table(
        "channel_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("dedup_key", sa.String(length=128), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("link", sa.String(length=512), nullable=True),
        sa.Column("link_label", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("digest_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed', 'folded')",
                           name=op.f("ck_channel_message_status_valid")),
        sa.ForeignKeyConstraint(["channel_id"], ["notification_channel.id"], ondelete="CASCADE",
                                name=op.f("fk_channel_message_channel_id_notification_channel")),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], name=op.f("fk_channel_message_ticket_id_ticket")),
        sa.ForeignKeyConstraint(["digest_id"], ["channel_message.id"],
                                name=op.f("fk_channel_message_digest_id_channel_message")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_message")),
        sa.UniqueConstraint("channel_id", "dedup_key", name="uq_channel_message_channel_dedup"),
    )
    op.create_index("ix_channel_message_status_next", "channel_message", ["status", "next_attempt_at"])
    op.create_index("ix_channel_message_channel_sent", "channel_message", ["channel_id", "sent_at"])
    op.create_index(op.f("ix_channel_message_ticket_id"), "channel_message", ["ticket_id"])


def downgrade():
    op.drop_table("channel_message")
    op.drop_index("ix_notification_channel_party_enabled", table_name="notification_channel")
    op.drop_table("notification_channel")
