"""The customer's confirmation link (满意度回访), closing tickets nobody answered, HQ's call-backs.

A link is a token signed with the app's SECRET_KEY over the ticket's id and a random nonce
(itsdangerous); only its SHA-256 is stored. It answers once (a compare-and-set on used_at), for its
own ticket only, until it expires (LINK_VALID_FOR after it was made) or a newer link replaces it.
"""
import hashlib
import secrets
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, format_datetime, gettext as _
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy.exc import IntegrityError

from partnernet import signals
from partnernet.auth.models import User
from partnernet.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from partnernet.extensions import db
from partnernet.feedback.models import ConfirmationLink, CustomerFeedback
from partnernet.notifications.service import send_email, smtp_configured
from partnernet.scope import scoped
from partnernet.tickets.models import Ticket, TicketEvent
from partnernet.tickets.service import add_event, works_on
from partnernet.transitions import compare_and_set

LINK_VALID_FOR = timedelta(days=14)
# A resolved ticket nobody answered closes itself this long after it was resolved.
AUTO_CLOSE_AFTER = timedelta(days=14)
SALT = "partnernet.feedback.confirmation-link"
MAX_EMAIL_ATTEMPTS = 5
# Reason codes of the events this module writes (labels in partnernet.labels).
CONFIRMED, NOT_SOLVED, NO_ANSWER = "confirmed_by_customer", "not_solved_by_customer", "no_answer_in_time"
ANSWER_REASONS = (CONFIRMED, NOT_SOLVED, NO_ANSWER)
COMMENT_MAX = 2000


class LinkGone(Exception):
    """The link was real but can answer no more: answered, expired, replaced, ticket closed (the
    customer's page says so with a 410)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- the token ----------------------------------------------------------------------------------

def serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def mint(ticket_id: int) -> tuple[str, str]:
    """(token, its SHA-256): the ticket's id and 192 random bits, signed."""
    token = serializer().dumps([ticket_id, secrets.token_urlsafe(24)])
    return token, digest(token)


def link_path(ticket_id: int, token: str) -> str:
    return f"/confirm/{ticket_id}/{token}"


def revoke_unanswered(ticket_id: int, now: datetime) -> None:
    """A newer link replaces the ticket's unanswered ones (an e-mail not yet sent is not sent)."""
    db.session.execute(sa.update(ConfirmationLink).where(
        ConfirmationLink.ticket_id == ticket_id, ConfirmationLink.used_at.is_(None),
        ConfirmationLink.revoked_at.is_(None)).values(revoked_at=now))


# --- issuing ------------------------------------------------------------------------------------

def emails_possible() -> bool:
    return smtp_configured() and bool(current_app.config.get("PUBLIC_URL"))


@signals.ticket_resolved.connect
def ask_the_customer(ticket: Ticket, actor: User | None = None, now: datetime | None = None, **_) -> None:
    """On resolution, the customer's contact e-mail gets a link (queued: the delivery job makes its
    token and sends it). Without an address or SMTP, the owner copies a link from the ticket page."""
    revoke_unanswered(ticket.id, now)
    address = (ticket.customer.contact_email or "").strip()
    if address and emails_possible():
        db.session.add(ConfirmationLink(ticket_id=ticket.id, party_id=ticket.owner_party_id, issued_at=now,
                                        email_to=address, email_status="pending", email_attempts=0))


def can_issue_link(ticket: Ticket, user: User) -> bool:
    """The owner's users and HQ, while the ticket is resolved."""
    return ticket.status == "resolved" and works_on(ticket, user)


def issue_link(ticket: Ticket, user: User, now: datetime) -> tuple[str, ConfirmationLink]:
    """A fresh link to copy (WeChat, SMS): the ticket's earlier unanswered links stop working.
    Returns the token, which exists nowhere else: show it once."""
    if not works_on(ticket, user):
        raise NotFound()
    if ticket.status != "resolved":
        raise InvalidTransition(_("Only a resolved ticket has a confirmation link."))
    revoke_unanswered(ticket.id, now)
    token, hashed = mint(ticket.id)
    link = ConfirmationLink(ticket_id=ticket.id, party_id=ticket.owner_party_id, token_hash=hashed,
                            issued_at=now, expires_at=now + LINK_VALID_FOR, issued_by_id=user.id, email_attempts=0)
    db.session.add(link)
    db.session.commit()
    return token, link


