"""The ticket's life: intake, routing to a partner, offers and their answers, the HQ queue, work.

Every change is one transaction that writes the ticket and its event together, and starts with a
compare-and-set on the state its checks saw (partnernet.transitions): when several people make
the same change at once, exactly one of them wins; the others get a Conflict and write nothing.
"""
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager
from flask import has_request_context, url_for
from flask_babel import gettext as _

from partnernet import routing, signals
from partnernet.auth.models import User
from partnernet.customers.models import Contract, Customer, contract_product_line
from partnernet.customers.service import service_status
from partnernet.db_types import UTCDateTime
from partnernet.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from partnernet.extensions import db
from partnernet.labels import label, product_line_name
from partnernet.network.models import ROUTABLE_STATUSES, TIERS, Engineer, Party
from partnernet.network.service import active_product_line_id, certified_engineers, hq_party_id, is_certified
from partnernet.notifications.robots import post_to_party
from partnernet.notifications.service import notify_party, party_notification
from partnernet.settings.calendar import load_policy
from partnernet.settings.models import SlaPolicy
from partnernet.settings.service import load_settings
from partnernet.tickets import clocks, routing_data
from partnernet.tickets.cards import deadline_text, ticket_card
from partnernet.tickets.models import (BILLABLE_REASONS, CHANNELS, COMPLEXITIES, CONTACT_STATUSES, HELD_STATUSES, Ticket,
                                       TicketEvent)
from partnernet.timeclock import today_in_china
from partnernet.transitions import compare_and_set

DECLINE_REASONS = ("no_capacity", "no_engineer_available", "outside_expertise", "customer_unreachable",
                   "not_our_region", "other")
RETURN_REASONS = ("beyond_our_skills", "needs_hq_development", "customer_request", "capacity", "other")
# Where the owner of an accepted ticket may move it, and what each step requires. A resolved
# ticket only closes: reopening it is the customer's answer to the resolution (docs/design.md,
# "Field work"), not a step of its owner, whose resolution target was recorded once when resolved.
WORK_TRANSITIONS = {
    "accepted": ("in_progress", "waiting_on_customer", "resolved"),
    "in_progress": ("waiting_on_customer", "resolved"),
    "waiting_on_customer": ("in_progress", "resolved"),
    "resolved": ("closed",),
}


@dataclass
class IntakeRequest:
    customer_id: int
    product_line: str
    complexity: str
    channel: str
    subject: str
    description: str = ""
    tier: str | None = None           # default: the channel's (CHANNEL_TIERS); never L3
    region_code: str | None = None    # default: the customer's region


def add_event(ticket: Ticket, kind: str, now: datetime, actor: User | None = None, party_id=None,
              from_status=None, to_status=None, reason_code=None, note=None, data=None) -> TicketEvent:
    # A ticket not yet flushed has no id: the relationship fills it in when both are inserted.
    link = {"ticket_id": ticket.id} if ticket.id is not None else {"ticket": ticket}
    event = TicketEvent(**link, kind=kind, at=now, actor_user_id=actor.id if actor else None,
                        party_id=party_id, from_status=from_status, to_status=to_status,
                        reason_code=reason_code, note=note, data=data)
    db.session.add(event)
    return event


# --- intake ------------------------------------------------------------------------------------

def customer_contracts_statement():
    """The customer's region and each of its contracts (with its SLA policy) and whether it covers
    the product line: one row per contract, one row without a contract for a customer without
    contracts, no row for an unknown customer."""
    covers = sa.exists().where(contract_product_line.c.contract_id == Contract.id,
                               contract_product_line.c.product_line_id == sa.bindparam("product_line_id"))
    return (sa.select(Customer.region_code.label("customer_region_code"), Contract, covers.label("covers"))
            .select_from(Customer)
            .outerjoin(Contract, Contract.customer_id == Customer.id)
            .outerjoin(SlaPolicy, SlaPolicy.id == Contract.sla_policy_id)
            .options(contains_eager(Contract.sla_policy))
            .where(Customer.id == sa.bindparam("customer_id")))


CUSTOMER_CONTRACTS = customer_contracts_statement()


def contract_for(rows, today: date) -> Contract | None:
    """Of CUSTOMER_CONTRACTS' rows, the contract for the line (the latest started), else the
    latest contract, else None."""
    rows = [r for r in rows if r.Contract is not None]
    started = [r for r in rows if r.Contract.starts_on <= today] or rows
    pool = [r for r in started if r.covers] or started
    return max(pool, key=lambda r: (r.Contract.starts_on, r.Contract.id)).Contract if pool else None


