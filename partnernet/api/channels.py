"""/api/v1/channels: the group robots of the caller's party (a partner admin's partner, an HQ admin's
HQ), over notifications.channels as the pages use it; /api/v1/me/email-preferences."""
from flask import current_app

from partnernet.api import schemas
from partnernet.api.blueprint import api_user, blp, documented_errors
from partnernet.notifications import channels
from partnernet.notifications import service as notifications
from partnernet.notifications.kinds import KINDS
from partnernet.timeclock import now_utc

CHANNELS = ["notifications"]


@blp.route("/channels", methods=["GET"], tags=CHANNELS)
@blp.response(200, schemas.Channel(many=True))
@documented_errors(403)
def list_channels():
    """The group robots of the caller's party (partner_admin, hq_admin)."""
    return channels.channels_of(channels.channel_party_of(api_user()))


@blp.route("/channels", methods=["POST"], tags=CHANNELS)
@blp.arguments(schemas.ChannelIn)
@blp.response(201, schemas.Channel)
@documented_errors(400, 403, 422)
def create_channel(data):
    """Add a group robot to the caller's party: 422 naming the field for an address off the provider's
    hosts or a secret of the wrong shape."""
    party_id = channels.channel_party_of(api_user())
    return channels.save_channel(party_id, data["provider"], data["webhook_url"], data["secret"], data["name"],
                                 data["enabled"], current_app.config["ROBOT_HOSTS"], now_utc(),
                                 locale=data["locale"])


@blp.route("/channels/<id:channel_id>", methods=["PATCH"], tags=CHANNELS)
@blp.arguments(schemas.ChannelPatch)
@blp.response(200, schemas.Channel)
@documented_errors(400, 403, 404, 422)
def update_channel(data, channel_id):
    """Change some of a group robot's fields; another party's robot is not found."""
    party_id = channels.channel_party_of(api_user())
    channel = channels.channel_of(party_id, channel_id)
    return channels.save_channel(
        party_id, data.get("provider", channel.provider), data.get("webhook_url") or "", data.get("secret") or "",
        data.get("name", channel.name), data.get("enabled", channel.enabled), current_app.config["ROBOT_HOSTS"],
        now_utc(), channel_id=channel.id, locale=data.get("locale", channel.locale))


@blp.route("/channels/<id:channel_id>", methods=["DELETE"], tags=CHANNELS)
@blp.response(204)
@documented_errors(403, 404)
def delete_channel(channel_id):
    """Remove a group robot of the caller's party, with its delivery log."""
    channels.delete_channel(channels.channel_party_of(api_user()), channel_id)


@blp.route("/channels/<id:channel_id>/test", methods=["POST"], tags=CHANNELS)
@blp.response(202, schemas.ChannelTestQueued)
@documented_errors(403, 404)
def send_test_message(channel_id):
    """Queue a test card to this robot: the delivery job posts it within a minute (never this request)."""
    channel = channels.channel_of(channels.channel_party_of(api_user()), channel_id)
    return channels.queue_test_message(channel, now_utc())


def email_preferences(user_id: int) -> dict:
    left_out = notifications.email_opt_outs(user_id)
    return {"kinds": [{"kind": kind, "label": str(label), "by_email": kind not in left_out}
                      for kind, label in KINDS.items()]}


@blp.route("/me/email-preferences", methods=["GET"], tags=["reference"])
@blp.response(200, schemas.EmailPreferences)
@documented_errors()
def get_email_preferences():
    """Which kinds of notification the caller gets by e-mail (every kind reaches the bell)."""
    return email_preferences(api_user().id)


@blp.route("/me/email-preferences", methods=["PUT"], tags=["reference"])
@blp.arguments(schemas.EmailPreferencesIn)
@blp.response(200, schemas.EmailPreferences)
@documented_errors(400, 422)
def set_email_preferences(data):
    """E-mail the caller the kinds listed, and no other."""
    notifications.set_email_preferences(api_user().id, data["by_email"])
    return email_preferences(api_user().id)
