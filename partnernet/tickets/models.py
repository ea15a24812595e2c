"""A customer's ticket and its append-only events, the source of truth for SLA and audit."""
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from partnernet import scope
from partnernet.customers.models import Customer
from partnernet.db_types import UTCDateTime, one_of, utcnow
from partnernet.extensions import db
from partnernet.network.models import TIERS

COMPLEXITIES = ("simple", "complex")
CHANNELS = ("phone", "email", "im", "web", "api")
TICKET_STATUSES = (
    "new", "offered", "accepted", "in_progress", "waiting_on_customer",
    "resolved", "closed", "hq_queue",
)
OPEN_STATUSES = ("new", "offered", "accepted", "in_progress", "waiting_on_customer", "hq_queue")
# Tickets a partner holds after accepting them: they count against its capacity.
HELD_STATUSES = ("accepted", "in_progress", "waiting_on_customer")
# While a party holds a ticket, and until the customer answers its resolution, its users reach the
# customer: contacts and address (tickets.service.sees_customer_contacts).
CONTACT_STATUSES = HELD_STATUSES + ("resolved",)
HQ_QUEUE_CAUSES = (
    "no_coverage", "no_certified_engineer", "all_at_capacity",
    "all_declined", "all_expired", "returned_by_partner",
)
# Why a ticket is billable (tickets.service.entitlement): no contract, on-site below the threshold,
# service past the free year and unpaid.
BILLABLE_REASONS = ("no_contract", "onsite_not_included", "service_unpaid")
EVENT_KINDS = (
    "created", "routed", "offered", "accepted", "declined", "offer_expired",
    "returned_to_hq", "queued_to_hq", "taken_by_hq", "rerouted", "assigned",
    "status_changed", "note", "response_met", "response_breached",
    "resolution_met", "resolution_breached", "escalated",
    "attachment_added", "visit_planned", "visit_checked_in", "visit_checked_out",
    "reopened",
)

# A target not yet met: the partial indexes of the warning job (the queries repeat the condition).
RESPONSE_OPEN = "responded_at IS NULL"
RESOLUTION_OPEN = "resolved_at IS NULL"

# The open tickets and the billable ones, as the ticket list's partial indexes and its queries both
# say it: SQLite uses a partial index only for a query that repeats its condition word for word.
# (`+status`: a term no index on status serves, see tickets.queries.open_clause.)
OPEN_CONDITION = {dialect: "%sstatus IN (%s)" % (plus, ", ".join("'%s'" % s for s in OPEN_STATUSES))
                  for dialect, plus in (("sqlite", "+"), ("postgresql", ""))}
BILLABLE_CONDITION = {"sqlite": "billable = 1", "postgresql": "billable = true"}

SLA_EVENT_KINDS = ("response_met", "response_breached", "resolution_met", "resolution_breached")
SLA_EVENT_CONDITION = "kind IN (%s)" % ", ".join("'%s'" % k for k in SLA_EVENT_KINDS)


