"""The API's request and response schemas. They validate every request and generate the OpenAPI
document, so what is documented is what is enforced.

Request schemas refuse unknown fields (marshmallow's default), which the document states as
`additionalProperties: false`. Lengths match the columns, so nothing valid here fails in the
database; the rules of the domain (a region exists, a transition is allowed) stay in the services.
"""
import marshmallow as ma
from marshmallow import fields, validate

from partnernet.api.fields import ChinaDateTime, Day, Id, Money, Text
from partnernet.api.pagination import ListArgs
from partnernet.audit.measures import FLAG_REASONS
from partnernet.audit.models import DECISIONS, RUN_TRIGGERS
from partnernet.auth.models import LOCALES, ROLES
from partnernet.customers.service import SERVICE_STATES
from partnernet.db_types import MAX_ID
from partnernet.errors import ERROR_CODES
from partnernet.feedback.service import ANSWER_REASONS
from partnernet.notifications.channels import CHANNEL_LOCALES
from partnernet.notifications.kinds import KINDS
from partnernet.notifications.providers import PROVIDERS as ROBOT_PROVIDERS
from partnernet.network.models import (CERTIFICATION_LEVELS, CERTIFICATION_STATUSES, PARTNER_KINDS, PARTY_STATUSES,
                                       ROUTABLE_STATUSES, TIERS)
from partnernet.regions.models import LEVELS
from partnernet.routing import SKIP_REASONS
from partnernet.tickets.models import (BILLABLE_REASONS, CHANNELS, COMPLEXITIES, EVENT_KINDS, HQ_QUEUE_CAUSES,
                                       TICKET_STATUSES)
from partnernet.tickets.service import DECLINE_REASONS, RETURN_REASONS

# Why a ticket's event happened: a decline's or a return's reason, the HQ queue's cause (queued,
# taken by HQ), or the status that withdrew a partner's offers (rerouted).
EVENT_REASON_CODES = tuple(dict.fromkeys(
    DECLINE_REASONS + RETURN_REASONS + HQ_QUEUE_CAUSES
    + tuple(status for status in PARTY_STATUSES if status not in ROUTABLE_STATUSES)
    + ANSWER_REASONS))
ENUM_NAMES = {TIERS: "Tier", HQ_QUEUE_CAUSES: "HqQueueCause", BILLABLE_REASONS: "BillableReason",
              TICKET_STATUSES: "TicketStatus", EVENT_REASON_CODES: "EventReasonCode", LOCALES: "Language"}


def text(max_length: int, min_length: int = 0, **kwargs):
    return Text(validate=validate.Length(min=min_length, max=max_length), **kwargs)


def optional_text(max_length: int, **kwargs):
    return Text(validate=validate.Length(max=max_length), allow_none=True, **kwargs)


def one_of(choices, **kwargs):
    """A string of fixed values. One that may be null is declared as a named enum (ENUM_NAMES),
    referred to as nullable (spec.nullable_one_way): the form client generators read as "this enum
    or null"."""
    if kwargs.get("allow_none"):
        kwargs["metadata"] = {**kwargs.get("metadata", {}), "enum_name": ENUM_NAMES[tuple(choices)]}
    return fields.String(validate=validate.OneOf(choices), **kwargs)


REGION_CODE = dict(validate=validate.Regexp(r"^[0-9]{6}$"), metadata={"example": "330106"})


# --- errors ------------------------------------------------------------------------------------

class ErrorDetail(ma.Schema):
    code = one_of(ERROR_CODES, required=True, metadata={"example": "validation_failed"})
    message = fields.String(required=True)
    fields_ = fields.Dict(keys=fields.String(), values=fields.String(), required=True, data_key="fields",
                          metadata={"description": "One message per invalid field."})


class Error(ma.Schema):
    error = fields.Nested(ErrorDetail, required=True)


# --- regions and product lines -----------------------------------------------------------------

class Region(ma.Schema):
    code = fields.String(required=True, metadata={"example": "330106"})
    name = fields.String(required=True, metadata={"example": "西湖区"})
    pinyin = fields.String(required=True, metadata={"example": "xihuqu"})
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    parent_code = fields.String(required=True, allow_none=True)


