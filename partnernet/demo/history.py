"""The ticket history: tickets on every working day from the first day of the month three months
back to yesterday, each lived through in time order, then inserted whole, once."""
import random
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from partnernet.demo.network_facts import ContractFacts, Network
from partnernet.demo.plan import SEED, china_time, history_period
from partnernet.demo.push_back import BUSY, Answers, busy_customers
from partnernet.demo.ticket_life import CALLS_PER_LINE, HISTORY_NOTE, Loads, TicketLife, live, open_ticket
from partnernet.extensions import db
from partnernet.settings.calendar import load_calendar
from partnernet.tickets.models import Ticket, TicketEvent

TICKETS_PER_WORKING_DAY = (40, 70)
FIRST_TICKET_HOUR, LAST_TICKET_HOUR = 9, 16  # tickets come in on working days, 09:00–16:00 in China


def has_history() -> bool:
    return db.session.execute(sa.select(sa.exists().where(
        TicketEvent.kind == "created", TicketEvent.note == HISTORY_NOTE))).scalar()


def plan_history(network: Network, today: date) -> list[TicketLife]:
    """Tickets on every working day of the history period, each lived through in time order."""
    rng = random.Random(f"{SEED}-history")
    first, last = history_period(today)
    calendar = load_calendar(first, today + timedelta(days=60))
    cutoff = china_time(today, 0)
    busy = busy_customers(network)
    loads, answers = Loads(), Answers(rng, network)
    lives = []
    day = first
    while day <= last:
        if calendar.is_working(day):
            callers = [(customer, [(c, contract_weight(c)) for c in network.contracts.get(customer[0], ())
                                   if c.starts_on <= day]) for customer in network.customers]
            callers = [(customer, running) for customer, running in callers if running]
            weights = [sum(w for _c, w in running) * (BUSY if customer[0] in busy else 1)
                       for customer, running in callers]
            count = rng.randint(*TICKETS_PER_WORKING_DAY)
            seconds = sorted(rng.randrange((LAST_TICKET_HOUR - FIRST_TICKET_HOUR) * 3600) for _ in range(count))
            for second in seconds:
                created = china_time(day, FIRST_TICKET_HOUR) + timedelta(seconds=second)
                customer, running = rng.choices(callers, weights)[0]
                life = open_ticket(rng, network, calendar, customer, running, created)
                live(rng, network, calendar, loads, answers, life, cutoff)
                lives.append(life)
        day += timedelta(days=1)
    return lives


def contract_weight(contract: ContractFacts) -> float:
    """How often a contract's customer calls about it: more for bigger contracts and by its lines."""
    size = 0.5 + min(float(contract.value), 600_000) / 200_000
    return size * sum(CALLS_PER_LINE[line] for line in contract.line_codes) / CALLS_PER_LINE["oa-core"]


def insert_history(lives: list[TicketLife], cutoff: datetime) -> None:
    """The tickets and their events, in bulk: tickets first (their ids back in order), then events."""
    if not lives:
        return
    stood = [life.until(cutoff) for life in lives]
    tickets, events = Ticket.__table__, TicketEvent.__table__  # Core: plain executemany, no ORM
    ids = db.session.execute(sa.insert(tickets).returning(tickets.c.id, sort_by_parameter_order=True),
                             [row for row, _events in stood]).scalars().all()
    db.session.execute(sa.insert(events), [
        dict(event, ticket_id=ticket_id) for ticket_id, (_row, kept) in zip(ids, stood) for event in kept])