class Ticket(db.Model):
    __tablename__ = "ticket"
    __table_args__ = (
        one_of("status", TICKET_STATUSES),
        one_of("complexity", COMPLEXITIES),
        one_of("channel", CHANNELS),
        one_of("tier", TIERS),
        sa.CheckConstraint(
            "hq_queue_cause IS NULL OR hq_queue_cause IN (%s)"
            % ", ".join("'%s'" % c for c in HQ_QUEUE_CAUSES),
            name="hq_queue_cause_valid",
        ),
        # An offer always names the partner and the deadline; the HQ queue always says why.
        sa.CheckConstraint(
            "status <> 'offered' OR (offered_party_id IS NOT NULL AND offer_deadline IS NOT NULL)",
            name="offer_is_complete",
        ),
        sa.CheckConstraint("status <> 'hq_queue' OR hq_queue_cause IS NOT NULL", name="hq_queue_has_cause"),
        sa.Index("ix_ticket_status_created", "status", "created_at"),
        sa.Index("ix_ticket_offer_due", "status", "offer_deadline"),
        sa.Index("ix_ticket_owner_status", "owner_party_id", "status"),
        sa.Index("ix_ticket_offered_status", "offered_party_id", "status"),
        # The ticket list at a million tickets: each sort order, and the usual filters, by index.
        sa.Index("ix_ticket_created_id", "created_at", "id"),
        sa.Index("ix_ticket_due_id", "resolution_due_at", "id"),
        sa.Index("ix_ticket_updated_id", "updated_at", "id"),
        # (id and complexity ride along: a deep page of one line, status and complexity is read
        # from the index alone)
        sa.Index("ix_ticket_line_status_created", "product_line_id", "status", "created_at", "id", "complexity"),
        sa.Index("ix_ticket_status_region", "status", "region_code"),
        # The billable and the open tickets (the overdue filter's) in the list's orders: those
        # filters read their own tickets only, however many closed and included ones there are.
        sa.Index("ix_ticket_billable_created", "created_at", "id",
                 sqlite_where=sa.text(BILLABLE_CONDITION["sqlite"]),
                 postgresql_where=sa.text(BILLABLE_CONDITION["postgresql"])),
        # (the due and met times ride along: the overdue condition and its count read the index alone)
        sa.Index("ix_ticket_open_created", "created_at", "id", "responded_at", "response_due_at", "resolved_at",
                 "resolution_due_at", sqlite_where=sa.text(OPEN_CONDITION["sqlite"]),
                 postgresql_where=sa.text(OPEN_CONDITION["postgresql"])),
        sa.Index("ix_ticket_open_due", "resolution_due_at", "id", "responded_at", "response_due_at", "resolved_at",
                 sqlite_where=sa.text(OPEN_CONDITION["sqlite"]),
                 postgresql_where=sa.text(OPEN_CONDITION["postgresql"])),
        # A partner's tickets (held or offered) newest first, from a cursor on.
        sa.Index("ix_ticket_owner_created", "owner_party_id", "created_at", "id"),
        sa.Index("ix_ticket_offered_created", "offered_party_id", "created_at", "id"),
        # HQ's call-backs, the latest resolution first, a page at a time.
        sa.Index("ix_ticket_resolved_id", "resolved_at", "id"),
        sa.Index("ix_ticket_status_cause", "status", "hq_queue_cause"),  # the HQ queue by cause
        # The reminder and warning jobs (partnernet.tickets.reminders): offers due a reminder, and
        # the targets not yet met whose due time is still ahead (a few, however many tickets).
        sa.Index("ix_ticket_offer_remind", "status", "offer_remind_at"),
        sa.Index("ix_ticket_response_warning", "response_due_at", "response_warn_at",
                 sqlite_where=sa.text(RESPONSE_OPEN), postgresql_where=sa.text(RESPONSE_OPEN)),
        sa.Index("ix_ticket_resolution_warning", "resolution_due_at", "resolution_warn_at",
                 sqlite_where=sa.text(RESOLUTION_OPEN), postgresql_where=sa.text(RESOLUTION_OPEN)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customer.id"), index=True)
    contract_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contract.id"), index=True)
    region_code: Mapped[str] = mapped_column(sa.ForeignKey("region.code"), index=True)
    product_line_id: Mapped[int] = mapped_column(sa.ForeignKey("product_line.id"), index=True)
    complexity: Mapped[str] = mapped_column(sa.String(16))
    channel: Mapped[str] = mapped_column(sa.String(16))
    tier: Mapped[str] = mapped_column(sa.String(2))
    billable: Mapped[bool] = mapped_column(default=False)
    billable_reason: Mapped[str | None] = mapped_column(sa.String(64))
    subject: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(24), default="new")
    # Who holds it: the party that accepted it (or HQ when it serves it); None while offered/new.
    owner_party_id: Mapped[int | None] = mapped_column(sa.ForeignKey("party.id"))
    offered_party_id: Mapped[int | None] = mapped_column(sa.ForeignKey("party.id"))
    offer_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Half-way through the offer on the SLA clock: when its reminder is due, unless a user of the
    # offered partner has opened the ticket meanwhile (offer_seen_at). Both are the current offer's.
    offer_remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    offer_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hq_queue_cause: Mapped[str | None] = mapped_column(sa.String(32))
    engineer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("engineer.id"), index=True)
    route: Mapped[dict | None] = mapped_column(sa.JSON)  # the last routing decision, whole
    response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When each target's warning is due (sla_warning_percent of it at intake, on the SLA clock;
    # moved with the due time): None, no warning.
    response_warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    customer = relationship("Customer")
    contract = relationship("Contract")
    region = relationship("Region")
    product_line = relationship("ProductLine")
    owner = relationship("Party", foreign_keys=[owner_party_id])
    offered_to = relationship("Party", foreign_keys=[offered_party_id])
    engineer = relationship("Engineer")
    events = relationship("TicketEvent", back_populates="ticket", order_by="TicketEvent.id")


