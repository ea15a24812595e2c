"""Sending the outbox of cards to group robots (channel_message), by the scheduler, never inside a
request; and the delivery log that shows what became of each card.

The job claims the due cards of a channel by compare-and-set (two schedulers never send the same
card), sends as many as the robot takes this minute and folds the rest into one digest card,
retries a failure after 1, 2, 4 and 8 minutes and gives up after MAX_ATTEMPTS. A robot's key or
token (in its address) and its secret are never logged or stored with an error.
"""
import logging
from datetime import datetime, timedelta

import httpx
import sqlalchemy as sa
from flask_babel import force_locale, gettext as _, lazy_gettext as _l

from partnernet.errors import Conflict
from partnernet.extensions import db
from partnernet.notifications.models import ChannelMessage, NotificationChannel
from partnernet.notifications.providers import TIMEOUT, Answer, send
from partnernet.notifications.robots import public_link, stored_card
from partnernet.scope import get_or_404, scoped

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
BACKOFF_MINUTES = (1, 2, 4, 8)  # after the 1st, 2nd, 3rd and 4th failure; the 5th is the last
CLAIM = timedelta(minutes=2)  # a claimed card no sender has finished by then is due again
WINDOW = timedelta(seconds=60)  # a robot's rate limit counts the messages of the last minute
MAX_CLAIM = 500  # cards of one channel claimed per run; more wait for the next minute
DIGEST = "digest"
DIGEST_LINES = 15  # the folded cards' titles a digest lists, then "and N more"
DIGEST_LINE_LENGTH = 60  # a digest stays within WeCom's 4096 bytes


def due(now: datetime):
    """A card to send now: pending and due, or claimed by a sender that did not finish in time."""
    return sa.or_(sa.and_(ChannelMessage.status == "pending", ChannelMessage.next_attempt_at <= now),
                  sa.and_(ChannelMessage.status == "sending", ChannelMessage.claimed_until < now))


def deliver_channel_messages(now: datetime, per_minute: int, client: httpx.Client | None = None) -> dict:
    """Send every channel's due cards (the delivery job's part). What happened, counted by outcome."""
    counts = {"sent": 0, "failed": 0, "retry": 0, "folded": 0, "waiting": 0}
    channel_ids = db.session.execute(sa.select(ChannelMessage.channel_id).where(due(now)).distinct()
                                     .order_by(ChannelMessage.channel_id)).scalars().all()
    db.session.rollback()  # end the read: each channel's claim starts a fresh transaction
    if not channel_ids:
        return counts
    own_client = client is None
    client = client or httpx.Client(timeout=TIMEOUT, follow_redirects=False)
    try:
        for channel_id in channel_ids:
            for outcome, count in deliver_to_channel(channel_id, now, per_minute, client).items():
                counts[outcome] += count
    finally:
        if own_client:
            client.close()
    return counts


def deliver_to_channel(channel_id: int, now: datetime, per_minute: int, client: httpx.Client) -> dict:
    counts = {"sent": 0, "failed": 0, "retry": 0, "folded": 0, "waiting": 0}
    channel = db.session.get(NotificationChannel, channel_id)
    if channel is None:  # deleted meanwhile: its cards went with it (ON DELETE CASCADE)
        return counts
    if not channel.enabled:
        counts["failed"] = give_up_while_off(channel, now)
        return counts
    budget = per_minute - sent_last_minute(channel_id, now)
    if budget <= 0:
        return counts  # the robot's minute is full: the cards wait, still pending
    claimed = claim(channel_id, now)
    if not claimed:
        return counts  # another sender claimed them first
    singles, folded, later = plan(claimed, budget)
    if later:
        release(later)
        counts["waiting"] += len(later)
    batch = singles + ([fold(channel, folded, now)] if folded else [])
    counts["folded"] = len(folded)
    provider, url, secret = channel.provider, channel.webhook_url, channel.secret
    cards = [stored_card(message) for message in batch]  # read before the commit expires them
    db.session.commit()
    for position, (message, card) in enumerate(zip(batch, cards)):
        answer = send(provider, url, secret, card, now, client)
        if answer.rate_limited:
            wait_for_next_minute(batch[position:], channel, answer, now)
            counts["waiting"] += len(batch) - position
            break
        counts[record(message, channel, answer, now)] += 1
    return counts


def sent_last_minute(channel_id: int, now: datetime) -> int:
    return db.session.execute(sa.select(sa.func.count(ChannelMessage.id)).where(
        ChannelMessage.channel_id == channel_id, ChannelMessage.status == "sent",
        ChannelMessage.sent_at > now - WINDOW)).scalar_one()