def entitlement(contract, tier: str, today: date, settings: dict) -> tuple[bool, str | None]:
    """(billable, why): on-site below the threshold, or service past the free year and unpaid."""
    no_contract, onsite_not_included, service_unpaid = BILLABLE_REASONS
    if contract is None:
        return True, no_contract
    if tier == "L3" and contract.value < Decimal(str(settings["onsite_threshold_cny"])):
        return True, onsite_not_included
    if service_status(contract, today, settings).state == "unpaid":
        return True, service_unpaid
    return False, None


# Where service starts: the channel's tier, or L2 when the agent judges it needs remote access.
# The contract decides what is included, not where service starts: on-site (L3) is reached only
# by the owner's escalation (escalate), checked for entitlement then.
INTAKE_TIERS = ("L1", "L2")
CHANNEL_TIERS = {channel: "L1" for channel in CHANNELS}


def default_tier(channel: str) -> str:
    """The tier a ticket opened on `channel` starts at when the agent names none."""
    return CHANNEL_TIERS.get(channel, "L1")


def intake(request: IntakeRequest, actor: User | None, now: datetime, linked=()) -> Ticket:
    """Open a ticket and route it, in one transaction. Nothing here refuses service: an unentitled
    one is billable. `linked`: rows committed with the ticket, each given it as `.ticket` (the
    API's Idempotency-Key), all or nothing."""
    settings = load_settings()
    today = today_in_china(now)
    fields = {}
    line_id = active_product_line_id(request.product_line)
    if line_id is None:
        fields["product_line"] = _("Unknown product line.")
    rows = db.session.execute(CUSTOMER_CONTRACTS, {
        "customer_id": request.customer_id, "product_line_id": line_id}).all() if request.customer_id else []
    if not rows:
        fields["customer_id"] = _("Unknown customer.")
    if request.complexity not in COMPLEXITIES:
        fields["complexity"] = _("Choose simple or complex.")
    if request.channel not in CHANNELS:
        fields["channel"] = _("Unknown channel.")
    if request.tier is not None and request.tier not in TIERS:
        fields["tier"] = _("Choose L1 or L2.")
    elif request.tier is not None and request.tier not in INTAKE_TIERS:
        fields["tier"] = _("A ticket starts at L1 or L2: on-site service (L3) comes by the owner's escalation.")
    subject = (request.subject or "").strip()
    if not subject:
        fields["subject"] = _("A subject is required.")
    elif len(subject) > 200:
        fields["subject"] = _("At most 200 characters.")
    if request.region_code and request.region_code not in routing_data.region_tree():
        fields["region_code"] = _("Unknown region code.")
    if fields:
        raise ValidationFailed(_("The ticket cannot be opened."), fields)
    contract = contract_for(rows, today)
    tier = request.tier or default_tier(request.channel)
    billable, reason = entitlement(contract, tier, today, settings)
    policy = contract.sla_policy if contract else load_policy("business-hours")
    # The warning points at today's percentage: a change of the setting applies to new tickets.
    times = clocks.sla_times(policy, request.complexity, now, settings["sla_warning_percent"])
    ticket = Ticket(customer_id=request.customer_id, contract=contract,
                    region_code=request.region_code or rows[0].customer_region_code, product_line_id=line_id,
                    complexity=request.complexity, channel=request.channel, tier=tier, billable=billable,
                    billable_reason=reason, subject=subject, description=(request.description or "").strip(),
                    status="new", **times,
                    created_by_id=actor.id if actor else None, created_at=now, updated_at=now)
    db.session.add(ticket)
    add_event(ticket, "created", now, actor, to_status="new",
              data={"tier": tier, "billable": billable, "billable_reason": reason})
    route(ticket, now, actor, settings)
    for row in linked:
        row.ticket = ticket
        db.session.add(row)
    db.session.commit()
    return ticket


# --- routing and offers ------------------------------------------------------------------------

def decide_for(ticket: Ticket, now: datetime, settings: dict) -> routing.Decision:
    """The routing decision for a ticket now: its data in one query, then the pure function."""
    facts, found = routing_data.gather(ticket, today_in_china(now))
    return routing.decide(facts, found, settings["kind_priority"], now)


