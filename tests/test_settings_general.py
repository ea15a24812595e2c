"""The general settings page (hq_admin): what it changes takes effect at once, with who changed it."""
from decimal import Decimal

import sqlalchemy as sa

from partnernet.extensions import db
from partnernet.settings.models import Setting
from partnernet.settings.service import load_settings
from tests import factories
from tests.test_audit_pages import input_value

VALID = {"offer_deadline_minutes": "10", "onsite_threshold_cny": "80000", "free_service_months": "12",
         "audit_threshold": "25", "audit_min_offers": "10", "audit_sold_not_served_threshold": "30",
         "certification_reminder_days": "45", "audit_satisfaction_threshold": "60",
         "audit_satisfaction_min_answers": "10", "priority_branch": "2", "priority_joint_venture": "1",
         "priority_franchisee": "3", "priority_agent": "4", "service_fee_rate": "18",
         "callback_share": "10", "remind_offer_half_way": "y", "tell_hq_expired_offers": "y",
         "sla_warning_percent": "80", "tell_hq_breaches": "y"}


def test_an_admin_changes_settings_and_they_apply_at_once_recorded_with_who_changed_them(client, login_as, app):
    admin = factories.user("hq_admin")
    login_as(admin)
    page = client.get("/settings/").get_data(as_text=True)
    assert 'name="offer_deadline_minutes"' in page and 'value="15"' in page
    assert client.post("/settings/", data=VALID).status_code == 302
    settings = load_settings()
    assert (settings["offer_deadline_minutes"], settings["onsite_threshold_cny"], settings["audit_threshold"],
            settings["certification_reminder_days"]) == (10, "80000.00", "0.25", 45)
    assert settings["kind_priority"] == {"branch": 2, "joint_venture": 1, "franchisee": 3, "agent": 4}
    stored = db.session.execute(sa.select(Setting.key, Setting.updated_by_id)
                                .where(Setting.updated_by_id.is_not(None))).all()
    # Only what changed is written, each with the admin who changed it.
    assert sorted(stored) == sorted((key, admin.id) for key in (
        "offer_deadline_minutes", "onsite_threshold_cny", "audit_threshold", "certification_reminder_days",
        "kind_priority"))


def test_bad_settings_are_form_errors_and_change_nothing(client, login_as, app):
    login_as(factories.user("hq_admin"))
    for field, value in (("offer_deadline_minutes", "0"), ("audit_threshold", "150"), ("audit_threshold", "sNaN"),
                         ("priority_agent", "x"), ("onsite_threshold_cny", "-1"), ("certification_reminder_days", ""),
                         ("service_fee_rate", "25"), ("service_fee_rate", "10"), ("service_fee_rate", "NaN")):
        response = client.post("/settings/", data={**VALID, field: value})
        assert response.status_code == 422 and "invalid-feedback" in response.get_data(as_text=True), (field, value)
    assert changed_by_anyone() == 0


def test_only_an_hq_admin_may_change_settings(client, login_as, app):
    login_as(factories.user("hq_manager"))
    assert client.get("/settings/").status_code == 403
    assert client.post("/settings/", data=VALID).status_code == 403
    assert changed_by_anyone() == 0


def changed_by_anyone() -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(Setting)
                              .where(Setting.updated_by_id.is_not(None))).scalar()


def test_the_annual_service_fee_follows_the_rate_hq_sets_within_15_to_20_percent(client, login_as, app):
    customer = factories.customer()
    factories.contract(customer, value=Decimal("100000.00"))
    login_as(factories.user("hq_admin"))
    assert "18,000.00" in client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert client.post("/settings/", data={**VALID, "service_fee_rate": "20"}).status_code == 302
    assert Decimal(load_settings()["service_fee_rate"]) == Decimal("0.2")
    assert "20,000.00" in client.get(f"/customers/{customer.id}").get_data(as_text=True)


def test_shares_are_shown_and_typed_as_percentages_and_stored_as_fractions(client, login_as, app):
    login_as(factories.user("hq_admin"))
    page = client.get("/settings/").get_data(as_text=True)
    for name, shown in (("audit_threshold", "20"), ("audit_sold_not_served_threshold", "30"), ("service_fee_rate", "18")):
        assert input_value(page, name) == shown, name
    for field, value in (("audit_threshold", "150"), ("audit_threshold", "-5"), ("service_fee_rate", "25")):
        assert client.post("/settings/", data={**VALID, field: value}).status_code == 422, (field, value)
    assert changed_by_anyone() == 0
    assert client.post("/settings/", data={**VALID, "audit_threshold": "22.5%", "service_fee_rate": "16"}).status_code == 302
    settings = load_settings()
    assert (settings["audit_threshold"], settings["service_fee_rate"]) == ("0.225", "0.16")


def test_an_onsite_threshold_that_is_not_a_number_says_so_not_that_it_is_a_share(client, login_as, app):
    login_as(factories.user("hq_admin"))
    client.post("/language", data={"locale": "en"})
    page = client.post("/settings/", data={**VALID, "onsite_threshold_cny": "NaN"}).get_data(as_text=True)
    assert "Give a number." in page and "between 0 and 1" not in page
    assert changed_by_anyone() == 0
