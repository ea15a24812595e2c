"""Rules over customers and their contracts: the API and the pages call these."""
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _

from partnernet.customers.models import Contract, Customer
from partnernet.errors import ValidationFailed
from partnernet.extensions import db
from partnernet.names import read_name
from partnernet.network.models import Party, ProductLine
from partnernet.regions.models import Region
from partnernet.settings import changes
from partnernet.settings.models import SlaPolicy

CUSTOMER_FIELDS = ("name", "region_code", "contact_name", "contact_phone", "contact_email", "address", "location_notes")
CONTACT_FIELDS = ("contact_phone", "contact_email", "address", "location_notes")  # besides the contact's name
LOCATION_NOTES_LENGTH = 2000
DEFAULT_SLA_POLICY = "business-hours"
CENT = Decimal("0.01")


def seller(party_id: int | None, fields: dict, field: str) -> Party | None:
    """The party that sold: the given partner, or HQ when none is given."""
    if party_id is None:
        return db.session.execute(sa.select(Party).where(Party.kind == "hq")).scalar_one()
    party = db.session.get(Party, party_id)
    if party is None:
        fields[field] = _("Unknown partner.")
    return party


def checked_customer(values: dict) -> dict:
    """A customer's columns from `values`, or ValidationFailed with a message per field."""
    fields = {}
    name, problem = read_name(values.get("name"), 128)
    if problem:
        fields["name"] = problem
    contact_name, problem = read_name(values.get("contact_name"), 64, required=False)
    if problem:
        fields["contact_name"] = problem
    if db.session.get(Region, values.get("region_code") or "") is None:
        fields["region_code"] = _("Unknown region code.")
    if len((values.get("address") or "").strip()) > 255:
        fields["address"] = _("At most 255 characters.")
    if len((values.get("location_notes") or "").strip()) > LOCATION_NOTES_LENGTH:
        fields["location_notes"] = _("At most 2000 characters.")
    sold_by = seller(values.get("sold_by_partner_id"), fields, "sold_by_partner_id")
    if fields:
        raise ValidationFailed(_("The customer cannot be saved."), fields)
    return {"name": name, "region_code": values["region_code"], "sold_by_party_id": sold_by.id,
            "contact_name": contact_name,
            **{field: (values.get(field) or "").strip() or None for field in CONTACT_FIELDS}}


def create_customer(values: dict, now: datetime, actor_id: int | None = None) -> Customer:
    """A new customer in a region, sold by a partner or by HQ (`actor_id`: who, for the change log)."""
    customer = Customer(**checked_customer(values), created_at=now)
    db.session.add(customer)
    db.session.flush()
    changes.record("customer_created", actor_id, now, target=customer.name, customer_id=customer.id,
                   region_code=customer.region_code, sold_by_party_id=customer.sold_by_party_id)
    db.session.commit()
    return customer


def update_customer(customer: Customer, values: dict, now: datetime, actor_id: int | None) -> list[str]:
    """New name, region, seller or contacts; logged with what changed. Tickets already opened keep
    their region; new ones are routed from the new one. Returns the columns changed."""
    after = checked_customer(values)
    changed = changes.differences({name: getattr(customer, name) for name in after}, after)
    if changed:
        changes.record("customer_changed", actor_id, now, target=after["name"], customer_id=customer.id,
                       **readable(changed))
        for name, (_before, value) in changed.items():
            setattr(customer, name, value)
    db.session.commit()
    return list(changed)


def checked_contract(values: dict, customer: Customer, now: datetime, contract: Contract | None = None):
    """A contract's columns and product lines from `values` (for `contract` when it is an edit,
    which keeps its number unless another is given, and its paid-up service), or
    ValidationFailed with a message per field."""
    fields = {}
    codes = list(dict.fromkeys(values.get("product_lines") or []))
    lines = list(db.session.execute(sa.select(ProductLine).where(ProductLine.code.in_(codes), ProductLine.active)
                                    .order_by(ProductLine.id)).scalars())
    if not codes:
        fields["product_lines"] = _("Choose product lines.")
    elif len(lines) != len(codes):
        fields["product_lines"] = _("Unknown product line.")
    value = values.get("value")
    if value is None or Decimal(value) <= 0:
        fields["value"] = _("The contract value must be more than zero.")
    starts_on = values.get("starts_on")
    paid_until = values.get("service_paid_until") if contract is None else contract.service_paid_until
    if starts_on is None:
        fields["starts_on"] = _("A start date is required.")
    elif paid_until is not None and paid_until < starts_on:
        fields["service_paid_until" if contract is None else "starts_on"] = _(
            "Service cannot be paid until before the contract starts.")
    policy = db.session.execute(sa.select(SlaPolicy).where(
        SlaPolicy.code == (values.get("sla_policy") or DEFAULT_SLA_POLICY))).scalar_one_or_none()
    if policy is None:
        fields["sla_policy"] = _("Unknown SLA policy.")
    number = (values.get("number") or "").strip() or (contract.number if contract else generated_number(now))
    taken = sa.select(Contract.id).where(Contract.number == number)
    if contract is not None:
        taken = taken.where(Contract.id != contract.id)
    if db.session.execute(taken).first():
        fields["number"] = _("This contract number is already used.")
    sold_by_id = values.get("sold_by_partner_id")
    sold_by = seller(sold_by_id, fields, "sold_by_partner_id") if sold_by_id else None
    if fields:
        raise ValidationFailed(_("The contract cannot be saved."), fields)
    columns = {"number": number, "value": Decimal(value).quantize(CENT), "starts_on": starts_on,
               "sla_policy_id": policy.id, "service_paid_until": paid_until,
               "sold_by_party_id": sold_by.id if sold_by else (contract.sold_by_party_id if contract
                                                               else customer.sold_by_party_id)}
    return columns, lines