def route(ticket: Ticket, now: datetime, actor: User | None = None, settings: dict | None = None) -> routing.Decision:
    """Decide and apply: offer to the best candidate, or queue at HQ with the cause. No commit."""
    settings = settings or load_settings()
    decision = decide_for(ticket, now, settings)
    deadline, remind_at = offer_times(clocks.policy_row(ticket), now, settings) if decision.offered_party_id \
        else (None, None)
    changes, event = routed(decision, now, deadline, remind_at)
    before = ticket.status
    for name, value in changes.items():
        setattr(ticket, name, value)
    add_event(ticket, now=now, actor=actor, from_status=before, **event)
    if ticket.status == "offered":
        notify_offer(ticket, now)
    return decision


def offer_times(policy, now: datetime, settings: dict) -> tuple[datetime, datetime]:
    """The deadline of an offer made now and when its half-way reminder is due, both on the
    ticket's SLA clock (clocks.offer_deadline): a business-hours ticket offered at night is
    reminded half-way through the next morning's time to answer, not in the night."""
    minutes = int(settings["offer_deadline_minutes"])
    return clocks.offer_deadline(policy, now, minutes), clocks.offer_deadline(policy, now, minutes / 2)


def routed(decision: routing.Decision, now: datetime, deadline: datetime | None,
           remind_at: datetime | None = None) -> tuple[dict, dict]:
    """What a routing decision changes on the ticket, and the event that records it (without the
    ticket, the time, the actor and the status before). `deadline`, `remind_at`: the offer's, when
    it is one; a new offer is not yet seen by anyone of the partner."""
    route = decision.as_dict()
    if decision.offered_party_id is None:
        return ({**hq_queue_values(decision.cause), "route": route, "updated_at": now},
                {"kind": "queued_to_hq", "to_status": "hq_queue", "reason_code": decision.cause,
                 "data": {"route": route}})
    return ({"status": "offered", "offered_party_id": decision.offered_party_id, "hq_queue_cause": None,
             "offer_deadline": deadline, "offer_remind_at": remind_at, "offer_seen_at": None, "route": route,
             "updated_at": now},
            {"kind": "offered", "party_id": decision.offered_party_id, "to_status": "offered",
             "data": {"deadline": deadline.isoformat(), "route": route}})


def notify_offer(ticket: Ticket, now: datetime) -> None:
    """Tell the offered partner's administrators, in their language, and its dispatch groups, in
    theirs, before the clock runs out."""
    db.session.flush()  # the notification names the ticket's id: a new ticket gets it here
    notify_party(offer_notification(ticket, now))
    deadline = deadline_text(ticket.offer_deadline, now)
    post_to_party(ticket.offered_party_id, "offer", offer_key(ticket.id, ticket.offer_deadline),
                  lambda: ticket_card(ticket, _("New ticket #%(id)d offered to you", id=ticket.id),
                                      _("Accept or decline before %(deadline)s", deadline=deadline)),
                  now, ticket.id)


def offer_key(ticket_id: int, deadline: datetime) -> str:
    """One offer of a ticket, by its deadline: the same ticket offered again later is another offer."""
    return f"offer:{ticket_id}:{deadline.isoformat()}"


def offer_notification(ticket: Ticket, now: datetime) -> dict:
    """The offer's notification to the offered partner's administrators (notify_party's parameters)."""
    # The same in every language; with the date when it is not today (a night's offer waits for
    # the next working morning).
    deadline = deadline_text(ticket.offer_deadline, now)
    return party_notification(
        ticket.offered_party_id, "partner_admin", "offer", offer_key(ticket.id, ticket.offer_deadline),
        lambda: (_("Ticket #%(id)d offered to you: %(subject)s", id=ticket.id, subject=ticket.subject),
                 _("Accept or decline before %(deadline)s.", deadline=deadline)),
        url_for("tickets.detail", ticket_id=ticket.id) if has_request_context() else f"/tickets/{ticket.id}", now)


def hq_queue_values(cause: str) -> dict:
    """A ticket in the HQ queue: the cause said, no offer, no owner, no engineer."""
    return {"status": "hq_queue", "hq_queue_cause": cause, "offered_party_id": None, "offer_deadline": None,
            "owner_party_id": None, "engineer_id": None}


# What a ticket's offer is when it ends unaccepted (declined, expired, withdrawn): routing follows.
OFFER_CLOSED = {"status": "new", "offered_party_id": None, "offer_deadline": None}


