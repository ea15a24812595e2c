"""Customers' answers about the demo's resolved tickets: one in five rated (three in four in
Zhejiang, where the demo's users work, so that its scorecards have answers to rank by), most of
them well, the push-back partners' less well. Drawn from the fixed seed in ticket order: the same
history gets the same answers."""
import random
from datetime import datetime, timedelta

import sqlalchemy as sa

from partnernet.demo.plan import SEED
from partnernet.demo.push_back import PUSH_BACK_PARTNERS
from partnernet.extensions import db
from partnernet.feedback.models import CustomerFeedback
from partnernet.network.models import Party
from partnernet.tickets.models import Ticket

ANSWERED = 0.2                  # the share of resolved tickets whose customer answers
ANSWERED_IN_ZHEJIANG = 0.75
ZHEJIANG = "330000"
RATINGS = (5, 4, 3, 2, 1)
USUAL_WEIGHTS = (55, 28, 9, 5, 3)
PUSH_BACK_WEIGHTS = (18, 22, 22, 22, 16)
COMMENTS = {5: "处理及时，很满意", 4: "问题已解决", 3: "解决了，但等了较久", 2: "沟通不够", 1: "问题反复出现"}


def insert_feedback(cutoff: datetime) -> int:
    """The answers for the resolved tickets, each given within three days of the resolution and
    before `cutoff`; returns how many."""
    rng = random.Random(f"{SEED}-feedback")
    pushing = set(db.session.execute(sa.select(Party.id).where(Party.name.in_(PUSH_BACK_PARTNERS))).scalars())
    rows = []
    for ticket_id, party_id, province, resolved_at in db.session.execute(
            sa.select(Ticket.id, Ticket.owner_party_id, Party.province_code, Ticket.resolved_at)
            .join(Party, Party.id == Ticket.owner_party_id)
            .where(Ticket.resolved_at.is_not(None)).order_by(Ticket.id)):
        if rng.random() >= (ANSWERED_IN_ZHEJIANG if province == ZHEJIANG else ANSWERED):
            continue
        rating = rng.choices(RATINGS, PUSH_BACK_WEIGHTS if party_id in pushing else USUAL_WEIGHTS)[0]
        answered_at = resolved_at + timedelta(minutes=rng.randint(30, 72 * 60))
        if answered_at >= cutoff:
            continue
        rows.append(dict(ticket_id=ticket_id, party_id=party_id, source="customer", solved=rating >= 3,
                         rating=rating, comment=COMMENTS[rating], answered_at=answered_at, recorded_by_id=None))
    if rows:
        db.session.execute(sa.insert(CustomerFeedback.__table__), rows)
    return len(rows)
