"""A party's group robot channels (WeCom, DingTalk, Feishu): checked before they are saved, read
back without their secrets. The views and the API call these with the party their user may act
for, so a partner sets only its own channels."""
import secrets
from datetime import datetime

import sqlalchemy as sa
from flask_babel import force_locale, gettext as _, lazy_gettext as _l

from partnernet.errors import Forbidden, NotFound, ValidationFailed
from partnernet.extensions import db
from partnernet.notifications.models import ChannelMessage, NotificationChannel
from partnernet.notifications.providers import PROVIDERS, InvalidWebhook, check_secret, check_webhook_url, one_line
from partnernet.notifications.robots import public_link

# Who sets a party's channels: a partner's administrator its partner's, HQ's administrator HQ's.
CHANNEL_ADMIN_ROLES = ("partner_admin", "hq_admin")
CHANNEL_LOCALES = ("zh_CN", "en")  # the language of a group's cards


def checked(provider: str, webhook_url: str, secret: str | None, allowed_hosts: dict) -> tuple[str, str | None]:
    """The address and secret to store; ValidationFailed naming the field that is wrong."""
    try:
        url = check_webhook_url(provider, webhook_url, allowed_hosts.get(provider, ()))
    except InvalidWebhook as error:
        field = "provider" if provider not in PROVIDERS else "webhook_url"
        raise ValidationFailed(str(error.message), {field: str(error.message)}) from None
    try:
        secret = check_secret(provider, secret)
    except InvalidWebhook as error:
        raise ValidationFailed(str(error.message), {"secret": str(error.message)}) from None
    return url, secret


def channel_party_of(user) -> int:
    """The party whose channels the user sets: always the user's own (never one named by a form or a
    path); Forbidden for a role that sets none."""
    if user.role not in CHANNEL_ADMIN_ROLES:
        raise Forbidden()
    return user.party_id


def channels_of(party_id: int) -> list[NotificationChannel]:
    return list(db.session.execute(
        db.select(NotificationChannel).where(NotificationChannel.party_id == party_id)
        .order_by(NotificationChannel.id)).scalars())


def channel_of(party_id: int, channel_id: int) -> NotificationChannel:
    """One channel of this party; another party's is not found (outside a user's scope is a 404)."""
    channel = db.session.get(NotificationChannel, channel_id)
    if channel is None or channel.party_id != party_id:
        raise NotFound(str(_l("No such channel.")))
    return channel


def save_channel(party_id: int, provider: str, webhook_url: str, secret: str | None, name: str,
                 enabled: bool, allowed_hosts: dict, now: datetime,
                 channel_id: int | None = None, locale: str = "zh_CN") -> NotificationChannel:
    """Create a channel, or change one of this party's. The secret and the address are never shown
    back, so on a change an empty address or secret keeps the stored one (while the provider stays
    the same). Bad input changes nothing."""
    channel = channel_of(party_id, channel_id) if channel_id is not None else None
    keep = channel is not None and channel.provider == provider
    if keep and not (webhook_url or "").strip():
        webhook_url = channel.webhook_url
    if keep and not (secret or "").strip():
        secret = channel.secret
    url, secret = checked(provider, webhook_url, secret, allowed_hosts)
    if locale not in CHANNEL_LOCALES:
        message = str(_l("Choose Chinese or English."))
        raise ValidationFailed(message, {"locale": message})
    name = " ".join((name or "").split())[:64]
    if channel is None:
        channel = NotificationChannel(party_id=party_id, created_at=now)
        db.session.add(channel)
    channel.provider, channel.webhook_url, channel.secret = provider, url, secret
    channel.name, channel.enabled, channel.locale, channel.updated_at = name, bool(enabled), locale, now
    try:
        db.session.commit()
    except sa.exc.IntegrityError:  # uq_notification_channel_party_webhook: this robot is a channel already
        db.session.rollback()
        message = str(_l("This robot is already one of your channels."))
        raise ValidationFailed(message, {"webhook_url": message}) from None
    return channel


def set_enabled(party_id: int, channel_id: int, enabled: bool, now: datetime) -> NotificationChannel:
    channel = channel_of(party_id, channel_id)
    channel.enabled, channel.updated_at = bool(enabled), now
    db.session.commit()
    return channel


def delete_channel(party_id: int, channel_id: int) -> None:
    db.session.delete(channel_of(party_id, channel_id))
    db.session.commit()


def queue_test_message(channel: NotificationChannel, now: datetime) -> ChannelMessage:
    """A test card to this one channel, in its language, naming its party: queued for the delivery
    job (a request never posts to a robot). Every press is a message of its own."""
    with force_locale(channel.locale):
        title = _("Test message from partnernet")
        lines = [_("This group will receive the notifications of %(party)s here: new tickets offered, "
                   "reminders and warnings.", party=channel.party.name),
                 _("Sent because someone pressed “Send a test message”.")]
        link_label = _("Open partnernet")
    message = ChannelMessage(channel_id=channel.id, kind="test", dedup_key=f"test:{channel.id}:{secrets.token_hex(8)}",
                             title=one_line(title)[:200], lines=[one_line(line) for line in lines],
                             link=public_link("/"), link_label=link_label[:64], status="pending", attempts=0,
                             next_attempt_at=now, created_at=now)
    db.session.add(message)
    db.session.commit()
    return message
