"""Reminders before a ticket's clock runs out: an offer nobody of the partner has opened, announced
again half-way; a target at its warning point (80% by default), told to whoever must act. Jobs of
the scheduler, each idempotent: one message per event (dedup keys), however many schedulers run."""
from datetime import datetime

import sqlalchemy as sa
from flask_babel import format_datetime, gettext as _

from partnernet.auth.models import User
from partnernet.extensions import db
from partnernet.network.service import hq_party_id
from partnernet.notifications.robots import post_to_party
from partnernet.notifications.service import notify_each, notify_party, party_notification
from partnernet.tickets.cards import deadline_text, ticket_card
from partnernet.tickets.models import OPEN_STATUSES, Ticket, TicketEvent
from partnernet.tickets.service import offer_key

RUNNING = tuple(s for s in OPEN_STATUSES if s != "waiting_on_customer")


def remind_unseen_offers(now: datetime, settings: dict) -> int:
    """Half-way through an offer that nobody of the offered partner has opened (offer_remind_at
    passed, the deadline not yet): its administrators in the app and by e-mail, its groups by a
    card. Once per offer. How many offers were due a reminder."""
    if not settings["remind_offer_half_way"]:
        return 0
    due = db.session.execute(sa.select(Ticket).where(
        Ticket.status == "offered", Ticket.offer_remind_at <= now, Ticket.offer_seen_at.is_(None),
        Ticket.offer_deadline > now).order_by(Ticket.offer_remind_at, Ticket.id)).scalars().all()
    for ticket in due:
        key = f"offer_reminder:{offer_key(ticket.id, ticket.offer_deadline)}"
        deadline = deadline_text(ticket.offer_deadline, now)
        link = f"/tickets/{ticket.id}"
        notify_party(party_notification(
            ticket.offered_party_id, "partner_admin", "offer_reminder", key,
            lambda: (_("Reminder: ticket #%(id)d still waits for your answer: %(subject)s",
                       id=ticket.id, subject=ticket.subject),
                     _("Accept or decline before %(deadline)s.", deadline=deadline)), link, now))
        post_to_party(ticket.offered_party_id, "offer_reminder", key,
                      lambda: ticket_card(ticket,
                                          _("Reminder: ticket #%(id)d still waits for your answer", id=ticket.id),
                                          _("Accept or decline before %(deadline)s", deadline=deadline)),
                      now, ticket.id)
    db.session.commit()
    return len(due)


def warn_before_breach(now: datetime, settings: dict) -> int:
    """Each target not yet met whose warning point has passed and whose due time has not, on a
    running clock (not while waiting on the customer): its owner is warned, once per ticket and
    target (warning_recipients). How many warnings were due."""
    if not int(settings["sla_warning_percent"]):
        return 0
    hq_id = hq_party_id()
    warned = 0
    for target, warn_at, due_at, done in (
            ("response", Ticket.response_warn_at, Ticket.response_due_at, Ticket.responded_at),
            ("resolution", Ticket.resolution_warn_at, Ticket.resolution_due_at, Ticket.resolved_at)):
        # (done IS NULL: the condition of the partial index on (due, warning point) that serves this)
        due = db.session.execute(sa.select(Ticket).where(
            done.is_(None), due_at > now, warn_at <= now, Ticket.status.in_(RUNNING),
            ~sa.exists().where(TicketEvent.ticket_id == Ticket.id,
                               TicketEvent.kind.in_((f"{target}_met", f"{target}_breached"))))
            .order_by(due_at, Ticket.id)).scalars().all()
        for ticket in due:
            warn(ticket, target, hq_id, now)
        warned += len(due)
    db.session.commit()
    return warned


def warning_recipients(ticket: Ticket, hq_id: int) -> tuple[int, list[User]]:
    """(the party whose groups hear it, the users told): the owning partner's administrators and
    the assigned engineer; HQ's agents (and the engineer) when HQ holds the ticket or nobody does
    yet (new, offered, in HQ's queue)."""
    party_id = ticket.owner_party_id or hq_id
    role = "hq_agent" if party_id == hq_id else "partner_admin"
    users = list(db.session.execute(sa.select(User).where(
        User.active, User.party_id == party_id,
        sa.or_(User.role == role, sa.and_(User.role == "engineer", User.engineer_id == ticket.engineer_id))))
        .scalars())
    return party_id, users


def warn(ticket: Ticket, target: str, hq_id: int, now: datetime) -> None:
    kind = f"{target}_warning"
    key = f"{kind}:{ticket.id}"
    due_at = ticket.response_due_at if target == "response" else ticket.resolution_due_at
    party_id, users = warning_recipients(ticket, hq_id)

    def title():
        if target == "response":
            return _("Ticket #%(id)d must be answered soon", id=ticket.id)
        return _("Ticket #%(id)d must be resolved soon", id=ticket.id)

    notify_each(users, kind, key, lambda: (title(), _("%(subject)s — due %(due)s.", subject=ticket.subject,
                                                      due=format_datetime(due_at, "yyyy-MM-dd HH:mm"))),
                f"/tickets/{ticket.id}", now)
    post_to_party(party_id, kind, key,
                  lambda: ticket_card(ticket, title(), _("Due %(deadline)s", deadline=deadline_text(due_at, now))),
                  now, ticket.id)