def send_link_emails(now: datetime) -> int:
    """The delivery job's part: make each queued link's token and e-mail it. A failure forgets
    the token (it was never delivered) and is retried next run, up to MAX_EMAIL_ATTEMPTS."""
    if not emails_possible():
        return 0
    queued = db.session.execute(sa.select(ConfirmationLink).where(
        ConfirmationLink.email_status == "pending", ConfirmationLink.revoked_at.is_(None))
        .order_by(ConfirmationLink.id).limit(100)).scalars().all()
    sent = 0
    for link in queued:
        token, hashed = mint(link.ticket_id)
        if not compare_and_set(link, {"email_status": "pending", "token_hash": None, "revoked_at": None},
                               {"token_hash": hashed, "issued_at": now, "expires_at": now + LINK_VALID_FOR}):
            db.session.rollback()
            continue
        db.session.commit()
        subject, body = link_email(link, token)
        try:
            send_email(link.email_to, subject, body)
        except (OSError, smtplib.SMTPException) as error:
            link.token_hash, link.expires_at = None, None
            link.email_attempts += 1
            link.email_error = str(error)[:500]
            if link.email_attempts >= MAX_EMAIL_ATTEMPTS:
                link.email_status = "failed"
        else:
            link.email_status, link.email_error = "sent", None
            link.email_attempts += 1
            sent += 1
        db.session.commit()
    return sent


def link_email(link: ConfirmationLink, token: str) -> tuple[str, str]:
    """The customer's e-mail, in Chinese (a customer has no language setting; the app's first)."""
    ticket = link.ticket
    url = current_app.config["PUBLIC_URL"] + link_path(ticket.id, token)
    with force_locale("zh_CN"):
        subject = _("Is your service request #%(id)d solved?", id=ticket.id)
        body = _("%(subject)s was marked resolved. Please tell us whether it is solved and how the service "
                 "was, on this page (no sign-in needed, valid until %(until)s):",
                 subject=ticket.subject, until=format_datetime(link.expires_at, "yyyy-MM-dd HH:mm"))
    return subject, f"{body}\n\n{url}\n"


# --- the customer's answer ----------------------------------------------------------------------

def find_link(ticket_id: int, token: str, now: datetime) -> ConfirmationLink:
    """The link the token names, for this ticket, still able to answer. NotFound for a token not
    ours (unsigned, made up, another ticket's); LinkGone, with the reason, for one that was real."""
    try:
        payload = serializer().loads(token)
    except BadData:
        raise NotFound() from None
    if not (isinstance(payload, list) and len(payload) == 2 and payload[0] == ticket_id):
        raise NotFound()
    link = db.session.execute(sa.select(ConfirmationLink).where(
        ConfirmationLink.token_hash == digest(token))).scalar_one_or_none()
    if link is None or link.ticket_id != ticket_id:
        raise NotFound()
    if link.used_at is not None:
        raise LinkGone(_("This link has already been answered. Thank you."))
    if link.revoked_at is not None:
        raise LinkGone(_("This link was replaced by a newer one. Please use the latest link you received."))
    if link.expires_at is None or link.expires_at <= now:
        raise LinkGone(_("This link has expired."))
    if link.ticket.status != "resolved":
        raise LinkGone(_("This request is no longer waiting for your answer."))
    return link


@dataclass
class Answer:
    solved: bool
    rating: int
    comment: str = ""


def checked(answer: Answer) -> Answer:
    fields = {}
    if answer.solved not in (True, False):
        fields["solved"] = _("Say whether it is solved.")
    if not isinstance(answer.rating, int) or isinstance(answer.rating, bool) or not 1 <= answer.rating <= 5:
        fields["rating"] = _("Choose a rating from 1 to 5.")
    comment = (answer.comment or "").strip()
    if len(comment) > COMMENT_MAX:
        fields["comment"] = _("At most %(count)d characters.", count=COMMENT_MAX)
    if fields:
        raise ValidationFailed(_("The answer is incomplete."), fields)
    return Answer(answer.solved, answer.rating, comment)


