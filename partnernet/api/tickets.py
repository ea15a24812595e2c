"""/api/v1/tickets: intake (idempotent), the scoped list, one ticket, and the actions on it.
Every rule is in tickets.service; the scope is partnernet.scope's."""
from flask import request
from sqlalchemy.orm import selectinload

from partnernet.api import schemas
from partnernet.api.blueprint import api_user, blp, documented_errors
from partnernet.api.idempotency import fingerprint, open_once
from partnernet.api.pagination import keyset_page, page_schema
from partnernet.api.representations import ticket_view
from partnernet.auth.models import HQ_ROLES
from partnernet.scope import get_or_404, require_role
from partnernet.tickets import service
from partnernet.tickets.models import Ticket
from partnernet.tickets.queries import TicketFilters, get_offer_or_404, parse_month, ticket_list_statement
from partnernet.timeclock import now_utc

TAGS = ["tickets"]
REPLAYED = {"Idempotent-Replayed": {"description": "`true` when an earlier request with the same "
                                                   "Idempotency-Key opened this ticket.",
                                    "schema": {"type": "string", "enum": ["true"]}}}


@blp.route("/tickets", methods=["POST"], tags=TAGS)
@blp.arguments(schemas.IdempotencyHeader, location="headers")
@blp.arguments(schemas.IntakeIn)
@blp.response(201, schemas.Ticket, headers=REPLAYED)
@documented_errors(400, 403, 409, 422)
def open_ticket(headers, data):
    """Open a ticket and route it (HQ roles; integrations use an HQ user's token).

    With an `Idempotency-Key`, the same key and body within 24 hours return the first ticket
    (header `Idempotent-Replayed: true`); the same key with another body is a 422."""
    user = api_user()
    require_role(user, *HQ_ROLES)
    now = now_utc()

    def opened(linked=()):
        return service.intake(service.IntakeRequest(
            customer_id=data["customer_id"], product_line=data["product_line"], complexity=data["complexity"],
            channel=data["channel"], subject=data["subject"], description=data["description"],
            tier=data.get("tier"), region_code=data.get("region_code")), user, now, linked)

    key = headers.get("idempotency_key")
    if key is None:
        return ticket_view(opened(), user)
    ticket, replayed = open_once(user, key, fingerprint(request.get_json()), opened, now)
    return ticket_view(ticket, user), 201, {"Idempotent-Replayed": "true"} if replayed else {}


@blp.route("/tickets", methods=["GET"], tags=TAGS)
@blp.arguments(schemas.TicketListArgs, location="query")
@blp.response(200, page_schema(schemas.Ticket))
@documented_errors(422)
def list_tickets(args):
    """The tickets the caller may see, newest first, by keyset: `next_cursor` leads to the next page
    at the cost of the first, however deep."""
    user = api_user()
    filters = TicketFilters(status=args.get("status", ""), region=args.get("region", ""),
                            partner_id=args.get("partner_id"), product_line=args.get("product_line", ""),
                            overdue=args.get("breached"), resolved=parse_month(args.get("resolved")),
                            sort="id", descending=True,
                            billable={True: "yes", False: "no"}.get(args.get("billable"), ""))
    statement = ticket_list_statement(user, filters, now_utc()).options(
        selectinload(Ticket.owner), selectinload(Ticket.offered_to), selectinload(Ticket.customer))
    page = keyset_page(statement, Ticket.id, args, descending=True)
    page["items"] = [ticket_view(ticket, user) for ticket in page["items"]]
    return page


@blp.route("/tickets/<id:ticket_id>", methods=["GET"], tags=TAGS)
@blp.arguments(schemas.TicketDetailArgs, location="query")
@blp.response(200, schemas.Ticket)
@documented_errors(404, 422)
def get_ticket(args, ticket_id):
    """One ticket with its route explanation; `?include=events` adds its history."""
    user = api_user()
    ticket = get_or_404(Ticket, ticket_id, user)
    service.mark_offer_seen(ticket, user, now_utc())
    return ticket_view(ticket, user, include_events=args.get("include") == "events")


def acted(ticket: Ticket):
    return ticket_view(ticket, api_user())


@blp.route("/tickets/<id:ticket_id>/accept", methods=["POST"], tags=TAGS)
@blp.arguments(schemas.AcceptIn)
@blp.response(200, schemas.Ticket)
@documented_errors(400, 403, 404, 409, 422)
def accept_offer(data, ticket_id):
    """Accept an offer (partner_admin of the offered partner).

    Name one of your engineers certified for the product line. 409 when the ticket is no longer
    offered to you (taken by a colleague, expired, moved on, withdrawn from a suspended partner)."""
    user = api_user()
    require_role(user, "partner_admin")
    ticket = get_offer_or_404(ticket_id, user)
    return acted(service.accept(ticket, user, data["engineer_id"], now_utc()))


