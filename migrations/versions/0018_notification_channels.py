"""a party's group robot channels: WeCom, DingTalk and Feishu webhooks that notifications are posted to

Each row is one robot of one party (a partner's dispatch group, HQ's queue group): its provider,
its webhook address (which holds the robot's key or token) and, for DingTalk and Feishu, its
signing secret; enabled or off. Nothing is delivered through them yet.

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
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("provider IN ('wecom', 'dingtalk', 'feishu')",
                           name=op.f("ck_notification_channel_provider_valid")),
        sa.ForeignKeyConstraint(["party_id"], ["party.id"], name=op.f("fk_notification_channel_party_id_party")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_channel")),
        sa.UniqueConstraint("party_id", "webhook_url", name="uq_notification_channel_party_webhook"),
    )
    op.create_index("ix_notification_channel_party_enabled", "notification_channel", ["party_id", "enabled"])


def downgrade():
    op.drop_index("ix_notification_channel_party_enabled", table_name="notification_channel")
    op.drop_table("notification_channel")
