"""The scheduler's jobs call the real services; here with a controlled clock."""
from datetime import date, datetime, timedelta, timezone

import pytest

from partnernet import scheduler
from partnernet.extensions import db
from partnernet.network.models import Certification
from partnernet.network.service import expire_lapsed_certifications
from partnernet.tickets.models import Ticket
from tests import factories
from tests.test_tickets import NOW, certified_partner, open_ticket

pytestmark = pytest.mark.usefixtures("invariants")  # checked after every scenario


def test_lapsed_certifications_expire_the_day_after_their_expiry_date(app):
    engineer = factories.engineer(factories.partner())
    cert = factories.certification(engineer, issued_on=date(2024, 1, 1), expires_on=date(2026, 11, 24))
    assert expire_lapsed_certifications(date(2026, 11, 24)) == 0
    assert expire_lapsed_certifications(date(2026, 11, 25)) == 1
    assert db.session.get(Certification, cert.id).status == "expired"
    assert expire_lapsed_certifications(date(2026, 11, 25)) == 0


def test_the_offer_job_expires_due_offers(app, monkeypatch):
    certified_partner()
    ticket = open_ticket()
    monkeypatch.setattr(scheduler, "now_utc", lambda: NOW + timedelta(minutes=20))
    scheduler.expire_offers_job(app)
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).status == "hq_queue"


def test_the_nightly_job_purges_idempotency_keys_older_than_a_day(app, monkeypatch):
    from partnernet.api.models import IdempotencyKey
    user = factories.user("hq_agent")
    for key, age in (("old", timedelta(hours=25)), ("fresh", timedelta(hours=23))):
        db.session.add(IdempotencyKey(user_id=user.id, key=key, fingerprint="f" * 64, created_at=NOW - age))
    db.session.commit()
    monkeypatch.setattr(scheduler, "now_utc", lambda: NOW)
    scheduler.purge_idempotency_keys_job(app)
    assert [k.key for k in db.session.execute(db.select(IdempotencyKey)).scalars()] == ["fresh"]