def create_contract(customer: Customer, values: dict, now: datetime, actor_id: int | None = None) -> Contract:
    """A contract of the customer: product lines, value, start, paid-up service and SLA policy
    (`actor_id`: who, for the change log)."""
    columns, lines = checked_contract(values, customer, now)
    contract = Contract(customer_id=customer.id, created_at=now, **columns)
    contract.product_lines = lines
    db.session.add(contract)
    db.session.flush()
    changes.record("contract_created", actor_id, now, target=contract.number, customer_id=customer.id,
                   value=contract.value, starts_on=contract.starts_on, product_lines=[line.code for line in lines],
                   service_paid_until=contract.service_paid_until)
    db.session.commit()
    return contract


def update_contract(contract: Contract, values: dict, now: datetime, actor_id: int | None) -> list[str]:
    """A contract corrected: number, product lines, value, start or SLA policy (fees received are
    recorded with record_service_payment). New tickets use it; tickets already opened keep their
    entitlement and due times. Logged with what changed; returns the names changed."""
    columns, lines = checked_contract(values, contract.customer, now, contract)
    before = {name: getattr(contract, name) for name in columns}
    before["product_lines"] = [line.code for line in contract.product_lines]
    after = {**columns, "product_lines": [line.code for line in lines]}
    changed = changes.differences(before, after)
    if changed:
        changes.record("contract_changed", actor_id, now, target=columns["number"], customer_id=contract.customer_id,
                       **readable(changed))
        for name, value in columns.items():
            setattr(contract, name, value)
        contract.product_lines = lines
    db.session.commit()
    return list(changed)


def readable(changed: dict) -> dict:
    """{column: [before, after]} as the change log shows it: the seller's and the policy's names
    for their ids."""
    def shown(name, value):
        if name == "sold_by_party_id":
            return db.session.get(Party, value).name
        if name == "sla_policy_id":
            return db.session.get(SlaPolicy, value).code
        return value
    names = {"sold_by_party_id": "sold_by", "sla_policy_id": "sla_policy"}
    return {names.get(name, name): [shown(name, value) for value in pair] for name, pair in changed.items()}


def generated_number(now: datetime) -> str:
    return f"C{now:%Y%m%d}-{secrets.token_hex(4).upper()}"


# --- the service entitlement --------------------------------------------------------------------

SERVICE_STATES = ("free", "paid", "unpaid")


@dataclass(frozen=True)
class ServiceStatus:
    """Where a contract's service entitlement stands on a day: `state` is `free` (the free
    period), `paid` (annual fees paid up) or `unpaid` (tickets are billable); `covered_until` the
    last day covered (free or paid); `annual_fee` the fee for a year (value x the fee rate)."""
    state: str
    covered_until: date
    annual_fee: Decimal


def service_status(contract, today: date, settings: dict) -> ServiceStatus:
    """The one rule of entitlement (intake asks it too): the free months from the start, then up
    to the day fees are paid. `contract`: a Contract or a row with its columns."""
    free_until = add_months(contract.starts_on, int(settings["free_service_months"])) - timedelta(days=1)
    covered = max(free_until, contract.service_paid_until or free_until)
    free, paid, unpaid = SERVICE_STATES
    state = free if today <= free_until else paid if today <= covered else unpaid
    fee = (contract.value * Decimal(str(settings["service_fee_rate"]))).quantize(CENT)
    return ServiceStatus(state, covered, fee)


def next_paid_until(contract: Contract, today: date, settings: dict) -> date:
    """What a year's fee paid today covers up to: a year on from the last day covered, or from
    today when the service has lapsed."""
    covered = service_status(contract, today, settings).covered_until
    start = max(covered, today - timedelta(days=1))
    return add_months(start + timedelta(days=1), 12) - timedelta(days=1)


def record_service_payment(contract: Contract, paid_until: date | None, today: date, settings: dict,
                           actor_id: int | None, now: datetime) -> Contract:
    """HQ records annual service fees received: service is paid up to `paid_until`, which must
    extend what is covered now (the free period or fees paid before). Logged with before and after."""
    status = service_status(contract, today, settings)
    if paid_until is None or paid_until <= status.covered_until:
        raise ValidationFailed(_("The payment was not recorded."), {"paid_until": _(
            "Choose a day after %(day)s, the last day already covered.", day=status.covered_until.isoformat())})
    if paid_until > add_years(today, 10):
        raise ValidationFailed(_("The payment was not recorded."), {"paid_until": _("At most ten years ahead.")})
    changes.record("service_paid", actor_id, now, target=contract.number, customer_id=contract.customer_id,
                   **{"from": contract.service_paid_until, "to": paid_until, "annual_fee": status.annual_fee})
    contract.service_paid_until = paid_until
    db.session.commit()
    return contract


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=d)
        except ValueError:
            continue


def add_years(day: date, years: int) -> date:
    return add_months(day, 12 * years)