def close_offer(ticket: Ticket, party_id: int, now: datetime, values: dict, require_live: bool = True,
                conflict: str | None = None) -> bool:
    """Compare-and-set on an offer to `party_id` still live (or, for the scheduler, past its
    deadline); True for the one caller that wins (transitions.compare_and_set)."""
    deadline = Ticket.offer_deadline > now if require_live else Ticket.offer_deadline <= now
    return compare_and_set(ticket, {"status": "offered", "offered_party_id": party_id},
                           {"updated_at": now, **values}, conflict, where=[deadline])


def certified_engineers_for(ticket: Ticket, party_id: int, day: date) -> list[Engineer]:
    return certified_engineers(party_id, ticket.product_line_id, day)


def check_engineer(ticket: Ticket, party_id: int, engineer_id, day: date) -> Engineer:
    engineer = db.session.get(Engineer, engineer_id) if engineer_id else None
    if engineer is None or engineer.party_id != party_id or not engineer.active:
        raise ValidationFailed(_("Choose one of your engineers."),
                               {"engineer_id": _("Not an engineer of yours.")})
    if not is_certified(engineer.id, ticket.product_line_id, day):
        raise ValidationFailed(_("The engineer must be certified for this product line."),
                               {"engineer_id": _("Not certified for %(line)s.", line=product_line_name(ticket.product_line))})
    return engineer


def is_offered_to(ticket: Ticket, user: User) -> bool:
    """The ticket waits for the answer of the user's partner (accept or decline)."""
    return ticket.status == "offered" and ticket.offered_party_id == user.party_id


def mark_offer_seen(ticket: Ticket, user: User, now: datetime) -> None:
    """A user of the offered partner opens the ticket (its page, the API): the offer is seen, and
    its half-way reminder is no longer needed. Once per offer, by one conditional UPDATE that
    changes nothing else (not updated_at: nothing happened to the ticket)."""
    if user.is_hq or ticket.offer_seen_at is not None or not is_offered_to(ticket, user):
        return
    db.session.execute(sa.update(Ticket).where(
        Ticket.id == ticket.id, Ticket.status == "offered", Ticket.offered_party_id == user.party_id,
        Ticket.offer_seen_at.is_(None)).values(offer_seen_at=now, updated_at=Ticket.updated_at)
        .execution_options(synchronize_session=False))
    db.session.commit()


def accept(ticket: Ticket, user: User, engineer_id: int, now: datetime) -> Ticket:
    """The offered partner takes the ticket with one of its certified engineers."""
    if not is_offered_to(ticket, user):
        raise Conflict(_("This ticket is no longer offered to you: it has already been taken or moved on."))
    if db.session.get(Party, user.party_id).status not in ROUTABLE_STATUSES:
        # Suspending a partner withdraws its offers; this refuses one answered in the meantime.
        raise Conflict(_("Your partner may not take tickets while it is suspended or terminated."))
    engineer = check_engineer(ticket, user.party_id, engineer_id, today_in_china(now))
    close_offer(ticket, user.party_id, now, {
        "status": "accepted", "owner_party_id": user.party_id, "engineer_id": engineer.id,
        "offered_party_id": None, "offer_deadline": None,
        "responded_at": sa.func.coalesce(Ticket.responded_at, sa.literal(now, UTCDateTime()))},
        conflict=_("This ticket is no longer offered to you: it has already been taken or moved on."))
    add_event(ticket, "accepted", now, user, party_id=user.party_id, from_status="offered",
              to_status="accepted", data={"engineer_id": engineer.id})
    clocks.record_response(ticket, now)
    db.session.commit()
    return ticket


def decline(ticket: Ticket, user: User, reason_code: str, note: str, now: datetime) -> Ticket:
    """The offered partner says no; the next candidate gets the offer at once."""
    note = (note or "").strip()
    fields = {}
    if reason_code not in DECLINE_REASONS:
        fields["reason_code"] = _("Choose a reason.")
    if not note:
        fields["note"] = _("Say why, in a few words.")
    if fields:
        raise ValidationFailed(_("The offer cannot be declined like this."), fields)
    if not is_offered_to(ticket, user):
        raise Conflict(_("This ticket is no longer offered to you."))
    close_offer(ticket, user.party_id, now, OFFER_CLOSED, conflict=_("This ticket is no longer offered to you."))
    add_event(ticket, "declined", now, user, party_id=user.party_id, from_status="offered", to_status="new",
              reason_code=reason_code, note=note)
    db.session.flush()
    route(ticket, now)
    db.session.commit()
    return ticket