def answer(link: ConfirmationLink, given: Answer, now: datetime) -> Ticket:
    """The customer's answer: solved closes the ticket, not solved reopens it to the same owner
    and engineer (in_progress). Its SLA targets were recorded once, when it was resolved, and stay
    as they were (docs/design.md, "SLA clocks"); the reopening is an event of its own. Of two
    answers at once exactly one wins: a compare-and-set on the link's used_at."""
    given = checked(given)
    gone = _("This link has already been answered. Thank you.")
    if not compare_and_set(link, {"used_at": None, "revoked_at": None}, {"used_at": now},
                           where=[ConfirmationLink.expires_at > now]):
        db.session.rollback()
        raise LinkGone(gone)
    ticket = link.ticket
    not_waiting = _("This request is no longer waiting for your answer.")
    if given.solved:
        moved = compare_and_set(ticket, {"status": "resolved", "owner_party_id": link.party_id},
                                {"status": "closed", "closed_at": now, "updated_at": now})
        event = {"kind": "status_changed", "to_status": "closed", "reason_code": CONFIRMED}
    else:
        # The same owner and engineer; resolved_at keeps the first resolution until it is resolved again.
        moved = compare_and_set(ticket, {"status": "resolved", "owner_party_id": link.party_id},
                                {"status": "in_progress", "updated_at": now})
        event = {"kind": "reopened", "to_status": "in_progress", "reason_code": NOT_SOLVED}
    if not moved:
        db.session.rollback()
        raise LinkGone(not_waiting)
    add_event(ticket, now=now, party_id=link.party_id, from_status="resolved", **event)
    db.session.add(CustomerFeedback(ticket_id=ticket.id, party_id=link.party_id, source="customer",
                                    solved=given.solved, rating=given.rating, comment=given.comment, answered_at=now))
    db.session.commit()
    return ticket


@dataclass
class Summary:
    """What the customer sees of the work done."""
    ticket: Ticket
    party_name: str
    engineer_name: str | None
    resolved_at: datetime | None
    resolution_note: str | None


def summary(ticket: Ticket) -> Summary:
    note = db.session.execute(sa.select(TicketEvent.note).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "status_changed", TicketEvent.to_status == "resolved")
        .order_by(TicketEvent.id.desc()).limit(1)).scalar_one_or_none()
    return Summary(ticket, ticket.owner.name if ticket.owner else "", ticket.engineer.name if ticket.engineer else None,
                   ticket.resolved_at, note)


# --- closing what nobody answered -----------------------------------------------------------------

def close_unanswered(now: datetime) -> int:
    """Close every ticket resolved AUTO_CLOSE_AFTER ago or longer that nobody answered (an answer
    moves it out of `resolved`). Idempotent, and safe with two schedulers: a compare-and-set on
    the status and the resolution time, so each ticket is closed once."""
    due = db.session.execute(sa.select(Ticket.id, Ticket.resolved_at).where(
        Ticket.status == "resolved", Ticket.resolved_at <= now - AUTO_CLOSE_AFTER)
        .order_by(Ticket.resolved_at, Ticket.id)).all()
    closed = 0
    for ticket_id, resolved_at in due:
        ticket = db.session.get(Ticket, ticket_id)
        if not compare_and_set(ticket, {"status": "resolved", "resolved_at": resolved_at},
                               {"status": "closed", "closed_at": now, "updated_at": now}):
            db.session.rollback()
            continue
        add_event(ticket, "status_changed", now, None, party_id=ticket.owner_party_id, from_status="resolved",
                  to_status="closed", reason_code=NO_ANSWER)
        revoke_unanswered(ticket.id, now)
        db.session.commit()
        closed += 1
    return closed


# --- feedback on a ticket ---------------------------------------------------------------------------

