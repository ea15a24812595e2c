"""A party's group robot channels (WeCom, DingTalk, Feishu): checked before they are saved, read
back without their secrets. The views and the API call these with the party their user may act
for, so a partner sets only its own channels."""
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from partnernet.errors import NotFound, ValidationFailed
from partnernet.extensions import db
from partnernet.notifications.models import NotificationChannel
from partnernet.notifications.providers import InvalidWebhook, check_secret, check_webhook_url


def checked(provider: str, webhook_url: str, secret: str | None, allowed_hosts: dict) -> tuple[str, str | None]:
    """The address and secret to store; ValidationFailed naming the field that is wrong."""
    try:
        url = check_webhook_url(provider, webhook_url, allowed_hosts.get(provider, ()))
    except InvalidWebhook as error:
        raise ValidationFailed(str(error.message), {"webhook_url": [str(error.message)]}) from None
    try:
        secret = check_secret(provider, secret)
    except InvalidWebhook as error:
        raise ValidationFailed(str(error.message), {"secret": [str(error.message)]}) from None
    return url, secret


def channels_of(party_id: int) -> list[NotificationChannel]:
    return list(db.session.execute(
        db.select(NotificationChannel).where(NotificationChannel.party_id == party_id)
        .order_by(NotificationChannel.id)).scalars())


def enabled_channels(party_id: int) -> list[NotificationChannel]:
    """What the delivery job posts a party's notifications to: nothing when its channels are off."""
    return list(db.session.execute(
        db.select(NotificationChannel)
        .where(NotificationChannel.party_id == party_id, NotificationChannel.enabled.is_(True))
        .order_by(NotificationChannel.id)).scalars())


def channel_of(party_id: int, channel_id: int) -> NotificationChannel:
    """One channel of this party; another party's is not found (outside a user's scope is a 404)."""
    channel = db.session.get(NotificationChannel, channel_id)
    if channel is None or channel.party_id != party_id:
        raise NotFound(str(_l("No such channel.")))
    return channel


def save_channel(party_id: int, provider: str, webhook_url: str, secret: str | None, name: str,
                 enabled: bool, allowed_hosts: dict, now: datetime,
                 channel_id: int | None = None) -> NotificationChannel:
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
    name = " ".join((name or "").split())[:64]
    if channel is None:
        channel = NotificationChannel(party_id=party_id, created_at=now)
        db.session.add(channel)
    channel.provider, channel.webhook_url, channel.secret = provider, url, secret
    channel.name, channel.enabled, channel.updated_at = name, bool(enabled), now
    try:
        db.session.commit()
    except sa.exc.IntegrityError:  # uq_notification_channel_party_webhook: this robot is a channel already
        db.session.rollback()
        message = str(_l("This robot is already one of your channels."))
        raise ValidationFailed(message, {"webhook_url": [message]}) from None
    return channel


def set_enabled(party_id: int, channel_id: int, enabled: bool, now: datetime) -> NotificationChannel:
    channel = channel_of(party_id, channel_id)
    channel.enabled, channel.updated_at = bool(enabled), now
    db.session.commit()
    return channel


def delete_channel(party_id: int, channel_id: int) -> None:
    db.session.delete(channel_of(party_id, channel_id))
    db.session.commit()
