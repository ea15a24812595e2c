"""The HQ dashboard's figures: each an aggregate in SQL over tickets and their events, with the
filtered list behind it one click away. Days and weeks are counted in China."""
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from partnernet.db_types import china_date
from partnernet.extensions import db
from partnernet.network.models import Certification, Engineer, Party
from partnernet.tickets.models import OPEN_STATUSES, Ticket, TicketEvent
from partnernet.timeclock import today_in_china

SLA_KINDS = ("response_met", "response_breached", "resolution_met", "resolution_breached")


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def since(day: date) -> datetime:
    """The UTC instant at which `day` starts in China."""
    from partnernet.audit.measures import period_bounds
    return period_bounds(day, day)[0]


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
    day = china_date(TicketEvent.at)
    rows = db.session.execute(
        sa.select(day, TicketEvent.kind, sa.func.count())
        .where(TicketEvent.kind.in_(SLA_KINDS), TicketEvent.at >= since(first))
        .group_by(day, TicketEvent.kind)).all()
    for settled, kind, count in rows:
        settled = date.fromisoformat(settled) if isinstance(settled, str) else settled
        week = result.get(monday(settled))
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
    hq = sa.select(Party.id).where(Party.kind == "hq").scalar_subquery()
    day = china_date(TicketEvent.at)
    by_hq = TicketEvent.party_id == hq
    rows = db.session.execute(
        sa.select(day, by_hq, sa.func.count())
        .where(TicketEvent.kind == "status_changed", TicketEvent.to_status == "resolved",
               TicketEvent.at >= since(first))
        .group_by(day, by_hq)).all()
    for resolved, served_by_hq, count in rows:
        resolved = date.fromisoformat(resolved) if isinstance(resolved, str) else resolved
        if resolved in result:
            if served_by_hq:
                result[resolved].by_hq += count
            else:
                result[resolved].by_partner += count
    return list(result.values())


def open_by_status() -> dict:
    return dict(db.session.execute(sa.select(Ticket.status, sa.func.count())
                                   .where(Ticket.status.in_(OPEN_STATUSES)).group_by(Ticket.status)).all())


def queue_by_cause() -> dict:
    return dict(db.session.execute(sa.select(Ticket.hq_queue_cause, sa.func.count())
                                   .where(Ticket.status == "hq_queue").group_by(Ticket.hq_queue_cause)).all())


def top_push_back(today: date, now: datetime, limit: int = 5, min_offers: int = 5):
    """This month's partners with the highest push-back rate (at least `min_offers` offers)."""
    from partnernet.audit.measures import measure_partners
    measures = [m for m in measure_partners(today.replace(day=1), today, now) if m.offered >= min_offers]
    measures.sort(key=lambda m: (-(m.push_back_rate or 0), -m.offered, m.party_id))
    top = measures[:limit]
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
        "top_push_back": top_push_back(today, now),
        "certifications": certification_counts(today, reminder_days),
        "reminder_days": reminder_days,
        "month_start": today.replace(day=1), "today": today,
    }
