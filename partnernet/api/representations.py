"""What a ticket looks like through the API, for the user who asks.

HQ sees the whole routing decision and the whole history. A partner's users see the ticket their
scope lets them see, but never other partners: of the route candidates only their own partner's
entry, of the events only those that concern no partner or their own, without the details (which
hold the full route). The schemas in partnernet.api.schemas format the values.
"""
from datetime import datetime

from partnernet.auth.models import User
from partnernet.network.service import product_line_code
from partnernet.tickets.queries import ticket_events
from partnernet.tickets.models import Ticket
from partnernet.tickets.service import sees_customer_contacts

CUSTOMER_CONTACT = ("id", "name", "contact_name", "contact_phone", "contact_email", "address", "location_notes")


def owner_of(ticket: Ticket) -> dict:
    """Who holds the ticket now: the partner that accepted it or is offered it, else HQ."""
    return party_view(ticket.owner or ticket.offered_to)


def party_view(party) -> dict:
    """HQ or a partner, as schemas.PartyField writes them."""
    if party is None or party.is_hq:
        return {"type": "hq"}
    return {"type": "partner", "id": party.id, "name": party.name}


def route_for(ticket: Ticket, user: User) -> dict | None:
    if not ticket.route:
        return None
    # Why it is at HQ now: a return puts it there after routing had offered it.
    return route_view(ticket.route, user, ticket.hq_queue_cause if ticket.status == "hq_queue" else None)


def route_view(route: dict, user: User, cause: str | None = None) -> dict:
    """A stored routing decision (routing.Decision.as_dict) in the API's names and times."""
    candidates = [c for c in route.get("candidates", []) if user.is_hq or c.get("party_id") == user.party_id]
    return {
        "cause": cause or route.get("cause"),
        "decided_at": instant(route.get("decided_at")),
        "candidates": [candidate_view(c) for c in candidates],
    }


def instant(stored: str | None) -> datetime | None:
    """A time stored as ISO text in an event's details or a route; the schema writes it +08:00."""
    return datetime.fromisoformat(stored) if stored else None


def candidate_view(candidate: dict) -> dict:
    view = {"partner_id": candidate["party_id"], "name": candidate.get("name"), "kind": candidate.get("kind"),
            "level": candidate["level"], "outcome": candidate["outcome"]}
    if candidate.get("rank") is not None:
        view["rank"] = candidate["rank"]
    if candidate.get("reason"):
        view["reason"] = candidate["reason"]
        view["detail"] = candidate.get("detail")
    return view


def events_for(ticket: Ticket, user: User) -> list[dict]:
    views = []
    for event in ticket_events(ticket.id, user):
        view = {name: getattr(event, name) for name in (
            "id", "kind", "at", "actor_user_id", "party_id", "from_status", "to_status", "reason_code", "note")}
        if user.is_hq:
            view["data"] = event_data(event.data, user)
        views.append(view)
    return views


# The stored details' keys as the API names them (schemas.TicketEventData); others stay inside.
PLAIN_DATA = ("tier", "billable", "billable_reason", "engineer_id", "previous_engineer_id", "from_tier", "to_tier",
              "reason")


def event_data(data: dict | None, user: User) -> dict | None:
    """An event's stored details in the API's conventions: times +08:00 (the schema writes them),
    a route's candidates named `partner_id` as in a ticket's route."""
    if not data:
        return None
    view = {name: data[name] for name in PLAIN_DATA if name in data}
    if data.get("route"):
        view["route"] = route_view(data["route"], user)
    for stored, name in (("deadline", "deadline"), ("due", "due"), ("at", "done_at")):
        if data.get(stored):
            view[name] = instant(data[stored])
    return view or None


def ticket_view(ticket: Ticket, user: User, include_events: bool = False) -> dict:
    view = {name: getattr(ticket, name) for name in (
        "id", "status", "tier", "billable", "billable_reason", "customer_id", "region_code", "complexity",
        "channel", "subject", "description", "engineer_id", "hq_queue_cause", "created_at", "updated_at",
        "responded_at", "resolved_at", "closed_at")}
    view.update(
        product_line=product_line_code(ticket.product_line_id),
        owner=owner_of(ticket),
        offer={"partner_id": ticket.offered_party_id, "deadline": ticket.offer_deadline}
        if ticket.status == "offered" else None,
        due={"response": ticket.response_due_at, "resolution": ticket.resolution_due_at},
        route=route_for(ticket, user),
        customer_name=ticket.customer.name,
        customer={name: getattr(ticket.customer, name) for name in CUSTOMER_CONTACT}
        if sees_customer_contacts(ticket, user) else None,
    )
    if include_events:
        view["events"] = events_for(ticket, user)
    return view