def claim(channel_id: int, now: datetime) -> list[ChannelMessage]:
    """The channel's due cards this sender now holds (status sending until now + CLAIM), oldest
    first. The UPDATE checks again that each is still due: of two senders, each card goes to the
    one whose UPDATE changed it (RETURNING says which), and the other skips it."""
    candidates = db.session.execute(sa.select(ChannelMessage.id).where(
        ChannelMessage.channel_id == channel_id, due(now)).order_by(ChannelMessage.id).limit(MAX_CLAIM)).scalars().all()
    if not candidates:
        return []
    won = db.session.execute(
        sa.update(ChannelMessage).where(ChannelMessage.id.in_(candidates), due(now))
        .values(status="sending", claimed_until=now + CLAIM).returning(ChannelMessage.id)
        .execution_options(synchronize_session=False)).scalars().all()
    db.session.commit()
    if not won:
        return []
    return list(db.session.execute(sa.select(ChannelMessage).where(ChannelMessage.id.in_(won))
                                   .order_by(ChannelMessage.id)).scalars())


def plan(claimed: list[ChannelMessage], budget: int) -> tuple[list, list, list]:
    """(sent one by one, folded into a digest, left for the next minute). Within the budget all go
    one by one; beyond it budget-1 go one by one and the rest make one digest, the budget's last
    message. A digest waiting from an earlier minute goes first and is never folded again."""
    digests = [message for message in claimed if message.kind == DIGEST]
    cards = [message for message in claimed if message.kind != DIGEST]
    if len(claimed) <= budget:
        return digests + cards, [], []
    if len(digests) >= budget:
        return digests[:budget], [], digests[budget:] + cards
    room = budget - 1 - len(digests)
    return digests + cards[:room], cards[room:], []


def fold(channel: NotificationChannel, folded: list[ChannelMessage], now: datetime) -> ChannelMessage:
    """One digest card in the channel's language listing the folded cards' titles, linked to the
    ticket list; the folded cards point to it (status folded). Claimed by this sender, uncommitted."""
    with force_locale(channel.locale):
        title = _("%(count)d more notifications (the group's robot takes only a few a minute)", count=len(folded))
        lines = [shortened(message.title) for message in folded[:DIGEST_LINES]]
        if len(folded) > DIGEST_LINES:
            lines.append(_("and %(count)d more", count=len(folded) - DIGEST_LINES))
        link_label = _("Open the ticket list")
    digest = ChannelMessage(channel_id=channel.id, kind=DIGEST, dedup_key=f"{DIGEST}:{folded[0].id}", title=title[:200],
                            lines=lines, link=public_link("/tickets/"), link_label=link_label[:64],
                            status="sending", attempts=0, next_attempt_at=now, claimed_until=now + CLAIM,
                            created_at=now)
    db.session.add(digest)
    db.session.flush()
    db.session.execute(sa.update(ChannelMessage).where(ChannelMessage.id.in_([m.id for m in folded]))
                       .values(status="folded", digest_id=digest.id, claimed_until=None)
                       .execution_options(synchronize_session=False))
    return digest


def shortened(title: str) -> str:
    return title if len(title) <= DIGEST_LINE_LENGTH else title[:DIGEST_LINE_LENGTH - 1] + "…"


def release(messages: list[ChannelMessage]) -> None:
    """Claimed cards this run will not send: pending again, due as before."""
    for message in messages:
        message.status, message.claimed_until = "pending", None


def record(message: ChannelMessage, channel: NotificationChannel, answer: Answer, now: datetime) -> str:
    """The provider's answer on the card: sent, or failed with its message and tried again after
    the backoff, or failed for good after MAX_ATTEMPTS. Committed at once, so a crash later in the
    run cannot send it again."""
    message.attempts += 1
    message.claimed_until = None
    if answer.ok:
        message.status, message.sent_at = "sent", now
        outcome = "sent"
    else:
        message.last_error = without_secrets(answer.message or str(answer.code), channel)[:500]
        if message.attempts >= MAX_ATTEMPTS:
            message.status = "failed"
            outcome = "failed"
        else:
            message.status = "pending"
            message.next_attempt_at = now + timedelta(minutes=BACKOFF_MINUTES[message.attempts - 1])
            outcome = "retry"
        log.warning("card %d to robot channel %d (%s) failed, attempt %d of %d: %s", message.id, channel.id,
                    channel.provider, message.attempts, MAX_ATTEMPTS, message.last_error)
    db.session.commit()
    return outcome


