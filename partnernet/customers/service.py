"""Rules over customers and their contracts; the API (and later the UI) calls these."""
import secrets
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _

from partnernet.customers.models import Contract, Customer
from partnernet.errors import ValidationFailed
from partnernet.extensions import db
from partnernet.network.models import Party, ProductLine
from partnernet.regions.models import Region
from partnernet.settings.models import SlaPolicy

CUSTOMER_FIELDS = ("name", "region_code", "contact_name", "contact_phone", "contact_email")
DEFAULT_SLA_POLICY = "business-hours"


def seller(party_id: int | None, fields: dict, field: str) -> Party | None:
    """The party that sold: the given partner, or HQ when none is given."""
    if party_id is None:
        return db.session.execute(sa.select(Party).where(Party.kind == "hq")).scalar_one()
    party = db.session.get(Party, party_id)
    if party is None:
        fields[field] = _("Unknown partner.")
    return party


def create_customer(values: dict, now: datetime) -> Customer:
    """A new customer in a region, sold by a partner or by HQ."""
    fields = {}
    name = (values.get("name") or "").strip()
    if not name:
        fields["name"] = _("A name is required.")
    if db.session.get(Region, values.get("region_code") or "") is None:
        fields["region_code"] = _("Unknown region code.")
    sold_by = seller(values.get("sold_by_partner_id"), fields, "sold_by_partner_id")
    if fields:
        raise ValidationFailed(_("The customer cannot be saved."), fields)
    customer = Customer(name=name, region_code=values["region_code"], sold_by_party_id=sold_by.id, created_at=now)
    for field in ("contact_name", "contact_phone", "contact_email"):
        setattr(customer, field, (values.get(field) or "").strip() or None)
    db.session.add(customer)
    db.session.commit()
    return customer


def create_contract(customer: Customer, values: dict, now: datetime) -> Contract:
    """A contract of the customer: product lines, value, start, paid-up service and SLA policy."""
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
    starts_on, paid_until = values.get("starts_on"), values.get("service_paid_until")
    if starts_on is None:
        fields["starts_on"] = _("A start date is required.")
    elif paid_until is not None and paid_until < starts_on:
        fields["service_paid_until"] = _("Service cannot be paid until before the contract starts.")
    policy = db.session.execute(sa.select(SlaPolicy).where(
        SlaPolicy.code == (values.get("sla_policy") or DEFAULT_SLA_POLICY))).scalar_one_or_none()
    if policy is None:
        fields["sla_policy"] = _("Unknown SLA policy.")
    number = (values.get("number") or "").strip() or generated_number(now)
    if db.session.execute(sa.select(Contract.id).where(Contract.number == number)).first():
        fields["number"] = _("This contract number is already used.")
    sold_by_id = values.get("sold_by_partner_id")
    sold_by = seller(sold_by_id, fields, "sold_by_partner_id") if sold_by_id else customer.sold_by
    if fields:
        raise ValidationFailed(_("The contract cannot be saved."), fields)
    contract = Contract(customer_id=customer.id, number=number, value=Decimal(value), starts_on=starts_on,
                        service_paid_until=paid_until, sold_by_party_id=sold_by.id, sla_policy_id=policy.id,
                        created_at=now)
    contract.product_lines = lines
    db.session.add(contract)
    db.session.commit()
    return contract


def generated_number(now: datetime) -> str:
    return f"C{now:%Y%m%d}-{secrets.token_hex(4).upper()}"