def expire_due_offers(now: datetime) -> int:
    """Expire every offer past its deadline and route its ticket onwards. Idempotent."""
    due = db.session.execute(
        sa.select(Ticket.id, Ticket.offered_party_id, Ticket.offer_deadline)
        .where(Ticket.status == "offered", Ticket.offer_deadline <= now)
        .order_by(Ticket.offer_deadline)).all()
    expired = 0
    settings = load_settings()
    for ticket_id, party_id, deadline in due:
        ticket = db.session.get(Ticket, ticket_id)
        if not close_offer(ticket, party_id, now, OFFER_CLOSED, require_live=False):
            db.session.rollback()  # answered or expired by someone else meanwhile
            continue
        add_event(ticket, "offer_expired", now, None, party_id=party_id, from_status="offered", to_status="new")
        db.session.flush()
        route(ticket, now, None, settings)
        if settings["tell_hq_expired_offers"]:
            tell_hq_offer_expired(ticket, party_id, deadline, now)
        db.session.commit()
        expired += 1
    return expired


def tell_hq_offer_expired(ticket: Ticket, party_id: int, deadline: datetime, now: datetime) -> None:
    """A card to HQ's groups: which partner let the offer lapse, and where the ticket went next
    (routed already). One per offer (dedup on the offer's key)."""
    lapsed_by = db.session.get(Party, party_id).name
    next_to = db.session.get(Party, ticket.offered_party_id).name if ticket.status == "offered" else None

    def render():
        if next_to:
            went = _("Now offered to %(partner)s, to answer before %(deadline)s",
                     partner=next_to, deadline=deadline_text(ticket.offer_deadline, now))
        else:
            went = _("Now in HQ's queue: %(cause)s", cause=label(ticket.hq_queue_cause))
        return ticket_card(ticket, _("Offer of ticket #%(id)d expired: %(partner)s did not answer",
                                     id=ticket.id, partner=lapsed_by), went)

    post_to_party(hq_party_id(), "offer_expired", f"offer_expired:{offer_key(ticket.id, deadline)}", render, now,
                  ticket.id)


@signals.partner_status_changed.connect
def withdraw_offers_of_unroutable(party, to_status: str, actor_id: int | None, now: datetime, **_) -> None:
    """A partner suspended or terminated loses its live offers at once."""
    if to_status not in ROUTABLE_STATUSES:
        withdraw_offers(party.id, to_status, db.session.get(User, actor_id) if actor_id else None, now)


def withdraw_offers(party_id: int, reason: str, actor: User | None, now: datetime) -> int:
    """Take back the live offers to a partner that may no longer receive tickets (suspended,
    terminated) and route each ticket onwards now, rather than let it wait out its deadline. The
    partner is skipped from here on, and nothing counts against it as push-back. No commit: the
    caller's status change commits with it. Returns how many offers were withdrawn."""
    offered = db.session.execute(sa.select(Ticket.id).where(
        Ticket.status == "offered", Ticket.offered_party_id == party_id).order_by(Ticket.id)).scalars().all()
    withdrawn = 0
    settings = load_settings()
    for ticket_id in offered:
        # An offer accepted meanwhile stays accepted; one past its deadline is the scheduler's.
        ticket = db.session.get(Ticket, ticket_id)
        if not close_offer(ticket, party_id, now, OFFER_CLOSED):
            continue
        add_event(ticket, "rerouted", now, actor, party_id=party_id, from_status="offered", to_status="new",
                  reason_code=reason)
        db.session.flush()
        route(ticket, now, actor, settings)
        withdrawn += 1
    return withdrawn


# --- after accepting ---------------------------------------------------------------------------

def works_on(ticket: Ticket, user: User) -> bool:
    """The owner's partner_admin, the assigned engineer, or HQ: HQ may move any ticket it can see
    (docs/api.md: "owner's users, HQ")."""
    if user.is_hq:
        return True
    return ticket.owner_party_id == user.party_id and (user.role != "engineer" or ticket.engineer_id == user.engineer_id)


def can_reassign(ticket: Ticket, user: User) -> bool:
    """Who works on an accepted ticket, but its engineer, may give it to another engineer."""
    return ticket.status in WORK_TRANSITIONS and works_on(ticket, user) and user.role != "engineer"


