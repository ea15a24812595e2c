"""The figures on each role's home page, each query scoped to what the user may see."""
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa

from partnernet.extensions import db
from partnernet.network.models import Certification, Engineer, Party
from partnernet.scope import scoped
from partnernet.tickets.models import OPEN_STATUSES, Ticket


def count_by(model, column, user, *where):
    statement = sa.select(column, sa.func.count()).where(*where).group_by(column)
    return dict(db.session.execute(scoped(statement, model, user)).all())


def hq_summary(user) -> dict:
    return {
        "partners_by_status": count_by(Party, Party.status, user, Party.kind != "hq"),
        "partners_by_kind": count_by(Party, Party.kind, user, Party.kind != "hq"),
        "open_tickets_by_status": count_by(Ticket, Ticket.status, user, Ticket.status.in_(OPEN_STATUSES)),
        "pending_reviews": count_by(Certification, Certification.status, user).get("pending", 0),
        "engineers": db.session.execute(scoped(
            sa.select(sa.func.count(Engineer.id)).where(Engineer.active), Engineer, user)).scalar_one(),
    }


def offers_waiting(user) -> list[Ticket]:
    statement = (sa.select(Ticket)
                 .where(Ticket.status == "offered", Ticket.offered_party_id == user.party_id)
                 .order_by(Ticket.offer_deadline))
    return list(db.session.execute(scoped(statement, Ticket, user)).scalars())


def open_tickets(user, limit=20) -> list[Ticket]:
    statement = (sa.select(Ticket)
                 .where(Ticket.status.in_(OPEN_STATUSES), Ticket.status != "offered")
                 .order_by(Ticket.created_at.desc()).limit(limit))
    return list(db.session.execute(scoped(statement, Ticket, user)).scalars())


def certifications_expiring(user, today: date, days: int) -> list[Certification]:
    statement = (sa.select(Certification)
                 .where(Certification.status == "valid",
                        Certification.expires_on.between(today, today + timedelta(days=days)))
                 .order_by(Certification.expires_on))
    return list(db.session.execute(scoped(statement, Certification, user)).scalars())


@dataclass
class OwnCertificate:
    certification: Certification
    days_left: int       # until the expiry date, in China; negative once expired
    needs_renewal: bool  # expiring within the reminder days, or expired, and no renewal submitted


def own_certifications(user, today: date, reminder_days: int) -> list[OwnCertificate]:
    """The user's certificates, those to renew first (the most urgent first), then the rest, latest
    expiry first. A certificate needs renewal when it is valid and expires within `reminder_days`,
    or has expired, unless a later one for its product line is valid or pending review."""
    statement = sa.select(Certification).order_by(Certification.expires_on.desc(), Certification.id.desc())
    certifications = list(db.session.execute(scoped(statement, Certification, user)).scalars())
    latest = {}  # product line -> the latest expiry of a certificate that is, or may become, valid
    for cert in certifications:
        if cert.status in ("valid", "pending"):
            latest[cert.product_line_id] = max(cert.expires_on, latest.get(cert.product_line_id, cert.expires_on))
    own = []
    for cert in certifications:
        days_left = (cert.expires_on - today).days
        due = (cert.status == "valid" and days_left <= reminder_days) or cert.status == "expired"
        renewed = latest.get(cert.product_line_id, cert.expires_on) > cert.expires_on
        own.append(OwnCertificate(cert, days_left, due and not renewed))
    return ([c for c in reversed(own) if c.needs_renewal]  # the soonest expiry first
            + [c for c in own if not c.needs_renewal])
