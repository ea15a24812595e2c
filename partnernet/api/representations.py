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


def owner_of(ticket: Ticket) -> dict:
    """Who holds the ticket now: the partner that accepted it or is offered it, else HQ."""
    party = ticket.owner or ticket.offered_to
    if party is None or party.is_hq:
        return {"type": "hq"}
    return {"type": "partner", "id": party.id, "name": party.name}


def route_for(ticket: Ticket, user: User) -> dict | None:
    route = ticket.route
    if not route:
        return None
    candidates = [c for c in route.get("candidates", []) if user.is_hq or c.get("party_id") == user.party_id]
    decided_at = route.get("decided_at")
    return {
        # Why it is at HQ now: a return puts it there after routing had offered it.
        "cause": ticket.hq_queue_cause if ticket.status == "hq_queue" else route.get("cause"),
        "decided_at": datetime.fromisoformat(decided_at) if decided_at else None,
        "candidates": [candidate_view(c) for c in candidates],
    }


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
            view["data"] = event.data
        views.append(view)
    return views


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
    )
    if include_events:
        view["events"] = events_for(ticket, user)
    return view
