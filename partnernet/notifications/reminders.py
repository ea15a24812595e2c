"""Reminders the scheduler sends about what is about to lapse (a ticket's: partnernet.tickets.reminders)."""
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from partnernet.auth.models import User
from partnernet.extensions import db
from partnernet.labels import product_line_name
from partnernet.network.models import Certification, Engineer
from partnernet.notifications.providers import Card
from partnernet.notifications.robots import post_to_party, public_link
from partnernet.notifications.service import notify_each


def remind_expiring_certifications(today: date, days: int, now: datetime) -> int:
    """Tell engineers (with a login) and their partner's administrators, in the app and by e-mail,
    and their partner's groups by a card, once per certificate, that a valid certification expires
    within `days`."""
    expiring = db.session.execute(
        sa.select(Certification).join(Engineer, Engineer.id == Certification.engineer_id)
        .where(Certification.status == "valid", Engineer.active,
               Certification.expires_on.between(today, today + timedelta(days=days)))).scalars().all()
    if not expiring:
        return 0
    party_ids = {c.engineer.party_id for c in expiring}
    users = db.session.execute(sa.select(User).where(User.active, User.party_id.in_(party_ids), sa.or_(
        User.role == "partner_admin", User.engineer_id.in_({c.engineer_id for c in expiring})))).scalars().all()
    sent = 0
    for cert in expiring:
        recipients = [user for user in users if user.party_id == cert.engineer.party_id
                      and (user.role != "engineer" or user.engineer_id == cert.engineer_id)]
        key = f"certification_expiring:{cert.id}:{cert.expires_on.isoformat()}"

        def render():
            return (_("Certification of %(name)s expires on %(day)s", name=cert.engineer.name, day=cert.expires_on),
                    _("%(line)s certificate %(number)s: submit the renewal now so that HQ can approve it in time.",
                      line=product_line_name(cert.product_line), number=cert.number))

        sent += notify_each(recipients, "certification_expiring", key, render, f"/engineers/{cert.engineer_id}", now)
        post_to_party(cert.engineer.party_id, "certification_expiring", key,
                      lambda: certificate_card(cert, render), now)
    db.session.commit()
    return sent


def certificate_card(cert: Certification, render) -> Card:
    """The reminder as the partner's group reads it, with a link to the engineer's page."""
    title, line = render()
    return Card(title, (line,), public_link(f"/engineers/{cert.engineer_id}"), _("Open the engineer's page"))
