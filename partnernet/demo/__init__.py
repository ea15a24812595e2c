"""The demo network: ~150 partners over mainland China, their engineers, customers and contracts,
and a few months of ticket history in which some partners visibly push back.

Everything is drawn from one fixed random seed, with dates counted back from today in China, and
inserted only where its natural key is missing: seeding twice leaves the database as seeding once.
Tickets have no natural key: the history is inserted whole, once, when none of it is there.

The parts plan what their names say (atlas, partners, engineers, customers, users, history); `write`
inserts the plan, and this module puts them together in the order the random draws depend on.
"""
import random
from datetime import date

import sqlalchemy as sa

from partnernet.auth.models import User
from partnernet.customers.models import Contract, Customer
from partnernet.demo.atlas import Atlas, load_atlas
from partnernet.demo.customers import WALK_CUSTOMER, plan_customers, plan_walk_customer
from partnernet.demo.engineers import plan_engineers
from partnernet.demo.feedback import insert_feedback
from partnernet.demo.history import has_history, insert_history, plan_history
from partnernet.demo.network_facts import load_network
from partnernet.demo.partners import plan_partners
from partnernet.demo.plan import (
    LISHUI_FRANCHISEE, SEED, XIHU_AGENT, ZHEJIANG_BRANCH, Plan, china_time, history_period,
)
from partnernet.demo.push_back import PUSH_BACK_PARTNERS, SOLD_NOT_SERVED_PARTNER
from partnernet.demo.users import DEMO_PASSWORD, DEMO_USERS, demo_logins, plan_users
from partnernet.demo.write import insert_customers, insert_plan
from partnernet.extensions import db
from partnernet.network.models import Certification, Coverage, Engineer, Party
from partnernet.tickets.models import Ticket
from partnernet.timeclock import today_in_china

__all__ = [
    "DEMO_PASSWORD", "DEMO_USERS", "LISHUI_FRANCHISEE", "WALK_CUSTOMER", "PUSH_BACK_PARTNERS", "SOLD_NOT_SERVED_PARTNER",
    "XIHU_AGENT", "ZHEJIANG_BRANCH", "china_time", "count_network", "demo_logins", "has_partners",
    "history_period", "seed_demo",
]


def has_partners() -> bool:
    """Whether any party other than HQ exists (then `seed-demo --if-empty` leaves the data alone)."""
    return db.session.execute(sa.select(sa.exists().where(Party.kind != "hq"))).scalar()


def seed_demo(today: date | None = None) -> dict:
    """Add the demo network where it is missing and return how many of each thing exist.

    In Zhejiang the routing has something to show: the branch covers the province, a joint venture
    covers Hangzhou, an agent (the demo partner_admin's) covers 西湖区 and 滨江区, and an agent on
    probation overlaps it in 滨江区. Everything else is spread over all 31 mainland provinces.

    The ticket history runs from the first day of the month three months back to yesterday: an
    audit of last month flags the PUSH_BACK_PARTNERS and the SOLD_NOT_SERVED_PARTNER, nobody else.
    About one in five resolved tickets has its customer's rating (demo.feedback).
    """
    today = today or today_in_china()
    atlas = load_atlas()
    plan = build_plan(atlas, today)
    insert_plan(plan, today)
    if not has_history():
        insert_history(plan_history(load_network(atlas), today), china_time(today, 0))
        insert_feedback(china_time(today, 0))
    # After the history, which it has no part in: the walk-through customer in 西湖区.
    insert_customers(*([row] for row in plan_walk_customer(today)))
    db.session.commit()
    return count_network()


def count_network() -> dict:
    """How many partners, engineers, customers, tickets… the database holds: what `seed-demo` prints."""
    def count(model, *where):
        return db.session.execute(sa.select(sa.func.count()).select_from(model).where(*where)).scalar_one()
    return {
        "partners": count(Party, Party.kind != "hq"),
        "coverage": count(Coverage),
        "engineers": count(Engineer),
        "certifications": count(Certification),
        "customers": count(Customer),
        "contracts": count(Contract),
        "users": count(User),
        "tickets": count(Ticket),
    }


def build_plan(atlas: Atlas, today: date) -> Plan:
    """The whole demo as plain rows. Random draws never depend on `today`, only dates do, so that
    the names and keys come out the same whichever day the demo is seeded."""
    rng = random.Random(SEED)
    partners = plan_partners(rng, atlas, today)
    engineers, certifications = plan_engineers(rng, partners, today)
    customers, contracts = plan_customers(rng, atlas, partners, today)
    users = plan_users(engineers, today)
    return Plan(partners, engineers, certifications, customers, contracts, users)