def require_owner(ticket: Ticket, user: User) -> None:
    if ticket.status not in WORK_TRANSITIONS:
        raise InvalidTransition(_("Only an accepted ticket can be worked on."))
    if not works_on(ticket, user):
        raise NotFound()


def changed_meanwhile() -> str:
    return _("Someone else changed this ticket meanwhile. Look at it again.")


def change_status(ticket: Ticket, user: User, to_status: str, note: str, now: datetime) -> Ticket:
    require_owner(ticket, user)
    note = (note or "").strip()
    if to_status not in WORK_TRANSITIONS.get(ticket.status, ()):
        raise InvalidTransition(_("A ticket cannot go from %(from)s to %(to)s.",
                                  **{"from": ticket.status, "to": to_status}),
                                {"status": _("Not an allowed step.")})
    if to_status == "resolved" and not note:
        raise ValidationFailed(_("Describe the resolution."), {"note": _("A resolution note is required.")})
    before = ticket.status
    compare_and_set(ticket, {"status": before, "owner_party_id": ticket.owner_party_id},
                    {"status": to_status, "updated_at": now}, changed_meanwhile())
    if to_status == "waiting_on_customer":
        ticket.paused_at = now  # the SLA clock stops
    elif before == "waiting_on_customer":
        clocks.resume(ticket, now)
    if to_status == "resolved":
        ticket.resolved_at = now
        clocks.record_resolution(ticket, now)
    if to_status == "closed":
        ticket.closed_at = now
    add_event(ticket, "status_changed", now, user, party_id=ticket.owner_party_id, from_status=before,
              to_status=to_status, note=note or None)
    if to_status == "resolved":
        signals.ticket_resolved.send(ticket, actor=user, now=now)  # the customer is asked (feedback)
    db.session.commit()
    return ticket


def reassign(ticket: Ticket, user: User, engineer_id: int, now: datetime) -> Ticket:
    require_owner(ticket, user)
    if user.role == "engineer":
        raise Forbidden()
    engineer = check_engineer(ticket, ticket.owner_party_id, engineer_id, today_in_china(now))
    previous = ticket.engineer_id
    compare_and_set(ticket, {"status": ticket.status, "owner_party_id": ticket.owner_party_id, "engineer_id": previous},
                    {"engineer_id": engineer.id, "updated_at": now}, changed_meanwhile())
    add_event(ticket, "assigned", now, user, party_id=ticket.owner_party_id,
              data={"engineer_id": engineer.id, "previous_engineer_id": previous})
    db.session.commit()
    return ticket


def can_return(ticket: Ticket, user: User) -> bool:
    """A partner's admin hands back (escalates) to HQ an open ticket their partner holds."""
    return user.role == "partner_admin" and ticket.owner_party_id == user.party_id and ticket.status in HELD_STATUSES


def return_to_hq(ticket: Ticket, user: User, reason_code: str, note: str, now: datetime) -> Ticket:
    """The partner that accepted the ticket hands it back (escalates) to HQ."""
    note = (note or "").strip()
    if user.role != "partner_admin" or user.party_id not in (ticket.owner_party_id, ticket.offered_party_id):
        raise NotFound()
    if not can_return(ticket, user):
        raise InvalidTransition(_("Only an open ticket you hold can be returned."))
    fields = {}
    if reason_code not in RETURN_REASONS:
        fields["reason_code"] = _("Choose a reason.")
    if not note:
        fields["note"] = _("Say why, in a few words.")
    if fields:
        raise ValidationFailed(_("The ticket cannot be returned like this."), fields)
    before = ticket.status
    compare_and_set(ticket, {"status": before, "owner_party_id": user.party_id},
                    {**hq_queue_values("returned_by_partner"), "updated_at": now}, changed_meanwhile())
    add_event(ticket, "returned_to_hq", now, user, party_id=user.party_id, from_status=before,
              to_status="hq_queue", reason_code=reason_code, note=note)
    if before == "waiting_on_customer":
        clocks.resume(ticket, now)
    # (the queue's own event names the status the ticket came from, as it always has)
    add_event(ticket, "queued_to_hq", now, user, party_id=user.party_id, from_status=before, to_status="hq_queue",
              reason_code="returned_by_partner")
    db.session.commit()
    return ticket


# --- the HQ queue ------------------------------------------------------------------------------

def hq_party() -> Party:
    return db.session.get(Party, hq_party_id())


