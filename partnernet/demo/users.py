"""The demo's users, one for every role, all with the same password, and the logins `seed-demo`
prints."""
from datetime import date, timedelta

import sqlalchemy as sa

from partnernet.auth.models import User
from partnernet.demo.plan import HANGZHOU_JOINT_VENTURE, HQ, LISHUI_FRANCHISEE, XIHU_AGENT, ZHEJIANG_BRANCH, china_time
from partnernet.extensions import db
from partnernet.network.models import Party

DEMO_PASSWORD = "partnernet-demo"

# email, role, party (plan name), display name; the engineer user is the Xihu agent's first engineer.
DEMO_USERS = [
    ("admin@hq.demo", "hq_admin", HQ, "总部管理员"),
    ("manager@hq.demo", "hq_manager", HQ, "渠道经理"),
    ("agent@hq.demo", "hq_agent", HQ, "总部客服"),
    ("admin@xihu-agent.demo", "partner_admin", XIHU_AGENT, "西溪管理员"),
    ("admin@zhejiang-branch.demo", "partner_admin", ZHEJIANG_BRANCH, "浙江分公司管理员"),
    ("admin@hangzhou-jv.demo", "partner_admin", HANGZHOU_JOINT_VENTURE, "恒信管理员"),
    ("engineer@xihu-agent.demo", "engineer", XIHU_AGENT, None),
    ("admin@lishui-franchisee.demo", "partner_admin", LISHUI_FRANCHISEE, "丽水同创管理员"),
]


def demo_logins() -> list[tuple[str, str, str]]:
    """(email, role, party name) of the demo users present in the database, in a fixed order."""
    emails = [email for email, *_rest in DEMO_USERS]
    found = dict((row.email, (row.email, row.role, row.name)) for row in db.session.execute(
        sa.select(User.email, User.role, Party.name).join(Party, User.party_id == Party.id)
        .where(User.email.in_(emails))))
    return [found[email] for email in emails if email in found]


def plan_users(engineers: list, today: date) -> list:
    first_xihu_engineer = next(e for e in engineers if e["party"] == XIHU_AGENT)
    created_at = china_time(today - timedelta(days=1), 9)
    users = []
    for email, role, party, name in DEMO_USERS:
        engineer = first_xihu_engineer["email"] if role == "engineer" else None
        users.append(dict(email=email, role=role, party=party, engineer=engineer, locale=None,
                          name=name or first_xihu_engineer["name"], created_at=created_at))
    return users
