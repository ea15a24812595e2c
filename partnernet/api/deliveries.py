"""/api/v1/deliveries: the delivery log of cards to group robots, and retrying a failed one. The
rules (scope, what may be retried) are partnernet.notifications.delivery's, as on the log page."""
import marshmallow as ma
from marshmallow import fields

from partnernet.api.blueprint import api_user, blp, documented_errors
from partnernet.api.fields import ChinaDateTime
from partnernet.api.pagination import ListArgs, keyset_page, page_schema
from partnernet.api.schemas import one_of
from partnernet.db_types import MAX_ID
from partnernet.notifications import delivery
from partnernet.notifications.models import ChannelMessage
from partnernet.notifications.providers import PROVIDERS
from partnernet.scope import require_role
from partnernet.timeclock import now_utc

TAGS = ["notifications"]
ROLES = ("hq_admin", "partner_admin")


class DeliveryListArgs(ListArgs):
    status = one_of(delivery.LOG_STATUSES, metadata={"description": "Only the cards with this status (failed: "
                                                     "those that will not be tried again)."})
    partner_id = fields.Integer(validate=ma.validate.Range(min=1, max=MAX_ID), metadata={
        "description": "Only the cards to this party's channels (HQ; a partner sees only its own anyway)."})


class Delivery(ma.Schema):
    id = fields.Integer(required=True)
    channel_id = fields.Integer(required=True)
    channel_name = fields.String(required=True, metadata={"description": "The group's name, as its admin calls it."})
    provider = one_of(PROVIDERS, required=True)
    address = fields.String(required=True, metadata={
        "description": "The robot's address, masked: its host and the key's last four characters."})
    partner_id = fields.Integer(required=True, metadata={"description": "The party whose channel it is."})
    kind = fields.String(required=True, metadata={"description": "Why the card was sent: offer, offer_reminder, "
                                                  "…, test, or digest (cards folded into one)."})
    title = fields.String(required=True)
    ticket_id = fields.Integer(required=True, allow_none=True)
    status = one_of(delivery.LOG_STATUSES, required=True, metadata={"description": (
        "pending: waiting to be sent (or tried again); sending: being sent; sent; failed: given up after its "
        "last attempt, `provider_message` says why; folded: carried by the digest `digest_id`.")})
    attempts = fields.Integer(required=True)
    provider_message = fields.String(required=True, allow_none=True, metadata={
        "description": "What the provider answered to the last failed attempt (its code and message)."})
    next_attempt_at = ChinaDateTime(required=True, allow_none=True, metadata={
        "description": "When a pending card is sent or tried again."})
    digest_id = fields.Integer(required=True, allow_none=True)
    created_at = ChinaDateTime(required=True)
    sent_at = ChinaDateTime(required=True, allow_none=True)


def delivery_view(message: ChannelMessage) -> dict:
    channel = message.channel
    return {"id": message.id, "channel_id": channel.id, "channel_name": channel.name, "provider": channel.provider,
            "address": channel.masked_webhook, "partner_id": channel.party_id, "kind": message.kind,
            "title": message.title, "ticket_id": message.ticket_id, "status": message.status,
            "attempts": message.attempts, "provider_message": message.last_error,
            "next_attempt_at": message.next_attempt_at if message.status == "pending" else None,
            "digest_id": message.digest_id, "created_at": message.created_at, "sent_at": message.sent_at}


@blp.route("/deliveries", methods=["GET"], tags=TAGS)
@blp.arguments(DeliveryListArgs, location="query")
@blp.response(200, page_schema(Delivery))
@documented_errors(403, 422)
def list_deliveries(args):
    """The delivery log of cards to group robots, newest first (hq_admin: every party's; a
    partner_admin: its own party's channels)."""
    user = api_user()
    require_role(user, *ROLES)
    statement = delivery.deliveries_statement(user, args.get("status"), args.get("partner_id"))
    page = keyset_page(statement, ChannelMessage.id, args, descending=True)
    page["items"] = [delivery_view(message) for message in page["items"]]
    return page


@blp.route("/deliveries/<id:message_id>/retry", methods=["POST"], tags=TAGS)
@blp.response(200, Delivery)
@documented_errors(403, 404, 409)
def retry_delivery(message_id):
    """Send a failed card again: it is pending, with no attempts, due at once (the delivery job
    sends it within a minute). Another party's card is 404; one that has not failed is 409."""
    user = api_user()
    require_role(user, *ROLES)
    return delivery_view(delivery.retry_delivery(user, message_id, now_utc()))