def take_at_hq(ticket: Ticket, user: User, now: datetime, engineer_id: int | None = None) -> Ticket:
    """An HQ agent takes a queued ticket: HQ serves it from now on."""
    if not user.is_hq:
        raise Forbidden()
    hq = hq_party()
    engineer = None
    if engineer_id:
        engineer = check_engineer(ticket, hq.id, engineer_id, today_in_china(now))
    cause = ticket.hq_queue_cause
    compare_and_set(ticket, {"status": "hq_queue"}, {
        "status": "accepted", "owner_party_id": hq.id, "engineer_id": engineer.id if engineer else None,
        "responded_at": sa.func.coalesce(Ticket.responded_at, sa.literal(now, UTCDateTime())), "updated_at": now},
        _("This ticket is no longer in the HQ queue."))
    add_event(ticket, "taken_by_hq", now, user, party_id=hq.id, from_status="hq_queue", to_status="accepted",
              reason_code=cause)
    clocks.record_response(ticket, now)
    db.session.commit()
    return ticket


def reroute(ticket: Ticket, user: User, now: datetime) -> routing.Decision:
    """Run routing again for a queued ticket; parties that declined or let it expire stay skipped."""
    if not user.is_hq:
        raise Forbidden()
    if ticket.status != "hq_queue":
        raise InvalidTransition(_("Only a ticket in the HQ queue can be re-routed."))
    compare_and_set(ticket, {"status": "hq_queue"}, {"status": "new", "updated_at": now},
                    _("This ticket is no longer in the HQ queue."))
    add_event(ticket, "rerouted", now, user, from_status="hq_queue", to_status="new")
    db.session.flush()
    decision = route(ticket, now, user)
    db.session.commit()
    return decision


def offer_by_hand(ticket: Ticket, user: User, party_id: int, override_reason: str, now: datetime) -> Ticket:
    """HQ offers a queued ticket to a partner of its choice: one with a certified engineer for the
    line, unless an HQ user overrides that with a written reason."""
    if not user.is_hq:
        raise Forbidden()
    if ticket.status != "hq_queue":
        raise InvalidTransition(_("Only a ticket in the HQ queue can be offered by hand."))
    party = db.session.get(Party, party_id) if party_id else None
    if party is None or party.is_hq or party.status not in ROUTABLE_STATUSES:
        raise ValidationFailed(_("Choose an active partner."), {"partner_id": _("Choose an active partner.")})
    override_reason = (override_reason or "").strip()
    if not certified_engineers_for(ticket, party.id, today_in_china(now)) and not override_reason:
        raise ValidationFailed(_("This partner has no engineer certified for the product line."),
                               {"override_reason": _("Give a reason to offer it anyway.")})
    deadline, remind_at = offer_times(clocks.policy_row(ticket), now, load_settings())
    compare_and_set(ticket, {"status": "hq_queue"}, {
        "status": "offered", "offered_party_id": party.id, "hq_queue_cause": None, "offer_deadline": deadline,
        "offer_remind_at": remind_at, "offer_seen_at": None, "updated_at": now},
        _("This ticket is no longer in the HQ queue."))
    add_event(ticket, "offered", now, user, party_id=party.id, from_status="hq_queue", to_status="offered",
              note=override_reason or None, data={"by_hand": True, "deadline": ticket.offer_deadline.isoformat()})
    notify_offer(ticket, now)
    db.session.commit()
    return ticket


# --- escalation (L1 → L2 → L3) -----------------------------------------------------------------

@dataclass
class EscalationPreview:
    """What escalating a ticket to `to_tier` would do, shown before the holder confirms: whether
    the new tier makes it billable (and why), and whether the holder keeps it or, when it does not
    offer the tier there, where routing would send it (`decision`)."""
    from_tier: str
    to_tier: str
    billable: bool
    billable_reason: str | None
    stays_with_owner: bool
    decision: routing.Decision | None = None


def holds(ticket: Ticket, user: User) -> bool:
    """The user acts for the party holding the ticket (its engineer only for a ticket assigned to
    them), HQ's users when HQ holds it."""
    if ticket.owner_party_id is None or ticket.owner_party_id != user.party_id:
        return False
    return user.role != "engineer" or ticket.engineer_id == user.engineer_id


def sees_customer_contacts(ticket: Ticket, user: User) -> bool:
    """HQ always; a partner's users while their party holds the ticket (tickets.models.held_by)."""
    return user.is_hq or (ticket.status in CONTACT_STATUSES and holds(ticket, user))