class RegionDetail(Region):
    chain = fields.List(fields.Nested(Region), required=True,
                        metadata={"description": "The region and its ancestors, up to the province."})


class RegionListArgs(ListArgs):
    q = text(50, metadata={"description": "A code prefix (3301), a Chinese name (杭州) or pinyin (hangzhou)."})


class ProductLine(ma.Schema):
    code = fields.String(required=True, metadata={"example": "workflow"})
    name = fields.String(required=True, attribute="name_zh", metadata={"example": "流程与表单"})
    name_en = fields.String(required=True)


# --- partners, coverage, engineers, certifications ---------------------------------------------

class Partner(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    name_en = fields.String(required=True, allow_none=True)
    kind = one_of(PARTNER_KINDS, required=True)
    status = one_of(PARTY_STATUSES, required=True)
    capacity = fields.Integer(required=True, allow_none=True)
    tiers = fields.List(one_of(TIERS), required=True)
    province_code = fields.String(required=True, allow_none=True)
    contact_name = fields.String(required=True, allow_none=True)
    contact_phone = fields.String(required=True, allow_none=True)
    contact_email = fields.String(required=True, allow_none=True)
    address = fields.String(required=True, allow_none=True)
    contract_start = fields.Date(required=True, allow_none=True)
    contract_end = fields.Date(required=True, allow_none=True)
    created_at = ChinaDateTime(required=True)


class PartnerIn(ma.Schema):
    name = text(128, 1, required=True)
    name_en = optional_text(128)
    kind = one_of(PARTNER_KINDS, required=True)
    # The pages' and the import's range, so that what the API writes exports and imports again.
    capacity = fields.Integer(strict=True, validate=validate.Range(min=1, max=10000),
                              metadata={"description": "Most open tickets at once, 1–10000 (default 20)."})
    tiers = fields.List(one_of(TIERS), required=True, validate=validate.Length(min=1, max=3))
    province_code = Text(required=True, **REGION_CODE)
    contact_name = optional_text(64)
    contact_phone = optional_text(32)
    contact_email = fields.Email(allow_none=True, validate=validate.Length(max=255))
    address = optional_text(255)
    contract_start = Day(allow_none=True)
    contract_end = Day(allow_none=True)


class PartnerPatch(PartnerIn):
    """Any subset of a partner's fields; the others keep their values."""

    def __init__(self, *args, **kwargs):
        kwargs["partial"] = True
        super().__init__(*args, **kwargs)


class PartnerListArgs(ListArgs):
    q = text(100, metadata={"description": "Part of the name (Chinese or English)."})
    kind = one_of(PARTNER_KINDS)
    status = one_of(PARTY_STATUSES)
    province = Text(**REGION_CODE)
    product_line = text(32, metadata={"description": "Partners with effective coverage for this product line."})


class PartnerStatusIn(ma.Schema):
    status = one_of(PARTY_STATUSES, required=True)
    reason = text(2000, required=True)


class Coverage(ma.Schema):
    id = fields.Integer(required=True)
    partner_id = fields.Integer(required=True, attribute="party_id")
    region_code = fields.String(required=True)
    product_lines = fields.Function(
        lambda c: None if c.all_product_lines else [l.code for l in c.product_lines],
        required=True, allow_none=True, metadata={"type": "array", "items": {"type": "string"},
                                                  "description": "Product line codes, or null for all."})
    tiers = fields.List(one_of(TIERS), required=True)
    effective_from = fields.Date(required=True)
    effective_to = fields.Date(required=True, allow_none=True)


class CoverageIn(ma.Schema):
    region_code = Text(required=True, **REGION_CODE)
    product_lines = fields.List(text(32), allow_none=True, load_default=None, validate=validate.Length(max=50),
                                metadata={"description": "Product line codes; null or absent for all."})
    tiers = fields.List(one_of(TIERS), required=True, validate=validate.Length(min=1, max=3))
    effective_from = Day(metadata={"description": "Default: today."})
    effective_to = Day(allow_none=True)


class ValidCertification(ma.Schema):
    id = fields.Integer(required=True)
    product_line = fields.Function(lambda c: c.product_line.code, required=True, metadata={"type": "string"})
    level = one_of(CERTIFICATION_LEVELS, required=True)
    expires_on = fields.Date(required=True, metadata={"description": "Valid up to and including this day."})


class Engineer(ma.Schema):
    id = fields.Integer(required=True)
    partner_id = fields.Integer(required=True, attribute="party_id")
    name = fields.String(required=True)
    phone = fields.String(required=True, allow_none=True)
    email = fields.String(required=True, allow_none=True)
    active = fields.Boolean(required=True)
    valid_certifications = fields.List(fields.Nested(ValidCertification), required=True, metadata={
        "description": "The certifications that let the engineer serve today (持证上岗)."})


class EngineerIn(ma.Schema):
    name = text(64, 1, required=True)
    phone = optional_text(32)
    email = fields.Email(allow_none=True, validate=validate.Length(max=255))
    active = fields.Boolean(load_default=True)


class Certification(ma.Schema):
    id = fields.Integer(required=True)
    engineer_id = fields.Integer(required=True)
    product_line = fields.Function(lambda c: c.product_line.code, required=True, metadata={"type": "string"})
    level = one_of(CERTIFICATION_LEVELS, required=True)
    number = fields.String(required=True)
    issued_on = fields.Date(required=True)
    expires_on = fields.Date(required=True)
    status = one_of(CERTIFICATION_STATUSES, required=True)
    submitted_at = ChinaDateTime(required=True)
    reviewed_at = ChinaDateTime(required=True, allow_none=True)
    review_note = fields.String(required=True, allow_none=True)
    renews_id = fields.Integer(required=True, allow_none=True)


class PendingCertificationListArgs(ListArgs):
    partner_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID),
                                metadata={"description": "Submitted for this partner's engineers."})
    product_line = text(32)
    older_than_days = fields.Integer(validate=validate.Range(min=0, max=3650),
                                     metadata={"description": "Submitted more than this many days ago."})


