"""Settings, product lines and the working calendar are kept per process for a few seconds: a
change committed in this process is used at once, a change made elsewhere within REFRESH_SECONDS."""
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from partnernet.extensions import db
from partnernet.settings import cache
from partnernet.settings.calendar import import_year_csv, load_days
from partnernet.settings.models import Setting
from partnernet.settings.service import load_settings
from partnernet.tickets import service
from tests import factories

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)  # a Wednesday, 10:00 in China


@pytest.fixture
def clock(monkeypatch):
    """The cache's clock, moved on by hand."""
    now = [1000.0]
    monkeypatch.setattr(cache, "clock", lambda: now[0])
    return now


def offered_ticket():
    partner = factories.partner()
    factories.coverage(partner, "330106", tiers=["L1", "L2"])
    factories.certification(factories.engineer(partner), "workflow", issued_on=date(2024, 1, 1),
                            expires_on=date(2027, 12, 31))
    customer = factories.customer(region_code="330106")
    factories.contract(customer, starts_on=date(2026, 6, 1))
    return service.intake(service.IntakeRequest(customer.id, "workflow", "simple", "phone", "审批流无法提交", tier="L2"),
                          None, NOW)


def test_a_setting_saved_in_this_process_applies_to_the_next_ticket(app, clock):
    assert offered_ticket().offer_deadline == NOW + timedelta(minutes=15)
    db.session.get(Setting, "offer_deadline_minutes").value = 30
    db.session.commit()
    assert offered_ticket().offer_deadline == NOW + timedelta(minutes=30)  # the clock has not moved


def test_a_setting_changed_elsewhere_is_used_once_the_refresh_time_has_passed(app, clock):
    assert load_settings()["offer_deadline_minutes"] == 15
    other_process = sa.create_engine(db.engine.url)  # its own connection, outside this session
    with other_process.begin() as connection:
        connection.execute(sa.update(Setting.__table__).where(Setting.__table__.c.key == "offer_deadline_minutes")
                           .values(value=45))
    other_process.dispose()
    clock[0] += cache.REFRESH_SECONDS - 1
    assert load_settings()["offer_deadline_minutes"] == 15
    clock[0] += 2
    assert load_settings()["offer_deadline_minutes"] == 45


def test_a_calendar_import_is_used_at_once(app, clock):
    assert load_days(date(2027, 10, 1), date(2027, 10, 9)).is_working(date(2027, 10, 4))  # a Monday
    assert import_year_csv("date,is_working,note\n2027-10-04,0,国庆节\n2027-10-09,1,调休\n").ok
    days = load_days(date(2027, 10, 1), date(2027, 10, 9))
    assert not days.is_working(date(2027, 10, 4)) and days.is_working(date(2027, 10, 9))


def test_a_change_rolled_back_leaves_the_cache_as_it_was(app, clock):
    load_settings()
    db.session.get(Setting, "offer_deadline_minutes").value = 30
    db.session.flush()
    db.session.rollback()
    db.session.add(factories.customer())  # an unrelated commit afterwards
    db.session.commit()
    assert cache.KEY in app.extensions and load_settings()["offer_deadline_minutes"] == 15


def test_a_product_line_retired_in_this_process_takes_no_new_ticket_at_once(app, clock):
    from partnernet.errors import ValidationFailed
    from partnernet.network.models import ProductLine
    from partnernet.network.service import active_product_line_id
    assert active_product_line_id("workflow") is not None
    line = db.session.execute(sa.select(ProductLine).where(ProductLine.code == "workflow")).scalar_one()
    line.active = False
    db.session.commit()
    assert active_product_line_id("workflow") is None  # the clock has not moved
    with pytest.raises(ValidationFailed):
        offered_ticket()