def can_escalate(ticket: Ticket, user: User) -> bool:
    return ticket.status in HELD_STATUSES and ticket.tier != TIERS[-1] and holds(ticket, user)


def higher_tiers(ticket: Ticket) -> tuple[str, ...]:
    return TIERS[TIERS.index(ticket.tier) + 1:]


def offers_tier(ticket: Ticket, party_id: int, tier: str, day: date) -> bool:
    """Whether the party offers `tier` for the ticket's region and product line by an effective
    coverage along the region chain (and as a partner). HQ offers every tier."""
    if db.session.get(Party, party_id).is_hq:
        return True
    _facts, found = routing_data.gather(ticket, day)
    return any(c.party_id == party_id and tier in c.tiers for c in found)


def escalation_preview(ticket: Ticket, user: User, to_tier: str, now: datetime) -> EscalationPreview:
    """Check an escalation and say what it would do; nothing is written."""
    if not holds(ticket, user):
        raise InvalidTransition(_("Only the party holding the ticket can escalate it."))
    if ticket.status not in HELD_STATUSES:
        raise InvalidTransition(_("Only an open ticket you hold can be escalated."))
    if to_tier not in higher_tiers(ticket):
        raise ValidationFailed(_("The ticket cannot be escalated like this."),
                               {"tier": _("Choose a tier above %(tier)s.", tier=ticket.tier)})
    settings = load_settings()
    day = today_in_china(now)
    billable, reason = entitlement(ticket.contract, to_tier, day, settings)
    if offers_tier(ticket, ticket.owner_party_id, to_tier, day):
        return EscalationPreview(ticket.tier, to_tier, billable, reason, True)
    facts, found = routing_data.gather(ticket, day)
    decision = routing.decide(replace(facts, tier=to_tier), found, settings["kind_priority"], now)
    return EscalationPreview(ticket.tier, to_tier, billable, reason, False, decision)


def billable_warning(preview: EscalationPreview) -> str:
    """The sentence the holder reads (and accepts) before escalating to a billable tier."""
    if preview.billable_reason == "onsite_not_included":
        return _("At %(tier)s this ticket is billable: on-site service is not included in this customer's contract.",
                 tier=preview.to_tier)
    if preview.billable_reason == "service_unpaid":
        return _("At %(tier)s this ticket is billable: the customer's annual service fee is not paid.",
                 tier=preview.to_tier)
    return _("At %(tier)s this ticket is billable: the customer has no contract.", tier=preview.to_tier)


def escalate(ticket: Ticket, user: User, to_tier: str, reason: str, accept_billable: bool,
             now: datetime) -> EscalationPreview:
    """The holder raises the ticket's tier, with a reason. Entitlement is checked now: a tier that
    makes the ticket billable needs the holder's acceptance. A holder that does not offer the new
    tier there hands the ticket on by routing (an `escalated` event, then the offer or the HQ
    queue): that is not push-back. The SLA clocks run on: due times and the response stay."""
    preview = escalation_preview(ticket, user, to_tier, now)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("The ticket cannot be escalated like this."),
                               {"reason": _("Say why, in a few words.")})
    if len(reason) > 2000:
        raise ValidationFailed(_("The ticket cannot be escalated like this."), {"reason": _("At most 2000 characters.")})
    if preview.billable and not accept_billable:
        raise ValidationFailed(billable_warning(preview),
                               {"accept_billable": _("Accept that the ticket becomes billable to escalate it.")})
    before, owner = ticket.status, ticket.owner_party_id
    values = {"tier": to_tier, "billable": preview.billable, "billable_reason": preview.billable_reason,
              "updated_at": now}
    if not preview.stays_with_owner:
        values.update(status="new", owner_party_id=None, engineer_id=None)
    compare_and_set(ticket, {"status": before, "tier": preview.from_tier, "owner_party_id": owner}, values,
                    changed_meanwhile())
    add_event(ticket, "escalated", now, user, party_id=owner, from_status=before,
              to_status=before if preview.stays_with_owner else "new", note=reason,
              data={"from_tier": preview.from_tier, "to_tier": to_tier, "reason": reason,
                    "billable": preview.billable, "billable_reason": preview.billable_reason})
    if not preview.stays_with_owner:
        if before == "waiting_on_customer":
            clocks.resume(ticket, now)  # its new holder's clock runs
        db.session.flush()
        preview.decision = route(ticket, now, user)
    db.session.commit()
    return preview
