"""A customer's answer about one resolved ticket: solved or not, a rating and a comment, given
through the ticket's signed link or recorded by HQ on a call-back. The app never changes one:
the partner scorecards and the audit count them."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from partnernet import scope
from partnernet.db_types import UTCDateTime, one_of, utcnow
from partnernet.extensions import db
from partnernet.tickets.models import Ticket

# Where an answer came from: the customer's own link, or an hq_agent's call.
FEEDBACK_SOURCES = ("customer", "callback")


class CustomerFeedback(db.Model):
    __tablename__ = "customer_feedback"
    __table_args__ = (
        one_of("source", FEEDBACK_SOURCES),
        sa.CheckConstraint("rating IS NULL OR (rating BETWEEN 1 AND 5)", name="rating_one_to_five"),
        # A partner's answers by month: the scorecards and the audit's satisfaction measure.
        sa.Index("ix_customer_feedback_party_answered", "party_id", "answered_at"),
        # HQ calls a ticket back once: of two agents recording at once, one wins.
        sa.Index("uq_customer_feedback_one_callback", "ticket_id", unique=True,
                 sqlite_where=sa.text("source = 'callback'"), postgresql_where=sa.text("source = 'callback'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("ticket.id"), index=True)
    # The party whose service is rated: the ticket's owner when it was resolved (HQ included).
    party_id: Mapped[int] = mapped_column(sa.ForeignKey("party.id"))
    source: Mapped[str] = mapped_column(sa.String(16))
    solved: Mapped[bool]
    rating: Mapped[int | None]
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))  # the hq_agent who called

    ticket = relationship("Ticket")
    party = relationship("Party")
    recorded_by = relationship("User")


@scope.rule(CustomerFeedback)
def _feedback_in_scope(user):
    """A partner sees what customers said of its own service, never of another's."""
    return CustomerFeedback.party_id == user.party_id


# A link waiting for the delivery job to e-mail it, sent, or given up after several attempts.
EMAIL_STATUSES = ("pending", "sent", "failed")


class ConfirmationLink(db.Model):
    """A resolved ticket's link for its customer: answered once, valid until expires_at, replaced
    by a newer one. The token itself is never stored, only its SHA-256: a link waiting to be
    e-mailed has no token yet (the delivery job makes it as it sends)."""

    __tablename__ = "confirmation_link"
    __table_args__ = (
        sa.CheckConstraint("email_status IS NULL OR email_status IN (%s)"
                           % ", ".join("'%s'" % s for s in EMAIL_STATUSES), name="email_status_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("ticket.id"), index=True)
    # The owner when the ticket was resolved: whose service the answer rates.
    party_id: Mapped[int] = mapped_column(sa.ForeignKey("party.id"))
    token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a newer link replaced it
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))  # None: on resolution
    email_to: Mapped[str | None] = mapped_column(sa.String(255))
    email_status: Mapped[str | None] = mapped_column(sa.String(16), index=True)
    email_attempts: Mapped[int] = mapped_column(default=0)
    email_error: Mapped[str | None] = mapped_column(sa.Text)

    ticket = relationship("Ticket")


@scope.rule(ConfirmationLink)
def _link_in_scope(user):
    return ConfirmationLink.party_id == user.party_id
