"""HQ's settings: the calendar warning, editing a day, importing a year, SLA policies."""
import io
from datetime import date

from partnernet.extensions import db
from partnernet.settings.models import CalendarDay, SlaPolicy
from tests import factories


def test_dashboard_warns_about_a_year_without_calendar(client, login_as, app):
    login_as(factories.user("hq_manager"))
    page = client.get("/hq").get_data(as_text=True)
    assert 'data-testid="calendar-warning"' in page and "2027" in page  # the package stops at 2026


def test_hq_admin_imports_next_years_arrangement_and_the_warning_goes(client, login_as, app):
    login_as(factories.user("hq_admin"))
    csv = "date,is_working,note\n2027-01-01,0,元旦\n2027-02-06,1,调休\n"
    response = client.post("/settings/calendar/import", data={"file": (io.BytesIO(csv.encode()), "2027.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    assert db.session.get(CalendarDay, date(2027, 2, 6)).is_working
    assert db.session.get(CalendarDay, date(2027, 1, 1)).is_working is False
    assert 'data-testid="calendar-warning"' not in client.get("/hq").get_data(as_text=True)


def test_a_bad_calendar_row_imports_nothing(client, login_as, app):
    login_as(factories.user("hq_admin"))
    csv = "date,is_working\n2027-01-01,0\n2027-13-40,1\n"
    client.post("/settings/calendar/import", data={"file": (io.BytesIO(csv.encode()), "2027.csv")},
                content_type="multipart/form-data")
    assert db.session.get(CalendarDay, date(2027, 1, 1)) is None


def test_hq_admin_edits_one_day(client, login_as, app):
    login_as(factories.user("hq_admin"))
    client.post("/settings/calendar/day", data={"day": "2026-12-31", "is_working": "off", "note": "公司年会"})
    row = db.session.get(CalendarDay, date(2026, 12, 31))
    assert (row.is_working, row.note, row.source) == (False, "公司年会", "manual")


def test_only_hq_admin_edits_settings(client, login_as, app):
    login_as(factories.user("hq_manager"))
    assert client.get("/settings/calendar").status_code == 403
    assert client.post("/settings/sla-policies", data={}).status_code == 403


def test_hq_admin_changes_a_policy_target(client, login_as, app):
    login_as(factories.user("hq_admin"))
    policy = db.session.execute(db.select(SlaPolicy).where(SlaPolicy.code == "business-hours")).scalar_one()
    prefix = f"p{policy.id}-"
    response = client.post("/settings/sla-policies", data={
        "policy_id": policy.id, prefix + "day_start": "08:30", prefix + "day_end": "17:30",
        prefix + "response_minutes": "20", prefix + "resolution_simple_minutes": "60",
        prefix + "resolution_complex_minutes": "480"})
    assert response.status_code == 302
    db.session.refresh(policy)
    assert policy.response_minutes == 20 and policy.day_start.hour == 8
    bad = client.post("/settings/sla-policies", data={
        "policy_id": policy.id, prefix + "day_start": "18:00", prefix + "day_end": "09:00",
        prefix + "response_minutes": "20", prefix + "resolution_simple_minutes": "60",
        prefix + "resolution_complex_minutes": "480"})
    assert bad.status_code == 200
    db.session.refresh(policy)
    assert policy.day_start.hour == 8


def test_a_calendar_day_without_a_date_keeps_what_was_chosen_and_says_so_once(client, login_as, app):
    from tests.test_ticket_pages import error_messages, selected
    login_as(factories.user("hq_admin"))
    response = client.post("/settings/calendar/day", data={"day": "", "is_working": "off", "note": "公司年会"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert selected(page, "is_working") == ["off"] and 'value="公司年会"' in page
    assert len(error_messages(page)) == 1
