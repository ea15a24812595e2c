"""Factories: the smallest valid objects of each kind, with overrides, saved to the database."""
import itertools
from datetime import date, timedelta
from decimal import Decimal

from partnernet.auth.models import User
from partnernet.customers.models import Contract, Customer
from partnernet.extensions import db
from partnernet.network.models import Certification, Coverage, Engineer, Party, ProductLine
from partnernet.settings.models import SlaPolicy
from partnernet.tickets.models import Ticket, TicketEvent  # noqa: F401
from partnernet.timeclock import today_in_china

PASSWORD = "correct horse battery"
_sequence = itertools.count(1)


def hq() -> Party:
    return db.session.execute(db.select(Party).where(Party.kind == "hq")).scalar_one()


def product_line(code="workflow") -> ProductLine:
    return db.session.execute(db.select(ProductLine).where(ProductLine.code == code)).scalar_one()


def save(obj):
    db.session.add(obj)
    db.session.commit()
    return obj


def partner(**fields) -> Party:
    n = next(_sequence)
    tiers = fields.pop("tiers", ["L1", "L2"])
    values = dict(kind="agent", name=f"测试伙伴{n}", status="active", capacity=10, province_code="330000")
    values.update(fields)
    party = Party(**values)
    party.tiers = tiers
    return save(party)


def engineer(party, **fields) -> Engineer:
    n = next(_sequence)
    return save(Engineer(party_id=party.id, name=f"工程师{n}", email=f"eng{n}@example.com", **fields))


def certification(engineer_, line="workflow", **fields) -> Certification:
    n = next(_sequence)
    values = dict(engineer_id=engineer_.id, product_line_id=product_line(line).id, level="professional",
                  number=f"CERT-{n:06d}", issued_on=today_in_china() - timedelta(days=100),
                  expires_on=today_in_china() + timedelta(days=265), status="valid")
    values.update(fields)
    return save(Certification(**values))


def coverage(party, region_code="330000", **fields) -> Coverage:
    tiers = fields.pop("tiers", ["L1", "L2"])
    values = dict(party_id=party.id, region_code=region_code, effective_from=date(2020, 1, 1))
    values.update(fields)
    obj = Coverage(**values)
    obj.tiers = tiers
    return save(obj)


def customer(sold_by=None, region_code="330106", **fields) -> Customer:
    n = next(_sequence)
    values = dict(name=f"客户{n}", region_code=region_code, sold_by_party_id=(sold_by or hq()).id)
    values.update(fields)
    return save(Customer(**values))


def contract(customer_, **fields) -> Contract:
    n = next(_sequence)
    policy = db.session.execute(db.select(SlaPolicy).where(SlaPolicy.code == "business-hours")).scalar_one()
    values = dict(customer_id=customer_.id, number=f"C-{n:06d}", value=Decimal("80000.00"),
                  starts_on=today_in_china() - timedelta(days=30), sold_by_party_id=customer_.sold_by_party_id,
                  sla_policy_id=policy.id)
    values.update(fields)
    return save(Contract(**values))


def ticket(customer_, **fields) -> Ticket:
    values = dict(customer_id=customer_.id, region_code=customer_.region_code,
                  product_line_id=product_line().id, complexity="simple", channel="phone", tier="L1",
                  subject="无法登录", status="new")
    values.update(fields)
    return save(Ticket(**values))


def user(role="hq_admin", party=None, engineer_=None, **fields) -> User:
    n = next(_sequence)
    party = party or (engineer_.party if engineer_ else hq())
    values = dict(email=f"user{n}@example.com", name=f"User {n}", role=role, party_id=party.id,
                  engineer_id=engineer_.id if engineer_ else None)
    values.update(fields)
    obj = User(**values)
    obj.set_password(PASSWORD)
    return save(obj)