class TicketEvent(db.Model):
    """One change to a ticket: who, when, what and why. Never updated, never deleted."""

    __tablename__ = "ticket_event"
    __table_args__ = (
        one_of("kind", EVENT_KINDS),
        sa.Index("ix_ticket_event_kind_at", "kind", "at"),
        sa.Index("ix_ticket_event_party_kind_at", "party_id", "kind", "at"),
        # A ticket's events of one kind: the audit's and the dashboard's correlated look-ups.
        sa.Index("ix_ticket_event_ticket_kind_at", "ticket_id", "kind", "at"),
        # A met or breached SLA target is recorded once per ticket, even if two jobs race.
        sa.Index("uq_ticket_event_sla_once", "ticket_id", "kind", unique=True,
                 sqlite_where=sa.text(SLA_EVENT_CONDITION), postgresql_where=sa.text(SLA_EVENT_CONDITION)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("ticket.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(sa.String(32))
    actor_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))  # None: the system
    party_id: Mapped[int | None] = mapped_column(sa.ForeignKey("party.id"))  # the party concerned
    from_status: Mapped[str | None] = mapped_column(sa.String(24))
    to_status: Mapped[str | None] = mapped_column(sa.String(24))
    reason_code: Mapped[str | None] = mapped_column(sa.String(32))
    note: Mapped[str | None] = mapped_column(sa.Text)
    data: Mapped[dict | None] = mapped_column(sa.JSON)

    ticket = relationship("Ticket", back_populates="events")
    actor = relationship("User")
    party = relationship("Party")


class EventCountDay(db.Model):
    """How many ticket events of a counted kind a day in China had, per party (0: none named): SLA
    targets settled and tickets resolved.
    Kept by a trigger on ticket_event (partnernet.tickets.daily), never written by the app."""

    __tablename__ = "event_count_day"
    __table_args__ = (sa.Index("ix_event_count_day_kind_day", "kind", "day", "party_id", "count"),)

    day: Mapped[date] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    party_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(default=0)


class OfferCountMonth(db.Model):
    """How many offers a partner had in a month in China, by what became of them (the offer kinds
    of partnernet.tickets.daily). Kept by a trigger on ticket_event, never written by the app."""

    __tablename__ = "offer_count_month"

    month: Mapped[date] = mapped_column(primary_key=True)  # the month's first day
    party_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)


class OfferCountWeek(db.Model):
    """How many offers a partner had in an ISO week of days in China (`week`: its Monday), by what
    became of them: the partner page's weekly push-back chart. Kept by a trigger on ticket_event
    (migration 0021), never written by the app."""

    __tablename__ = "offer_count_week"
    __table_args__ = (sa.Index("ix_offer_count_week_kind_week", "kind", "week", "party_id", "count"),)

    week: Mapped[date] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)


# --- who sees what (partnernet.scope; HQ sees everything) ------------------------------------------

@scope.rule(Ticket)
def _ticket_in_scope(user):
    if user.role == "engineer":
        return Ticket.engineer_id == user.engineer_id
    return sa.or_(Ticket.owner_party_id == user.party_id, Ticket.offered_party_id == user.party_id)


@scope.rule(TicketEvent)
def _event_in_scope(user):
    """Of a ticket's history, a partner's users see what concerns no partner or their own, never
    what another partner did with it before."""
    return sa.and_(TicketEvent.ticket_id.in_(sa.select(Ticket.id).where(_ticket_in_scope(user))),
                   sa.or_(TicketEvent.party_id.is_(None), TicketEvent.party_id == user.party_id))


def held_by(user):
    """The tickets the user's party holds now, with the customer to reach: accepted, at work or
    resolved (an engineer: those assigned to them). An offer is not holding."""
    held = sa.and_(Ticket.owner_party_id == user.party_id, Ticket.status.in_(CONTACT_STATUSES))
    return sa.and_(held, Ticket.engineer_id == user.engineer_id) if user.role == "engineer" else held


@scope.rule(Customer)
def _customer_in_scope(user):
    """A partner reads a customer's record (contacts, address) only while it holds one of its
    tickets; an offered partner sees on the ticket only what it needs to decide."""
    return Customer.id.in_(sa.select(Ticket.customer_id).where(held_by(user)))