class CertificationIn(ma.Schema):
    product_line = text(32, 1, required=True)
    level = one_of(CERTIFICATION_LEVELS, required=True)
    number = text(64, 1, required=True)
    issued_on = Day(required=True)
    expires_on = Day(required=True)


class ReviewIn(ma.Schema):
    decision = one_of(("approve", "reject"), required=True)
    reason = optional_text(2000, metadata={"description": "Required to reject."})


class RevokeIn(ma.Schema):
    reason = text(2000, required=True)


# --- customers and contracts -------------------------------------------------------------------

class Customer(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    region_code = fields.String(required=True)
    sold_by_partner_id = fields.Function(lambda c: None if c.sold_by.is_hq else c.sold_by_party_id,
                                         required=True, allow_none=True,
                                         metadata={"type": "integer", "description": "null when HQ sold it."})
    contact_name = fields.String(required=True, allow_none=True)
    contact_phone = fields.String(required=True, allow_none=True)
    contact_email = fields.String(required=True, allow_none=True)
    address = fields.String(required=True, allow_none=True, metadata={"description": "Where service on site goes."})
    location_notes = fields.String(required=True, allow_none=True, metadata={
        "description": "How to find it: building, floor, gate, parking."})
    created_at = ChinaDateTime(required=True)


class CustomerIn(ma.Schema):
    name = text(128, 1, required=True)
    region_code = Text(required=True, **REGION_CODE)
    sold_by_partner_id = Id(allow_none=True, metadata={"description": "null or absent: HQ sold it."})
    contact_name = optional_text(64)
    contact_phone = optional_text(32)
    contact_email = fields.Email(allow_none=True, validate=validate.Length(max=255))
    address = optional_text(255)
    location_notes = optional_text(2000)


class CustomerListArgs(ListArgs):
    q = text(50, metadata={"description": "Part of the name."})
    region = Text(validate=validate.Regexp(r"^[0-9]{6}$"),
                  metadata={"description": "At or under this region.", "example": "330100"})


class Contract(ma.Schema):
    id = fields.Integer(required=True)
    customer_id = fields.Integer(required=True)
    number = fields.String(required=True)
    product_lines = fields.Function(lambda c: [l.code for l in c.product_lines], required=True,
                                    metadata={"type": "array", "items": {"type": "string"}})
    value = Money(required=True, metadata={"example": "58000.00"})
    starts_on = fields.Date(required=True)
    service_paid_until = fields.Date(required=True, allow_none=True)
    sla_policy = fields.Function(lambda c: c.sla_policy.code, required=True, metadata={"type": "string"})
    sold_by_partner_id = fields.Function(lambda c: None if c.sold_by.is_hq else c.sold_by_party_id,
                                         required=True, allow_none=True, metadata={"type": "integer"})


class Entitlement(ma.Schema):
    """What intake applies to a ticket under the contract today."""
    service = one_of(SERVICE_STATES, required=True, metadata={
        "description": "free (the free first year), paid (annual fees paid up) or unpaid (tickets are billable)."})
    covered_until = fields.Date(required=True, metadata={"description": "The last day covered, free or paid."})
    annual_fee = Money(required=True, metadata={"description": "A year's service fee (the contract's value × the rate)."})
    onsite_included = fields.Boolean(required=True, metadata={
        "description": "On-site service (L3) is included: the value is at least the on-site threshold."})
    default_tier = one_of(TIERS, required=True, metadata={"description": (
        "The tier intake gives a ticket that names none: L1, whatever the contract (the contract decides what "
        "is included, not where service starts; on-site, L3, comes by the owner's escalation).")})
    billable_tiers = fields.Nested("BillableTiers", required=True, metadata={
        "description": "Per tier, why a ticket at that tier would be billable today, or null when it is included."})


class BillableTiers(ma.Schema):
    L1 = one_of(BILLABLE_REASONS, required=True, allow_none=True)
    L2 = one_of(BILLABLE_REASONS, required=True, allow_none=True)
    L3 = one_of(BILLABLE_REASONS, required=True, allow_none=True)


class ContractWithEntitlement(Contract):
    entitlement = fields.Nested(Entitlement, required=True)


class ContractIn(ma.Schema):
    product_lines = fields.List(text(32), required=True, validate=validate.Length(min=1, max=50))
    value = Money(required=True, metadata={"example": "58000.00"})
    starts_on = Day(required=True)
    service_paid_until = Day(allow_none=True)
    sla_policy = text(32, metadata={"description": "SLA policy code (default business-hours)."})
    number = text(32, 1, metadata={"description": "Contract number (default: one is generated)."})
    sold_by_partner_id = Id(allow_none=True, metadata={"description": "Default: who sold the customer."})


class ServicePaymentIn(ma.Schema):
    paid_until = Day(required=True, metadata={"description": (
        "The last day the annual service fees received now pay for; it must lie after the last day "
        "already covered (the free period or fees paid before), and at most ten years ahead.")})


# --- tickets -----------------------------------------------------------------------------------

class IntakeIn(ma.Schema):
    customer_id = Id(required=True, metadata={"example": 17})
    product_line = text(32, 1, required=True, metadata={"example": "workflow"})
    complexity = one_of(COMPLEXITIES, required=True)
    tier = one_of(TIERS, allow_none=True, metadata={"description": (
        "L1 or L2; default L1 (the channel's). L3 is refused (422): on-site service comes by the owner's "
        "escalation (POST /tickets/{id}/escalations).")})
    region_code = Text(allow_none=True, metadata={"description": "Default: the customer's region.", "example": "330106"},
                       validate=validate.Regexp(r"^[0-9]{6}$"))
    channel = one_of(CHANNELS, load_default="api")
    subject = text(200, 1, required=True)
    description = text(20000, load_default="")


class IdempotencyHeader(ma.Schema):
    idempotency_key = Text(data_key="Idempotency-Key", validate=validate.Length(min=1, max=255), metadata={
        "description": "The same key and body within 24 hours returns the first ticket, never a second one."})


class TicketListArgs(ListArgs):
    status = one_of(TICKET_STATUSES + ("open",))
    partner_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID),
                                metadata={"description": "Held or offered to this partner."})
    region = Text(validate=validate.Regexp(r"^[0-9]{6}$"),
                  metadata={"description": "At or under this region.", "example": "330100"})
    product_line = text(32)
    breached = fields.Boolean(metadata={
        "description": "true: open and past a due time it has not met; false: every other ticket."})
    billable = fields.Boolean(metadata={"description": "true: only billable tickets; false: only included ones."})
    resolved = Text(validate=validate.Regexp(r"^20[0-9]{2}-(0[1-9]|1[0-2])$"), metadata={
        "description": "Only the tickets served (resolved or closed) and resolved in this month in China, "
                       "as the reports count them.", "example": "2026-11"})


