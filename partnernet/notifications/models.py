"""One notification to one user: visible in the app, and the outbox row for e-mail delivery; a
party's group robot channels."""
from datetime import datetime
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from partnernet import scope
from partnernet.db_types import UTCDateTime, one_of, utcnow
from partnernet.extensions import db
from partnernet.notifications.providers import PROVIDERS as ROBOT_PROVIDERS

DELIVERY_STATUSES = ("pending", "sent", "failed", "app_only")
# A card to a group robot: pending until the delivery job claims it (sending), then sent, failed
# after its last attempt, or folded into a digest that carried it when the robot's limit was reached.
CHANNEL_MESSAGE_STATUSES = ("pending", "sending", "sent", "failed", "folded")


class Notification(db.Model):
    __tablename__ = "notification"
    __table_args__ = (
        one_of("status", DELIVERY_STATUSES),
        sa.Index("ix_notification_user_unread", "user_id", "read_at"),
        sa.Index("ix_notification_status", "status"),
        # One notification per user and reason: a job that runs twice sends nothing twice.
        sa.UniqueConstraint("user_id", "dedup_key", name="uq_notification_user_dedup"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    kind: Mapped[str] = mapped_column(sa.String(32))
    dedup_key: Mapped[str] = mapped_column(sa.String(128))
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    link: Mapped[str | None] = mapped_column(sa.String(255))
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user = relationship("User")


class NotificationChannel(db.Model):
    """A group robot of one party (a partner's dispatch group, HQ's queue group) that notifications
    are posted to. The webhook address holds the robot's key or token and the secret signs: both
    are secrets, never shown back after saving and never logged (see `masked_webhook`)."""

    __tablename__ = "notification_channel"
    __table_args__ = (
        one_of("provider", ROBOT_PROVIDERS),
        # The delivery job reads a party's enabled channels.
        sa.Index("ix_notification_channel_party_enabled", "party_id", "enabled"),
        # One robot once per party: a second save of the same address is the same channel.
        sa.UniqueConstraint("party_id", "webhook_url", name="uq_notification_channel_party_webhook"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(sa.ForeignKey("party.id"))
    provider: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[str] = mapped_column(sa.String(64), default="")  # the group's name, as its admin calls it
    webhook_url: Mapped[str] = mapped_column(sa.String(512))
    secret: Mapped[str | None] = mapped_column(sa.String(128))
    enabled: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str] = mapped_column(sa.String(8), default="zh_CN")  # a group reads one language
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    party = relationship("Party")

    @property
    def masked_webhook(self) -> str:
        """What a page may show of the address: the provider's host and the key's last four."""
        parts = urlsplit(self.webhook_url)
        return f"{parts.scheme}://{parts.netloc}/…{self.webhook_url[-4:]}"

    @property
    def has_secret(self) -> bool:
        return bool(self.secret)

    def __repr__(self) -> str:  # never the address or the secret, whoever prints the object
        return f"<NotificationChannel {self.id} {self.provider} party={self.party_id} enabled={self.enabled}>"


class ChannelMessage(db.Model):
    """One card to one group robot: the outbox row the delivery job sends, and afterwards the
    delivery log (sent, or failed with the provider's message, and how many attempts). The card is
    rendered in the channel's language when queued."""

    __tablename__ = "channel_message"
    __table_args__ = (
        one_of("status", CHANNEL_MESSAGE_STATUSES),
        # One card per channel and reason: an event queued twice (two schedulers) is sent once.
        sa.UniqueConstraint("channel_id", "dedup_key", name="uq_channel_message_channel_dedup"),
        sa.Index("ix_channel_message_status_next", "status", "next_attempt_at"),
        sa.Index("ix_channel_message_channel_sent", "channel_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(sa.ForeignKey("notification_channel.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(32))
    dedup_key: Mapped[str] = mapped_column(sa.String(128))
    ticket_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ticket.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    lines: Mapped[list] = mapped_column(sa.JSON, default=list)
    link: Mapped[str | None] = mapped_column(sa.String(512))
    link_label: Mapped[str] = mapped_column(sa.String(64), default="")
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a sender's claim, while sending
    last_error: Mapped[str | None] = mapped_column(sa.Text)  # the provider's message, never the address
    digest_id: Mapped[int | None] = mapped_column(sa.ForeignKey("channel_message.id"))  # folded into
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    channel = relationship("NotificationChannel")


class EmailOptOut(db.Model):
    """A kind of notification the user does not want by e-mail: it is still shown under the bell
    (status app_only). No row: e-mailed, where SMTP is set up."""

    __tablename__ = "email_opt_out"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32), primary_key=True)


@scope.rule(ChannelMessage)
def _channel_message_in_scope(user):
    """A partner's administrators see the cards to their own party's channels; engineers none."""
    if user.role == "engineer":
        return scope.NOTHING
    return ChannelMessage.channel_id.in_(
        sa.select(NotificationChannel.id).where(NotificationChannel.party_id == user.party_id))