def wait_for_next_minute(messages: list[ChannelMessage], channel: NotificationChannel, answer: Answer,
                         now: datetime) -> None:
    """The robot said its minute is full: nothing more to it in this run. The refused card and the
    rest are pending again for the next minute; the refusal is not counted as an attempt (the card
    was not at fault, and a busy group must not use up its retries)."""
    messages[0].last_error = without_secrets(answer.message, channel)[:500]
    for message in messages:
        message.status, message.claimed_until = "pending", None
        message.next_attempt_at = now + WINDOW
    db.session.commit()
    log.info("robot channel %d (%s) is rate-limited: %d cards wait a minute", channel.id, channel.provider,
             len(messages))


def give_up_while_off(channel: NotificationChannel, now: datetime) -> int:
    """A channel turned off after its cards were queued: they are not sent, but failed with a message
    saying so (a card sent hours later, when it is on again, would be stale; HQ or the partner can
    still retry it). How many."""
    with force_locale(channel.locale):
        reason = _("Not sent: the channel was turned off before sending.")
    result = db.session.execute(
        sa.update(ChannelMessage).where(ChannelMessage.channel_id == channel.id, due(now))
        .values(status="failed", claimed_until=None, last_error=reason)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount


def without_secrets(text: str, channel: NotificationChannel) -> str:
    """A provider's message as stored and logged: never the robot's address, key or secret."""
    text = str(text)
    for secret in (channel.webhook_url, channel.secret, *webhook_tokens(channel.webhook_url)):
        if secret:
            text = text.replace(secret, "<secret>")
    return text


def webhook_tokens(url: str) -> list[str]:
    """The key or token in a robot's address (the query's values, or the path's last part)."""
    parts = httpx.URL(url)
    return [value for _name, value in parts.params.multi_items() if len(value) >= 8] + \
        [segment for segment in parts.path.rsplit("/", 1)[-1:] if len(segment) >= 16]


# --- The delivery log --------------------------------------------------------------------------

LOG_PAGE = 50
LOG_STATUSES = ("pending", "sending", "sent", "failed", "folded")
STATUS_NAMES = {"pending": _l("Waiting"), "sending": _l("Sending"), "sent": _l("Sent"), "failed": _l("Failed"),
                "folded": _l("In a digest")}
KIND_NAMES = {
    "offer": _l("Offer"), "offer_reminder": _l("Offer reminder"), "offer_expired": _l("Offer expired"),
    "response_warning": _l("Response time running out"), "resolution_warning": _l("Resolution time running out"),
    "response_breached": _l("Response target breached"), "resolution_breached": _l("Resolution target breached"),
    "certification_expiring": _l("Certification expiring"), "test": _l("Test message"), DIGEST: _l("Digest"),
}


def deliveries_statement(user, status: str | None = None, party_id: int | None = None):
    """The user's delivery log, newest first: HQ every party's (or one party's), a partner's users
    their own party's channels only."""
    statement = (sa.select(ChannelMessage).join(ChannelMessage.channel)
                 .options(sa.orm.contains_eager(ChannelMessage.channel).joinedload(NotificationChannel.party))
                 .order_by(ChannelMessage.id.desc()))
    if status:
        statement = statement.where(ChannelMessage.status == status)
    if party_id is not None:
        statement = statement.where(NotificationChannel.party_id == party_id)
    return scoped(statement, ChannelMessage, user)


def deliveries_page(user, status: str | None = None, party_id: int | None = None, before: int | None = None,
                    limit: int = LOG_PAGE) -> tuple[list[ChannelMessage], int | None]:
    """A page of the log after the id `before` (keyset), and the id the next page starts before
    (None on the last page)."""
    statement = deliveries_statement(user, status, party_id)
    if before is not None:
        statement = statement.where(ChannelMessage.id < before)
    rows = list(db.session.execute(statement.limit(limit + 1)).unique().scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more else None)


def retry_delivery(user, message_id: int, now: datetime) -> ChannelMessage:
    """A failed card back in the outbox: pending, no attempts, due now. Another party's is not found;
    a card that has not failed is a Conflict."""
    message = get_or_404(ChannelMessage, message_id, user)
    result = db.session.execute(
        sa.update(ChannelMessage).where(ChannelMessage.id == message.id, ChannelMessage.status == "failed")
        .values(status="pending", attempts=0, next_attempt_at=now, claimed_until=None)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.rollback()
        raise Conflict(_("Only a failed delivery can be retried."))
    db.session.commit()
    db.session.refresh(message)
    return message