@blp.route("/tickets/<id:ticket_id>/decline", methods=["POST"], tags=TAGS)
@blp.arguments(schemas.DeclineIn)
@blp.response(204)
@documented_errors(400, 403, 404, 409, 422)
def decline_offer(data, ticket_id):
    """Decline an offer with a reason (partner_admin of the offered partner).

    The ticket moves on to the next candidate at once and leaves your scope: nothing is returned."""
    user = api_user()
    require_role(user, "partner_admin")
    ticket = get_offer_or_404(ticket_id, user)
    service.decline(ticket, user, data["reason_code"], data["note"], now_utc())


@blp.route("/tickets/<id:ticket_id>/return", methods=["POST"], tags=TAGS)
@blp.arguments(schemas.ReturnIn)
@blp.response(204)
@documented_errors(400, 403, 404, 409, 422)
def return_to_hq(data, ticket_id):
    """Return an accepted ticket to HQ with a reason (partner_admin of the owner).

    The ticket goes to the HQ queue and leaves your scope: nothing is returned. 409 for a ticket
    only offered to you (decline it instead) or already resolved."""
    user = api_user()
    require_role(user, "partner_admin")
    ticket = get_or_404(Ticket, ticket_id, user)
    service.return_to_hq(ticket, user, data["reason_code"], data["note"], now_utc())


@blp.route("/tickets/<id:ticket_id>/status", methods=["POST"], tags=TAGS)
@blp.arguments(schemas.TicketStatusIn)
@blp.response(200, schemas.Ticket)
@documented_errors(400, 404, 409, 422)
def change_ticket_status(data, ticket_id):
    """Move the ticket along its work (the owner's users, HQ).

    in_progress, waiting_on_customer (pauses the SLA clock), resolved (with a note), closed.
    409 for a step that is not allowed from the current status."""
    user = api_user()
    ticket = get_or_404(Ticket, ticket_id, user)
    return acted(service.change_status(ticket, user, data["status"], data["note"], now_utc()))


@blp.route("/tickets/<id:ticket_id>/reassign", methods=["POST"], tags=TAGS)
@blp.arguments(schemas.ReassignIn)
@blp.response(200, schemas.Ticket)
@documented_errors(400, 403, 404, 409, 422)
def reassign_engineer(data, ticket_id):
    """Give the ticket to another of the owner's certified engineers (the owner's partner_admin, HQ)."""
    user = api_user()
    ticket = get_or_404(Ticket, ticket_id, user)
    return acted(service.reassign(ticket, user, data["engineer_id"], now_utc()))


@blp.route("/tickets/<id:ticket_id>/reroute", methods=["POST"], tags=TAGS)
@blp.response(200, schemas.Ticket)
@documented_errors(403, 404, 409)
def reroute_ticket(ticket_id):
    """Run routing again for a ticket in the HQ queue (HQ).

    Parties that declined it or let an offer expire stay skipped. 409 when it is not in the queue."""
    user = api_user()
    require_role(user, *HQ_ROLES)
    ticket = get_or_404(Ticket, ticket_id, user)
    service.reroute(ticket, user, now_utc())
    return acted(ticket)


@blp.route("/tickets/<id:ticket_id>/take", methods=["POST"], tags=TAGS)
@blp.arguments(schemas.TakeIn, required=False)
@blp.response(200, schemas.Ticket)
@documented_errors(400, 403, 404, 409, 422)
def take_ticket(data, ticket_id):
    """HQ serves a ticket from its queue from now on (HQ); 409 when it is not in the queue."""
    user = api_user()
    require_role(user, *HQ_ROLES)
    ticket = get_or_404(Ticket, ticket_id, user)
    return acted(service.take_at_hq(ticket, user, now_utc(), data.get("engineer_id")))


@blp.route("/tickets/<id:ticket_id>/offer", methods=["POST"], tags=TAGS)
@blp.arguments(schemas.OfferIn)
@blp.response(200, schemas.Ticket)
@documented_errors(400, 403, 404, 409, 422)
def offer_ticket(data, ticket_id):
    """Offer a ticket from the HQ queue to a partner of HQ's choice (HQ).

    The partner needs an engineer certified for the product line, or an override reason.
    409 when the ticket is not in the queue."""
    user = api_user()
    require_role(user, *HQ_ROLES)
    ticket = get_or_404(Ticket, ticket_id, user)
    return acted(service.offer_by_hand(ticket, user, data["partner_id"], data["override_reason"], now_utc()))