class TicketDetailArgs(ma.Schema):
    include = one_of(("events",), metadata={"description": "`events` adds the ticket's history."})


class HqOwner(ma.Schema):
    type = one_of(("hq",), required=True)


class PartnerOwner(ma.Schema):
    type = one_of(("partner",), required=True)
    id = fields.Integer(required=True)
    name = fields.String(required=True)


PARTY_UNION = {
    "oneOf": [{"$ref": "#/components/schemas/HqOwner"}, {"$ref": "#/components/schemas/PartnerOwner"}],
    "discriminator": {"propertyName": "type", "mapping": {"hq": "#/components/schemas/HqOwner",
                                                          "partner": "#/components/schemas/PartnerOwner"}}}


class PartyField(fields.Field):
    """HQ ({"type": "hq"}) or a partner ({"type": "partner", "id", "name"}): a tagged union."""

    def __init__(self, **kwargs):
        super().__init__(metadata={**PARTY_UNION, **kwargs.pop("metadata", {})}, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        schema = PartnerOwner if value["type"] == "partner" else HqOwner
        return schema().dump(value)


class Offer(ma.Schema):
    partner_id = fields.Integer(required=True)
    deadline = ChinaDateTime(required=True, metadata={"description": (
        "When the offer expires: the offer deadline setting (15 minutes) on the ticket's SLA clock, "
        "so a business-hours ticket offered at night waits for the next working morning.")})


class Due(ma.Schema):
    response = ChinaDateTime(required=True, allow_none=True)
    resolution = ChinaDateTime(required=True, allow_none=True)


class Candidate(ma.Schema):
    partner_id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = one_of(PARTNER_KINDS, required=True)
    level = one_of(("county", "city", "province"), required=True)
    outcome = one_of(("offered", "ranked", "skipped"), required=True)
    rank = fields.Integer(metadata={"description": "1 for the offered partner, then in order; not when skipped."})
    reason = one_of(SKIP_REASONS, metadata={"description": "Why it was skipped; only when skipped."})
    detail = fields.String(allow_none=True, metadata={"description": "More on the reason (a date, a load)."})


class Route(ma.Schema):
    cause = one_of(HQ_QUEUE_CAUSES, required=True, allow_none=True)
    decided_at = ChinaDateTime(allow_none=True)
    candidates = fields.List(fields.Nested(Candidate), required=True, metadata={
        "description": "HQ sees every candidate; a partner's users see only their own partner's entry."})


class TicketEventData(ma.Schema):
    """The details of a ticket's event, each field for the kinds that carry it (docs/api.md)."""
    tier = one_of(TIERS, metadata={"description": "created: the tier given at intake."})
    billable = fields.Boolean(metadata={"description": "created: billable at intake; escalated: at the new tier."})
    billable_reason = one_of(BILLABLE_REASONS, allow_none=True, metadata={
        "description": "created, escalated: why billable."})
    from_tier = one_of(TIERS, metadata={"description": "escalated: the tier before."})
    to_tier = one_of(TIERS, metadata={"description": "escalated: the tier after."})
    reason = fields.String(metadata={"description": "escalated: why (also the event's note)."})
    deadline = ChinaDateTime(metadata={"description": "offered: when the offer expires."})
    route = fields.Nested(Route, metadata={"description": "offered, queued_to_hq: the routing decision."})
    engineer_id = fields.Integer(metadata={"description": "accepted, assigned: the engineer now assigned."})
    previous_engineer_id = fields.Integer(allow_none=True, metadata={"description": "assigned: the one before."})
    due = ChinaDateTime(metadata={"description": "response_*, resolution_*: when the target was due."})
    done_at = ChinaDateTime(metadata={"description": "response_* and resolution_* recorded on the answer or the "
                                                     "resolution: when the ticket was answered or resolved."})
    attachment_id = fields.Integer(metadata={"description": "attachment_added: the file attached."})
    visit_id = fields.Integer(metadata={"description": "visit_*: the visit planned, checked in or out."})


class TicketEvent(ma.Schema):
    id = fields.Integer(required=True)
    kind = one_of(EVENT_KINDS, required=True)
    at = ChinaDateTime(required=True)
    actor_user_id = fields.Integer(required=True, allow_none=True)
    party_id = fields.Integer(required=True, allow_none=True)
    from_status = one_of(TICKET_STATUSES, required=True, allow_none=True)
    to_status = one_of(TICKET_STATUSES, required=True, allow_none=True)
    reason_code = one_of(EVENT_REASON_CODES, required=True, allow_none=True)
    note = fields.String(required=True, allow_none=True)
    data = fields.Nested(TicketEventData, allow_none=True, metadata={
        "description": "Details of the change (HQ only; null for kinds that carry none)."})


class TicketCustomer(ma.Schema):
    """The customer to reach on a ticket: for HQ, and for a partner's users while their partner
    holds the ticket (accepted, at work, resolved)."""
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    contact_name = fields.String(required=True, allow_none=True)
    contact_phone = fields.String(required=True, allow_none=True)
    contact_email = fields.String(required=True, allow_none=True)
    address = fields.String(required=True, allow_none=True)
    location_notes = fields.String(required=True, allow_none=True)


class Ticket(ma.Schema):
    id = fields.Integer(required=True)
    status = one_of(TICKET_STATUSES, required=True)
    owner = PartyField(required=True, metadata={"description": "Who holds the ticket now: HQ or a partner."})
    offer = fields.Nested(Offer, required=True, allow_none=True)
    tier = one_of(TIERS, required=True)
    billable = fields.Boolean(required=True)
    billable_reason = one_of(BILLABLE_REASONS, required=True, allow_none=True)
    due = fields.Nested(Due, required=True)
    route = fields.Nested(Route, required=True, allow_none=True)
    customer_id = fields.Integer(required=True)
    customer_name = fields.String(required=True, metadata={
        "description": "Who the ticket is for: also to a partner offered it, to decide."})
    customer = fields.Nested(TicketCustomer, required=True, allow_none=True, metadata={
        "description": "The customer's contacts and address: for HQ, and for a partner's users while their "
                       "partner holds the ticket (accepted, at work, resolved); null for a partner only offered "
                       "it, and gone (404) with the ticket once it leaves the partner."})
    region_code = fields.String(required=True)
    product_line = fields.String(required=True)
    complexity = one_of(COMPLEXITIES, required=True)
    channel = one_of(CHANNELS, required=True)
    subject = fields.String(required=True)
    description = fields.String(required=True)
    engineer_id = fields.Integer(required=True, allow_none=True)
    hq_queue_cause = one_of(HQ_QUEUE_CAUSES, required=True, allow_none=True)
    created_at = ChinaDateTime(required=True)
    updated_at = ChinaDateTime(required=True)
    responded_at = ChinaDateTime(required=True, allow_none=True)
    resolved_at = ChinaDateTime(required=True, allow_none=True)
    closed_at = ChinaDateTime(required=True, allow_none=True)
    events = fields.List(fields.Nested(TicketEvent), metadata={"description": "With ?include=events."})


class AcceptIn(ma.Schema):
    engineer_id = Id(required=True, metadata={"description": "One of your engineers certified for the product line."})


class DeclineIn(ma.Schema):
    reason_code = one_of(DECLINE_REASONS, required=True)
    note = text(2000, required=True)


class ReturnIn(ma.Schema):
    reason_code = one_of(RETURN_REASONS, required=True)
    note = text(2000, required=True)


class TicketStatusIn(ma.Schema):
    status = one_of(("in_progress", "waiting_on_customer", "resolved", "closed"), required=True)
    note = text(2000, load_default="", metadata={"description": "Required when resolving."})


class TakeIn(ma.Schema):
    engineer_id = Id(allow_none=True, metadata={"description": "An HQ engineer certified for the line (optional)."})


class OfferIn(ma.Schema):
    partner_id = Id(required=True)
    override_reason = text(2000, load_default="", metadata={
        "description": "Required when the partner has no engineer certified for the product line."})


class ReassignIn(ma.Schema):
    engineer_id = Id(required=True)


# --- audits ------------------------------------------------------------------------------------

SHARE = dict(validate=validate.Range(min=0, max=1), allow_none=True)


class AuditRunIn(ma.Schema):
    period_start = Day(required=True, metadata={"description": "First day, in China."})
    period_end = Day(required=True, metadata={"description": "Last day, included; yesterday at the latest."})
    threshold = fields.Float(metadata={"description": "Push-back lower bound above which a partner is "
                                                      "flagged (default: the setting, 0.20)."}, **SHARE)
    min_offers = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=0, max=1000000),
                                metadata={"description": "Fewest offers to flag on (default: the setting)."})
    sold_not_served_threshold = fields.Float(metadata={"description": "Share of sold tickets served by HQ "
                                                                      "above which a partner is flagged."}, **SHARE)
    satisfaction_threshold = fields.Float(metadata={"description": "Satisfied share (ratings 4 or 5) whose 95% upper "
                                                                   "bound below it flags a partner (default: the setting, 0.60)."}, **SHARE)
    satisfaction_min_answers = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=0, max=1000000),
                                              metadata={"description": "Fewest rated answers to flag satisfaction on."})


