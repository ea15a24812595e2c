"""Writing the plan: insert, in bulk, the rows whose natural key is missing, so that seeding twice
leaves the database as seeding once."""
from datetime import date

import sqlalchemy as sa

from partnernet.auth.models import User
from partnernet.customers.models import Contract, Customer, contract_product_line
from partnernet.demo.plan import HQ, Plan
from partnernet.demo.users import DEMO_PASSWORD
from partnernet.extensions import db
from partnernet.network.models import (
    Certification, Coverage, Engineer, Party, PartyEvent, ProductLine, coverage_product_line,
)
from partnernet.settings.models import SlaPolicy


def insert_missing(model, rows: list[dict], key: tuple[str, ...]) -> list[dict]:
    """Insert the rows whose natural key is not in the table yet; return them."""
    columns = [getattr(model, name) for name in key]
    existing = set(db.session.execute(sa.select(*columns)).all())
    new = [row for row in rows if tuple(row[name] for name in key) not in existing]
    if new:
        db.session.execute(sa.insert(model), new)
    return new


def ids_by(column, id_column, values) -> dict:
    values = list(values)
    found = {}
    for start in range(0, len(values), 500):
        found.update(db.session.execute(
            sa.select(column, id_column).where(column.in_(values[start:start + 500]))).all())
    return found


def without(row: dict, *keys) -> dict:
    return {k: v for k, v in row.items() if k not in keys}


def insert_plan(plan: Plan, today: date) -> None:
    hq_id = db.session.execute(sa.select(Party.id).where(Party.kind == "hq")).scalar_one()
    line_ids = dict(db.session.execute(sa.select(ProductLine.code, ProductLine.id)).all())

    insert_missing(Party, [p.row for p in plan.partners], ("name",))
    party_ids = ids_by(Party.name, Party.id, [p.name for p in plan.partners])
    party_ids[HQ] = hq_id

    insert_missing(PartyEvent, [
        dict(event, party_id=party_ids[p.name])  # no actor: the demo, not a user, made these
        for p in plan.partners for event in p.events], ("party_id", "kind", "to_status"))

    coverage = [dict(without(c, "lines"), party_id=party_ids[p.name])
                for p in plan.partners for c in p.coverage]
    lines_of = {(p.name, c["region_code"]): c["lines"] for p in plan.partners for c in p.coverage}
    new = insert_missing(Coverage, coverage, ("party_id", "region_code"))
    if new:
        names = {v: k for k, v in party_ids.items()}
        rows = db.session.execute(sa.select(Coverage.id, Coverage.party_id, Coverage.region_code).where(
            Coverage.party_id.in_({c["party_id"] for c in new}))).all()
        wanted = {(c["party_id"], c["region_code"]) for c in new}
        links = [dict(coverage_id=row.id, product_line_id=line_ids[line])
                 for row in rows if (row.party_id, row.region_code) in wanted
                 for line in lines_of[(names[row.party_id], row.region_code)]]
        if links:
            db.session.execute(sa.insert(coverage_product_line), links)

    insert_missing(Engineer, [dict(without(e, "party"), party_id=party_ids[e["party"]])
                              for e in plan.engineers], ("email",))
    engineer_ids = ids_by(Engineer.email, Engineer.id, [e["email"] for e in plan.engineers])
    insert_missing(Certification, [
        dict(without(c, "engineer", "line", "category"), engineer_id=engineer_ids[c["engineer"]],
             product_line_id=line_ids[c["line"]]) for c in plan.certifications],
        ("engineer_id", "product_line_id"))

    insert_customers(plan.customers, plan.contracts)

    existing = set(db.session.execute(sa.select(User.email)).scalars())
    for row in plan.users:
        if row["email"] in existing:
            continue
        user = User(**without(row, "party", "engineer"), party_id=party_ids[row["party"]],
                    engineer_id=engineer_ids.get(row["engineer"]))
        user.set_password(DEMO_PASSWORD)
        db.session.add(user)
    db.session.flush()


def insert_customers(customers: list[dict], contracts: list[dict]) -> None:
    """The customers and their contracts whose natural keys are missing (the sellers exist)."""
    hq_id = db.session.execute(sa.select(Party.id).where(Party.kind == "hq")).scalar_one()
    line_ids = dict(db.session.execute(sa.select(ProductLine.code, ProductLine.id)).all())
    sla_ids = dict(db.session.execute(sa.select(SlaPolicy.code, SlaPolicy.id)).all())
    party_ids = ids_by(Party.name, Party.id, {c["sold_by"] for c in customers + contracts} - {HQ})
    party_ids[HQ] = hq_id
    insert_missing(Customer, [dict(without(c, "sold_by"), sold_by_party_id=party_ids[c["sold_by"]])
                              for c in customers], ("name",))
    customer_ids = ids_by(Customer.name, Customer.id, [c["name"] for c in customers])
    # A customer's contracts are keyed by their order: the numbers carry the start year, which
    # moves with the day of seeding, while "the customer's second contract" does not.
    held = dict(db.session.execute(sa.select(Contract.customer_id, sa.func.count()).group_by(
        Contract.customer_id)).all())
    new = [c for c in contracts if c["ordinal"] > held.get(customer_ids[c["customer"]], 0)]
    if new:
        db.session.execute(sa.insert(Contract), [
            dict(without(c, "customer", "ordinal", "sold_by", "lines", "sla"),
                 customer_id=customer_ids[c["customer"]], sold_by_party_id=party_ids[c["sold_by"]],
                 sla_policy_id=sla_ids[c["sla"]]) for c in new])
        contract_ids = ids_by(Contract.number, Contract.id, [c["number"] for c in new])
        db.session.execute(sa.insert(contract_product_line), [
            dict(contract_id=contract_ids[c["number"]], product_line_id=line_ids[line])
            for c in new for line in c["lines"]])

