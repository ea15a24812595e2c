"""One notification to one user: visible in the app, and the outbox row for e-mail delivery."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from partnernet.db_types import UTCDateTime, one_of, utcnow
from partnernet.extensions import db

DELIVERY_STATUSES = ("pending", "sent", "failed", "app_only")


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