class AuditRun(ma.Schema):
    id = fields.Integer(required=True)
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    threshold = fields.Float(required=True)
    min_offers = fields.Integer(required=True)
    sold_not_served_threshold = fields.Float(required=True)
    satisfaction_threshold = fields.Float(required=True, allow_none=True)
    satisfaction_min_answers = fields.Integer(required=True, allow_none=True)
    triggered_by = one_of(RUN_TRIGGERS, required=True)
    created_at = ChinaDateTime(required=True)
    partners = fields.Integer(required=True, metadata={"description": "Partners measured."})
    flagged = fields.Integer(required=True, metadata={"description": "Partners flagged."})
    decided = fields.Integer(required=True, metadata={"description": "Findings a channel manager has decided."})


class AuditDecision(ma.Schema):
    decision = one_of(DECISIONS, required=True)
    note = fields.String(required=True)
    decided_by_id = fields.Integer(required=True)
    decided_at = ChinaDateTime(required=True)


class AuditFinding(ma.Schema):
    id = fields.Integer(required=True)
    run_id = fields.Integer(required=True)
    partner_id = fields.Integer(required=True, attribute="party_id")
    partner_name = fields.Function(lambda f: f.party.name, required=True, metadata={"type": "string"})
    offered = fields.Integer(required=True)
    accepted = fields.Integer(required=True)
    declined = fields.Integer(required=True)
    expired = fields.Integer(required=True)
    returned = fields.Integer(required=True)
    push_back = fields.Integer(required=True)
    push_back_rate = fields.Float(required=True, allow_none=True)
    push_back_lower_bound = fields.Float(required=True, allow_none=True)
    sold_tickets = fields.Integer(required=True)
    sold_not_served = fields.Integer(required=True)
    sold_not_served_share = fields.Float(required=True, allow_none=True)
    sla_kept = fields.Integer(required=True)
    sla_met = fields.Integer(required=True)
    sla_attainment = fields.Float(required=True, allow_none=True)
    satisfaction_answers = fields.Integer(required=True, metadata={"description": "Customers' rated answers."})
    satisfied = fields.Integer(required=True, metadata={"description": "Of those, rated 4 or 5."})
    satisfaction_upper_bound = fields.Float(required=True, allow_none=True, metadata={
        "description": "95% Wilson upper bound of the satisfied share; flagged when below the run's threshold."})
    flagged = fields.Boolean(required=True)
    flag_reasons = fields.List(one_of(FLAG_REASONS), required=True, allow_none=True)
    decision = fields.Nested(AuditDecision, required=True, allow_none=True)


