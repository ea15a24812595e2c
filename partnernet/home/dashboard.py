"""The HQ dashboard's figures: each an aggregate in SQL over tickets and their events, with the
filtered list behind it one click away. Days and weeks are counted in China."""
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from partnernet.extensions import db
from partnernet.network.models import Certification, Engineer, Party
from partnernet.tickets import daily
from partnernet.tickets.models import OPEN_STATUSES, Ticket
from partnernet.timeclock import today_in_china



def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


@dataclass
class SlaWeek:
    monday: date
    response_met: int = 0
    response_breached: int = 0
    resolution_met: int = 0
    resolution_breached: int = 0

    @staticmethod
    def rate(met: int, breached: int) -> float | None:
        return met / (met + breached) if met + breached else None

    @property
    def response(self) -> float | None:
        return self.rate(self.response_met, self.response_breached)

    @property
    def resolution(self) -> float | None:
        return self.rate(self.resolution_met, self.resolution_breached)


def sla_weeks(today: date, weeks: int = 12) -> list[SlaWeek]:
    """Targets met and breached per week (by the day the target was settled), oldest first."""
    first = monday(today) - timedelta(weeks=weeks - 1)
    result = {first + timedelta(weeks=i): SlaWeek(first + timedelta(weeks=i)) for i in range(weeks)}
    for settled, kind, _party, count in daily.per_day(daily.SLA_KINDS, first):
        week = result.get(monday(daily.as_date(settled)))
        if week is not None:
            setattr(week, kind, getattr(week, kind) + count)
    return list(result.values())


@dataclass
class Day:
    day: date
    by_partner: int = 0
    by_hq: int = 0


def resolved_per_day(today: date, days: int = 30) -> list[Day]:
    """Tickets resolved per day, by a partner or by HQ, oldest first."""
    first = today - timedelta(days=days - 1)
    result = {first + timedelta(days=i): Day(first + timedelta(days=i)) for i in range(days)}
    hq = db.session.execute(sa.select(Party.id).where(Party.kind == "hq")).scalar()
    for resolved, _kind, party_id, count in daily.per_day((daily.RESOLVED,), first):
        day = result.get(daily.as_date(resolved))
        if day is None:
            continue
        if party_id == hq:
            day.by_hq += count
        else:
            day.by_partner += count
    return list(result.values())


def open_by_status() -> dict:
    return dict(db.session.execute(sa.select(Ticket.status, sa.func.count())
                                   .where(Ticket.status.in_(OPEN_STATUSES)).group_by(Ticket.status)).all())


def queue_by_cause() -> dict:
    return dict(db.session.execute(sa.select(Ticket.hq_queue_cause, sa.func.count())
                                   .where(Ticket.status == "hq_queue").group_by(Ticket.hq_queue_cause)).all())


def top_push_back(today: date, limit: int = 5, min_offers: int = 5):
    """This month's partners with the highest push-back rate (at least `min_offers` offers), counted
    as the audit counts them (partnernet.audit.measures), from the daily counts."""
    from partnernet.audit.measures import Measures
    ranked = daily.offers_by_party(today, limit=limit, min_offers=min_offers)
    top = [Measures(party_id, offered=counts.get("offered", 0), accepted=counts.get("accepted", 0),
                    declined=counts.get("declined", 0), expired=counts.get("offer_expired", 0),
                    returned=counts.get("returned_to_hq", 0))
           for party_id, counts in ranked.items()]
    names = dict(db.session.execute(sa.select(Party.id, Party.name).where(
        Party.id.in_([m.party_id for m in top]))).all()) if top else {}
    return [(m, names.get(m.party_id, "")) for m in top]


def certification_counts(today: date, days: int) -> dict:
    expiring = db.session.execute(sa.select(sa.func.count()).select_from(Certification)
                                  .join(Engineer, Engineer.id == Certification.engineer_id)
                                  .where(Certification.status == "valid", Engineer.active,
                                         Certification.expires_on.between(today, today + timedelta(days=days)))
                                  ).scalar_one()
    pending = db.session.execute(sa.select(sa.func.count()).where(Certification.status == "pending")).scalar_one()
    return {"expiring": expiring, "pending": pending}


def hq_dashboard(now: datetime, reminder_days: int) -> dict:
    today = today_in_china(now)
    weeks = sla_weeks(today)
    return {
        "open_by_status": open_by_status(),
        "queue_by_cause": queue_by_cause(),
        "this_week": weeks[-1], "last_week": weeks[-2], "sla_weeks": weeks,
        "resolved_per_day": resolved_per_day(today),
        "top_push_back": top_push_back(today),
        "certifications": certification_counts(today, reminder_days),
        "reminder_days": reminder_days,
        "month_start": today.replace(day=1), "today": today,
    }
