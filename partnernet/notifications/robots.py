"""Cards to a party's group robots: queued in the outbox (channel_message), one per channel and
reason, in each channel's language. The delivery job (not a request) sends them."""
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from sqlalchemy.dialects import postgresql, sqlite

from partnernet.extensions import db
from partnernet.notifications.models import ChannelMessage, NotificationChannel
from partnernet.notifications.providers import Card, one_line


def post_to_party(party_id: int, kind: str, dedup_key: str, render, now: datetime,
                  ticket_id: int | None = None) -> int:
    """Queue a card to each enabled channel of the party; `render()` returns a Card and runs in each
    channel's language. A channel that already has a card with this dedup_key gets nothing (the
    unique (channel, dedup_key) settles a race with another scheduler). How many were queued; no
    commit, the caller's transaction carries it."""
    channels = enabled_channels(party_id)
    if not channels:
        return 0
    cards, rows = {}, []
    for channel in channels:
        if channel.locale not in cards:
            with force_locale(channel.locale):
                cards[channel.locale] = render()
        card = cards[channel.locale]
        rows.append({"channel_id": channel.id, "kind": kind, "dedup_key": dedup_key, "ticket_id": ticket_id,
                     "title": one_line(card.title)[:200], "lines": [one_line(line) for line in card.lines],
                     "link": card.link, "link_label": str(card.link_label)[:64], "status": "pending",
                     "attempts": 0, "next_attempt_at": now, "created_at": now})
    connection = db.session.connection()
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    table = ChannelMessage.__table__
    statement = (dialect.insert(table).values(rows)
                 .on_conflict_do_nothing(index_elements=["channel_id", "dedup_key"]).returning(table.c.id))
    return len(list(connection.execute(statement).scalars()))


def enabled_channels(party_id: int) -> list[NotificationChannel]:
    """What a party's cards are posted to: nothing when its channels are off."""
    return list(db.session.execute(
        sa.select(NotificationChannel)
        .where(NotificationChannel.party_id == party_id, NotificationChannel.enabled.is_(True))
        .order_by(NotificationChannel.id)).scalars())


def public_link(path: str) -> str | None:
    """The address of a page for a card: PUBLIC_URL's (a group is not signed in; the page asks)."""
    base = current_app.config.get("PUBLIC_URL")
    return base + path if base else None


def stored_card(message: ChannelMessage) -> Card:
    """The card a queued message carries."""
    return Card(message.title, tuple(message.lines or ()), message.link, message.link_label)
