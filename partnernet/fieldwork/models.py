"""A ticket's attachments (screenshots, photos, logs, PDFs) and its on-site visits, both seen by HQ
and by the party that holds the ticket now, never by an offered, a former or another partner."""
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from partnernet import scope
from partnernet.db_types import UTCDateTime, one_of, utcnow
from partnernet.extensions import db
from partnernet.tickets.models import Ticket

# What an attachment is, recognised by its content (fieldwork.attachments.recognise).
ATTACHMENT_KINDS = ("image", "pdf", "text")
OPEN_VISIT = "checked_in_at IS NOT NULL AND checked_out_at IS NULL"


class Attachment(db.Model):
    __tablename__ = "attachment"
    __table_args__ = (one_of("kind", ATTACHMENT_KINDS),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("ticket.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(8))
    content_type: Mapped[str] = mapped_column(sa.String(64))
    filename: Mapped[str] = mapped_column(sa.String(255))       # the name it is downloaded as
    stored_name: Mapped[str] = mapped_column(sa.String(64))     # random, under instance/uploads/attachments
    thumbnail_name: Mapped[str | None] = mapped_column(sa.String(64))  # images only
    size: Mapped[int]
    party_id: Mapped[int] = mapped_column(sa.ForeignKey("party.id"))  # the uploader's party
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket = relationship("Ticket")
    uploaded_by = relationship("User")


class Visit(db.Model):
    """An on-site visit: the window agreed with the customer, then the engineer's check-in and
    check-out (the app's clock), what was done, the parts and the hours."""

    __tablename__ = "visit"
    __table_args__ = (
        sa.CheckConstraint("planned_end > planned_start", name="window_ends_after_it_starts"),
        sa.CheckConstraint("checked_out_at IS NULL OR (checked_in_at IS NOT NULL AND checked_out_at >= checked_in_at)",
                           name="check_out_after_check_in"),
        sa.CheckConstraint("hours IS NULL OR (hours >= 0 AND hours <= 99)", name="hours_in_range"),
        # An engineer is on site at one customer at a time, even when two taps race.
        sa.Index("uq_visit_one_open_per_engineer", "engineer_id", unique=True,
                 sqlite_where=sa.text(OPEN_VISIT), postgresql_where=sa.text(OPEN_VISIT)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("ticket.id"), index=True)
    party_id: Mapped[int] = mapped_column(sa.ForeignKey("party.id"))  # the party serving it
    engineer_id: Mapped[int] = mapped_column(sa.ForeignKey("engineer.id"), index=True)
    planned_start: Mapped[datetime] = mapped_column(UTCDateTime)
    planned_end: Mapped[datetime] = mapped_column(UTCDateTime)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    work_done: Mapped[str] = mapped_column(sa.Text, default="")
    parts_used: Mapped[str] = mapped_column(sa.Text, default="")
    hours: Mapped[Decimal | None] = mapped_column(sa.Numeric(4, 1))
    planned_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    checked_in_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    checked_out_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket = relationship("Ticket")
    engineer = relationship("Engineer")
    party = relationship("Party")

    @property
    def on_site(self):
        """The time between check-in and check-out, once both are recorded."""
        if self.checked_in_at and self.checked_out_at:
            return self.checked_out_at - self.checked_in_at
        return None


def sees_fieldwork(ticket: Ticket, user) -> bool:
    """HQ, and the users of the party holding the ticket now (of a ticket already in their scope)."""
    return user.is_hq or (ticket.owner_party_id is not None and ticket.owner_party_id == user.party_id)


def held_by_users_party(user):
    """The tickets in the user's scope that the user's party holds now (not merely offered)."""
    return sa.select(Ticket.id).where(scope.scope_clause(Ticket, user), Ticket.owner_party_id == user.party_id)


@scope.rule(Attachment)
def _attachment_in_scope(user):
    return Attachment.ticket_id.in_(held_by_users_party(user))


@scope.rule(Visit)
def _visit_in_scope(user):
    return Visit.ticket_id.in_(held_by_users_party(user))