class FindingDecisionIn(ma.Schema):
    decision = one_of(DECISIONS, required=True)
    note = text(5000, required=True)


# --- who am I ----------------------------------------------------------------------------------

class Me(ma.Schema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    name = fields.String(required=True)
    role = one_of(ROLES, required=True)
    party = PartyField(required=True, metadata={"description": "The party the user acts for: HQ or a partner."})
    engineer_id = fields.Integer(required=True, allow_none=True, metadata={"description": "An engineer's own record."})
    language = one_of(LOCALES, required=True, allow_none=True, metadata={
        "description": "The user's own language; null: the browser's (Accept-Language)."})


# --- group robots and e-mail preferences -------------------------------------------------------

class Channel(ma.Schema):
    """A group robot of the caller's party. Its address and secret are never returned."""
    id = fields.Integer(required=True)
    provider = one_of(ROBOT_PROVIDERS, required=True)
    name = fields.String(required=True)
    webhook = fields.String(required=True, attribute="masked_webhook", metadata={
        "description": "The address masked: the provider's host and the last four characters of the key.",
        "example": "https://qyapi.weixin.qq.com/…3f9a"})
    signed = fields.Boolean(required=True, attribute="has_secret", metadata={
        "description": "A signing secret is stored (DingTalk, Feishu)."})
    language = one_of(CHANNEL_LOCALES, required=True, attribute="locale", metadata={
        "description": "The language of the cards posted to this group."})
    enabled = fields.Boolean(required=True)
    created_at = ChinaDateTime(required=True)
    updated_at = ChinaDateTime(required=True)


class ChannelIn(ma.Schema):
    provider = one_of(ROBOT_PROVIDERS, required=True)
    name = text(64, load_default="")
    webhook_url = text(512, required=True, metadata={
        "description": "The robot's webhook address: HTTPS on the provider's own host.",
        "example": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…"})
    secret = optional_text(128, load_default=None, metadata={
        "description": "The signing secret: DingTalk's (SEC…, required), Feishu's (if set in the bot); none for WeCom."})
    language = one_of(CHANNEL_LOCALES, load_default="zh_CN", data_key="language", attribute="locale")
    enabled = fields.Boolean(load_default=True)


class ChannelPatch(ma.Schema):
    """Only the fields given change; an absent or empty address or secret keeps the stored one."""
    provider = one_of(ROBOT_PROVIDERS)
    name = text(64)
    webhook_url = text(512)
    secret = optional_text(128)
    language = one_of(CHANNEL_LOCALES, data_key="language", attribute="locale")
    enabled = fields.Boolean()


class ChannelTestQueued(ma.Schema):
    id = fields.Integer(required=True, metadata={"description": "The queued message (the delivery log's row)."})
    status = fields.String(required=True, metadata={"example": "pending"})


class EmailKind(ma.Schema):
    kind = one_of(tuple(KINDS), required=True)
    label = fields.String(required=True)
    by_email = fields.Boolean(required=True)


class EmailPreferences(ma.Schema):
    kinds = fields.List(fields.Nested(EmailKind), required=True)


class EmailPreferencesIn(ma.Schema):
    by_email = fields.List(one_of(tuple(KINDS)), required=True, validate=validate.Length(max=len(KINDS)),
                           metadata={"description": "The kinds e-mailed; the others reach the bell only."})
