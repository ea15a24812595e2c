"""/api/v1: a resolved ticket's confirmation link, what customers said of a ticket, HQ's call-backs.
Every rule is in partnernet.feedback.service; the scope is partnernet.scope's."""
import marshmallow as ma
from flask import current_app, url_for
from marshmallow import fields, validate

from partnernet.api.blueprint import api_user, blp, documented_errors
from partnernet.api.fields import ChinaDateTime
from partnernet.api.pagination import ListArgs, keyset_page, page_schema
from partnernet.api.representations import ticket_view
from partnernet.api.schemas import Ticket as TicketSchema, text
from partnernet.auth.models import HQ_ROLES
from partnernet.feedback import service
from partnernet.feedback.models import FEEDBACK_SOURCES
from partnernet.scope import get_or_404, require_role
from partnernet.settings.service import load_settings
from partnernet.tickets.models import Ticket
from partnernet.timeclock import now_utc

TAGS = ["feedback"]


class ConfirmationLinkOut(ma.Schema):
    url = fields.String(required=True, metadata={"description": "The customer's page. Shown once: only its hash is kept."})
    expires_at = ChinaDateTime(required=True)


class Feedback(ma.Schema):
    id = fields.Integer(required=True)
    ticket_id = fields.Integer(required=True)
    partner_id = fields.Integer(required=True, attribute="party_id",
                                metadata={"description": "The party whose service is rated (HQ's party id when HQ served)."})
    source = fields.String(required=True, validate=validate.OneOf(FEEDBACK_SOURCES))
    solved = fields.Boolean(required=True)
    rating = fields.Integer(required=True, allow_none=True)
    comment = fields.String(required=True)
    answered_at = ChinaDateTime(required=True)
    recorded_by_id = fields.Integer(required=True, allow_none=True,
                                    metadata={"description": "The hq_agent who called; null for the customer's own answer."})


class FeedbackList(ma.Schema):
    items = fields.List(fields.Nested(Feedback), required=True)


class CallbackIn(ma.Schema):
    solved = fields.Boolean(required=True)
    rating = fields.Integer(required=True, validate=validate.Range(min=1, max=5))
    comment = text(service.COMMENT_MAX, load_default="")


class CallbackTicket(TicketSchema):
    reasons = fields.List(fields.String(validate=validate.OneOf(("billable_ticket", "rated_low", "sample"))),
                          required=True, metadata={"description": "Why the ticket is to be called."})


@blp.route("/tickets/<id:ticket_id>/confirmation-link", methods=["POST"], tags=TAGS)
@blp.response(201, ConfirmationLinkOut)
@documented_errors(404, 409)
def issue_confirmation_link(ticket_id):
    """A fresh link for the customer of a resolved ticket (the owner's users, HQ).

    The URL is returned once; the ticket's earlier unanswered links stop working. Valid 14 days,
    one answer. 409 when the ticket is not resolved."""
    user = api_user()
    ticket = get_or_404(Ticket, ticket_id, user)
    token, link = service.issue_link(ticket, user, now_utc())
    base = current_app.config.get("PUBLIC_URL")
    url = base + service.link_path(ticket.id, token) if base else \
        url_for("feedback.confirm", ticket_id=ticket.id, token=token, _external=True)
    return {"url": url, "expires_at": link.expires_at}


@blp.route("/tickets/<id:ticket_id>/feedback", methods=["GET"], tags=TAGS)
@blp.response(200, FeedbackList)
@documented_errors(404)
def ticket_feedback(ticket_id):
    """What customers said of a ticket: their link's answer and HQ's call-back. A partner sees
    only what was said of its own service."""
    user = api_user()
    ticket = get_or_404(Ticket, ticket_id, user)
    return {"items": service.ticket_feedback(ticket, user)}


@blp.route("/callbacks", methods=["GET"], tags=TAGS)
@blp.arguments(ListArgs, location="query")
@blp.response(200, page_schema(CallbackTicket))
@documented_errors(403, 422)
def callback_queue(args):
    """Resolved and closed tickets HQ is to call back (HQ): every billable one, every one rated 2
    or less, and the random share set in the settings (callback_share), stable per ticket."""
    user = api_user()
    require_role(user, *HQ_ROLES)
    share = float(load_settings()["callback_share"])
    statement = service.callback_queue_statement(share).order_by(None).order_by(Ticket.id)
    page = keyset_page(statement, Ticket.id, args)
    reasons = service.callback_reasons(page["items"], share)
    page["items"] = [{**ticket_view(ticket, user), "reasons": reasons[ticket.id]} for ticket in page["items"]]
    return page


@blp.route("/tickets/<id:ticket_id>/callback", methods=["POST"], tags=TAGS)
@blp.arguments(CallbackIn)
@blp.response(201, Feedback)
@documented_errors(400, 403, 404, 409, 422)
def record_callback(data, ticket_id):
    """Record HQ's call to the customer of a resolved or closed ticket (HQ), once per ticket;
    409 when it was already called back or is not resolved."""
    user = api_user()
    require_role(user, *HQ_ROLES)
    ticket = get_or_404(Ticket, ticket_id, user)
    return service.record_callback(ticket, user, service.Answer(data["solved"], data["rating"], data["comment"]),
                                   now_utc())
