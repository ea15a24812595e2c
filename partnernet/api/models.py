"""The API's own table: Idempotency-Key records of ticket intake."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from partnernet.db_types import UTCDateTime, utcnow
from partnernet.extensions import db


class IdempotencyKey(db.Model):
    """A key a client sent with `POST /api/v1/tickets`, the body it came with and the ticket it
    opened. Unique per user: of several requests racing with one key, the database lets one in."""

    __tablename__ = "idempotency_key"
    __table_args__ = (sa.UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    key: Mapped[str] = mapped_column(sa.String(255))
    fingerprint: Mapped[str] = mapped_column(sa.String(64))  # SHA-256 of the canonical JSON body
    ticket_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ticket.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    ticket = relationship("Ticket")
