"""/api/v1/tickets/{id}/escalation-preview and /escalations: the holder raises a ticket's tier
(L1 → L2 → L3). The rules, entitlement and hand-on included, are tickets.service's."""
import marshmallow as ma
from marshmallow import fields

from partnernet.api.blueprint import api_user, blp, documented_errors
from partnernet.api.representations import route_view, ticket_view
from partnernet.api.schemas import Route, Ticket as TicketSchema, one_of, text
from partnernet.extensions import db
from partnernet.network.models import TIERS
from partnernet.scope import get_or_404, scope_clause
from partnernet.tickets import service
from partnernet.tickets.models import BILLABLE_REASONS, HQ_QUEUE_CAUSES, Ticket
from partnernet.timeclock import now_utc

TAGS = ["tickets"]
DESTINATIONS = ("stays", "partner", "hq_queue")


class EscalationPreviewArgs(ma.Schema):
    tier = one_of(TIERS, metadata={"description": "The tier to escalate to, above the ticket's (default: the next one)."})


class EscalationIn(ma.Schema):
    tier = one_of(TIERS, required=True, metadata={"description": "The tier to escalate to: above the ticket's."})
    reason = text(2000, 1, required=True, metadata={"description": "Why the ticket needs the higher tier."})
    accept_billable = fields.Boolean(load_default=False, metadata={"description": (
        "true: you accept that the ticket becomes billable at the new tier. Required when the preview says "
        "`billable`; without it such an escalation is a 422 whose message says why it is billable.")})


class EscalationPreview(ma.Schema):
    from_tier = one_of(TIERS, required=True)
    to_tier = one_of(TIERS, required=True)
    billable = fields.Boolean(required=True, metadata={"description": "The ticket is billable at the new tier."})
    billable_reason = one_of(BILLABLE_REASONS, required=True, allow_none=True)
    billable_message = fields.String(required=True, allow_none=True, metadata={
        "description": "Why it is billable, in the caller's language; null when it is not."})
    destination = one_of(DESTINATIONS, required=True, metadata={"description": (
        "stays: the holder offers the new tier there and keeps the ticket; partner: the holder does not, "
        "routing offers it to the best partner that does; hq_queue: nobody does, it goes to HQ's queue.")})
    hq_queue_cause = one_of(HQ_QUEUE_CAUSES, required=True, allow_none=True, metadata={
        "description": "Why HQ's queue, when it goes there."})
    route = fields.Nested(Route, required=True, allow_none=True, metadata={
        "description": "The routing decision when the ticket moves on (a partner sees only its own entry)."})


class Escalation(EscalationPreview):
    ticket = fields.Nested(TicketSchema, required=True, allow_none=True, metadata={
        "description": "The ticket after the escalation; null when it moved on and you no longer see it."})


def preview_view(preview: service.EscalationPreview, user) -> dict:
    decision = preview.decision
    destination = "stays" if preview.stays_with_owner else ("partner" if decision.offered_party_id else "hq_queue")
    return {"from_tier": preview.from_tier, "to_tier": preview.to_tier, "billable": preview.billable,
            "billable_reason": preview.billable_reason,
            "billable_message": service.billable_warning(preview) if preview.billable else None,
            "destination": destination, "hq_queue_cause": decision.cause if decision else None,
            "route": route_view(decision.as_dict(), user) if decision else None}


@blp.route("/tickets/<id:ticket_id>/escalation-preview", methods=["GET"], tags=TAGS)
@blp.arguments(EscalationPreviewArgs, location="query")
@blp.response(200, EscalationPreview)
@documented_errors(404, 409, 422)
def preview_escalation(args, ticket_id):
    """What escalating the ticket to `tier` would do (the holder: the owner's users, HQ when HQ holds it).

    Whether the new tier makes it billable and why (on-site below the threshold, service unpaid,
    no contract), and whether you keep it or it moves on to a partner that offers the tier, or to
    HQ's queue. Nothing is written. 409 when you do not hold the ticket or it is not open."""
    user = api_user()
    ticket = get_or_404(Ticket, ticket_id, user)
    tier = args.get("tier") or next(iter(service.higher_tiers(ticket)), ticket.tier)
    return preview_view(service.escalation_preview(ticket, user, tier, now_utc()), user)


@blp.route("/tickets/<id:ticket_id>/escalations", methods=["POST"], tags=TAGS)
@blp.arguments(EscalationIn)
@blp.response(200, Escalation)
@documented_errors(400, 404, 409, 422)
def escalate_ticket(data, ticket_id):
    """Escalate the ticket to a higher tier with a reason (the holder).

    A tier that makes the ticket billable needs `accept_billable: true` (else 422, the message says
    why). When you do not offer the tier for the ticket's region and product line, the ticket moves
    on by routing and leaves your scope; that is not counted as push-back. The SLA clocks run on."""
    user = api_user()
    ticket = get_or_404(Ticket, ticket_id, user)
    preview = service.escalate(ticket, user, data["tier"], data["reason"], data["accept_billable"], now_utc())
    visible = db.session.execute(db.select(Ticket).where(Ticket.id == ticket_id, scope_clause(Ticket, user))
                                 ).scalar_one_or_none()
    return {**preview_view(preview, user), "ticket": ticket_view(visible, user) if visible else None}