def ticket_feedback(ticket: Ticket, user: User) -> list[CustomerFeedback]:
    """What customers said of this ticket, as far as the user may see it (a partner: of its own
    service only)."""
    return list(db.session.execute(scoped(sa.select(CustomerFeedback).where(CustomerFeedback.ticket_id == ticket.id),
                                          CustomerFeedback, user).order_by(CustomerFeedback.id)).scalars())


# --- HQ's call-backs ------------------------------------------------------------------------------

SAMPLE_SCALE = 10_000


def in_sample(ticket_id: int, share: float) -> bool:
    """A ticket's place in the random share, fixed by its id (Knuth's multiplicative hash), so the
    sample does not change from one look to the next. The SQL below computes the same."""
    return (ticket_id * 2654435761) % 2 ** 32 % SAMPLE_SCALE < round(float(share) * SAMPLE_SCALE)


def sampled(share: float):
    # In 64-bit integers: an id (up to 2**31) times the multiplier overflows PostgreSQL's integer.
    product = sa.cast(Ticket.id, sa.BigInteger) * sa.literal(2654435761, sa.BigInteger)
    return product % sa.literal(2 ** 32, sa.BigInteger) % SAMPLE_SCALE < round(float(share) * SAMPLE_SCALE)


def rated_low():
    return sa.exists().where(CustomerFeedback.ticket_id == Ticket.id, CustomerFeedback.source == "customer",
                             CustomerFeedback.rating <= 2)


def called_back():
    return sa.exists().where(CustomerFeedback.ticket_id == Ticket.id, CustomerFeedback.source == "callback")


def settled_clause():
    """Resolved or closed. On SQLite the status is `+status`, which no index can serve: without
    statistics SQLite would otherwise read every settled ticket through the status index and sort
    them all for each page, rather than a page's worth from ix_ticket_resolved_id in the queue's
    order (as tickets.queries.open_clause does for the open tickets)."""
    sqlite = db.session.get_bind().dialect.name == "sqlite"
    status = sa.literal_column("+ticket.status", sa.String) if sqlite else Ticket.status
    return status.in_(("resolved", "closed"))


def callback_queue_statement(share: float):
    """Resolved and closed tickets HQ should call and has not: every billable one, every one a
    customer rated 2 or less, and the random share; the latest resolution first (called while the
    customer still remembers)."""
    return (sa.select(Ticket).where(settled_clause(), Ticket.resolved_at.is_not(None),
                                    ~called_back(),
                                    sa.or_(Ticket.billable, rated_low(), sampled(share)))
            .order_by(*(key.desc() for key, _descending in CALLBACK_ORDER)))


# The latest resolution first; a resolved or closed ticket always has its resolution time.
CALLBACK_ORDER = [(Ticket.resolved_at, True), (Ticket.id, True)]


def callback_reasons(tickets: list[Ticket], share: float) -> dict[int, list[str]]:
    """Why each ticket is in the queue: billable_ticket, rated_low, sample."""
    ids = [t.id for t in tickets]
    low = set(db.session.execute(sa.select(CustomerFeedback.ticket_id).where(
        CustomerFeedback.ticket_id.in_(ids), CustomerFeedback.source == "customer",
        CustomerFeedback.rating <= 2)).scalars()) if ids else set()
    return {t.id: [reason for reason, holds in (("billable_ticket", t.billable), ("rated_low", t.id in low),
                                                ("sample", in_sample(t.id, share))) if holds]
            for t in tickets}


def record_callback(ticket: Ticket, user: User, given: Answer, now: datetime) -> CustomerFeedback:
    """An hq_agent's call: the customer's answer in the same terms, recorded once per ticket. It
    rates the party that resolved the ticket and changes nothing on the ticket."""
    if not user.is_hq:
        raise Forbidden()
    if ticket.status not in ("resolved", "closed"):
        raise InvalidTransition(_("Only a resolved or closed ticket is called back."))
    given = checked(given)
    row = CustomerFeedback(ticket_id=ticket.id, party_id=ticket.owner_party_id, source="callback",
                           solved=given.solved, rating=given.rating, comment=given.comment, answered_at=now,
                           recorded_by_id=user.id)
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(_("This ticket has already been called back.")) from None
    return row
