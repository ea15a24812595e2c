"""The change log: every privileged change to users, API tokens, settings, SLA policies and the
calendar is an event with the acting user (docs/design.md, roles), shown to hq_admin on /settings/changes."""
import io
import re

import sqlalchemy as sa

from partnernet.auth.models import ApiToken, User
from partnernet.extensions import db
from partnernet.settings.models import ChangeEvent, SlaPolicy
from tests import factories
from tests.test_settings_general import VALID


def logged(**where) -> list[tuple]:
    """(kind, actor, user, target, data) of the events matching `where`, oldest first."""
    statement = sa.select(ChangeEvent).order_by(ChangeEvent.id)
    for name, value in where.items():
        statement = statement.where(getattr(ChangeEvent, name) == value)
    return [(e.kind, e.actor_user_id, e.user_id, e.target, e.data) for e in db.session.execute(statement).scalars()]


def test_an_admins_changes_to_a_user_are_logged_with_before_and_after_and_a_refused_one_is_not(client, login_as, app):
    admin = factories.user("hq_admin")
    agent = factories.user("hq_agent")
    login_as(admin)
    assert client.post(f"/users/{agent.id}", data={"role": "hq_manager", "active": "y"}).status_code == 302
    assert client.post(f"/users/{agent.id}", data={"role": "hq_manager"}).status_code == 302  # deactivated
    assert client.post(f"/users/{agent.id}", data={"role": "hq_manager"}).status_code == 302  # nothing changes
    assert client.post(f"/users/{agent.id}/password", data={"password": "a new and long secret"}).status_code == 302
    assert client.post(f"/users/{admin.id}", data={"role": "hq_agent", "active": "y"}).status_code == 422  # own rights
    assert client.post(f"/users/{agent.id}/password", data={"password": "short"}).status_code == 422
    assert logged(user_id=agent.id) == [
        ("user_changed", admin.id, agent.id, agent.email, {"role": ["hq_agent", "hq_manager"]}),
        ("user_changed", admin.id, agent.id, agent.email, {"active": [True, False]}),
        ("password_set", admin.id, agent.id, agent.email, None),
    ]
    assert logged(user_id=admin.id) == []
    # The log shows them, newest first, and the password itself nowhere.
    client.post("/language", data={"locale": "en"})
    page = client.get("/settings/changes", query_string={"user": agent.id}).get_data(as_text=True)
    rows = page.split('data-testid="change-log"')[1].split("<tbody>")[1].split("</tbody>")[0].split("<tr>")[1:]
    assert len(rows) == 3 and "Password set" in rows[0] and admin.email in rows[0]
    assert re.search(r"Active: yes\s*→\s*no", rows[1]) and "Channel manager" in rows[2]
    assert "a new and long secret" not in page


def test_settings_and_sla_policy_changes_are_logged_with_what_they_were_and_became(client, login_as, app):
    admin = factories.user("hq_admin")
    login_as(admin)
    assert client.post("/settings/", data=VALID).status_code == 302
    assert client.post("/settings/", data=VALID).status_code == 302  # the same again: nothing changes
    settings = {target: data for _kind, _actor, _user, target, data in logged(kind="setting_changed", actor_user_id=admin.id)}
    assert settings["offer_deadline_minutes"] == {"from": 15, "to": 10}
    assert settings["audit_threshold"] == {"from": "0.20", "to": "0.25"}
    assert settings["kind_priority"]["to"] == {"branch": 2, "joint_venture": 1, "franchisee": 3, "agent": 4}
    assert set(settings) == {"offer_deadline_minutes", "onsite_threshold_cny", "audit_threshold",
                             "certification_reminder_days", "kind_priority"}

    policy = db.session.execute(sa.select(SlaPolicy).where(SlaPolicy.code == "business-hours")).scalar_one()
    prefix = f"p{policy.id}-"
    form = {"policy_id": policy.id, prefix + "day_start": "08:30", prefix + "day_end": "18:00",
            prefix + "response_minutes": "20", prefix + "resolution_simple_minutes": "60",
            prefix + "resolution_complex_minutes": "480"}
    assert client.post("/settings/sla-policies", data=form).status_code == 302
    assert client.post("/settings/sla-policies", data=form).status_code == 302
    assert client.post("/settings/sla-policies", data={**form, prefix + "day_end": "08:00"}).status_code == 200  # refused
    assert logged(kind="sla_policy_changed") == [("sla_policy_changed", admin.id, None, "business-hours", {
        "day_start": ["09:00", "08:30"], "response_minutes": [30, 20]})]
    page = client.get("/settings/changes").get_data(as_text=True)
    assert "business-hours" in page and "08:30" in page


def test_calendar_edits_and_imports_are_logged_from_the_page_and_the_command_line(client, login_as, app):
    admin = factories.user("hq_admin")
    login_as(admin)
    client.post("/settings/calendar/day", data={"day": "2026-12-31", "is_working": "off", "note": "公司年会"})
    csv = "date,is_working,note\n2027-10-01,0,国庆节\n2027-09-26,1,调休\n"
    client.post("/settings/calendar/import", data={"file": (io.BytesIO(csv.encode()), "2027.csv")},
                content_type="multipart/form-data")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["calendar", "set", "2027-10-09", "working", "--note", "调休"]).exit_code == 0
    assert logged(kind="calendar_day_set") == [
        ("calendar_day_set", admin.id, None, "2026-12-31",
         {"from": {"is_working": True, "note": None}, "to": {"is_working": False, "note": "公司年会"}}),
        ("calendar_day_set", None, None, "2027-10-09",
         {"from": {"is_working": False, "note": None}, "to": {"is_working": True, "note": "调休"}}),
    ]
    assert logged(kind="calendar_imported") == [("calendar_imported", admin.id, None, "2027", {
        "days": 365, "days_off_on_weekdays": 1, "working_weekend_days": 1})]
    page = client.get("/settings/changes").get_data(as_text=True)
    assert "公司年会" in page and "2027-10-09" in page


def test_api_tokens_are_logged_when_issued_and_revoked_on_the_profile_page_and_the_command_line(client, login_as, app):
    user = factories.user("partner_admin", party=factories.partner())
    login_as(user)
    assert client.post("/profile/tokens", data={"name": "ERP 对接"}).status_code == 200
    token = db.session.execute(sa.select(ApiToken).where(ApiToken.user_id == user.id)).scalar_one()
    assert client.post(f"/profile/tokens/{token.id}/revoke").status_code == 302
    assert client.post(f"/profile/tokens/{token.id}/revoke").status_code == 302  # revoked already: nothing new
    runner = app.test_cli_runner()
    assert runner.invoke(args=["tokens", "create", user.email, "--name", "nightly"]).exit_code == 0
    assert [(kind, actor, owner, target) for kind, actor, owner, target, _data in logged(user_id=user.id)] == [
        ("token_created", user.id, user.id, "ERP 对接"),
        ("token_revoked", user.id, user.id, "ERP 对接"),
        ("token_created", None, user.id, "nightly"),
    ]
    client.post("/logout")
    login_as(factories.user("hq_admin"))
    page = client.get("/settings/changes", query_string={"kind": "token_created"}).get_data(as_text=True)
    assert "“ERP 对接”" in page and "“nightly”" in page and "ERP 对接" in page.split("nightly")[1]  # newest first


def test_users_created_and_changed_from_the_command_line_are_logged_without_an_actor(app):
    runner = app.test_cli_runner()
    created = runner.invoke(args=["users", "create", "ops@hq.example", "--role", "hq_agent"],
                            input="a long enough secret\n")
    assert created.exit_code == 0, created.output
    user = db.session.execute(sa.select(User).where(User.email == "ops@hq.example")).scalar_one()
    assert runner.invoke(args=["users", "deactivate", user.email]).exit_code == 0
    assert runner.invoke(args=["users", "set-password", user.email], input="another long secret\n").exit_code == 0
    assert [(kind, actor, data) for kind, actor, _user, _target, data in logged(user_id=user.id)] == [
        ("user_created", None, {"role": "hq_agent", "party_id": user.party_id}),
        ("user_changed", None, {"active": [True, False]}),
        ("password_set", None, None),
    ]


def test_an_engineer_login_that_follows_its_record_is_logged_as_the_partner_admins_change(client, login_as, app):
    partner = factories.partner()
    engineer = factories.engineer(partner)
    admin = factories.user("partner_admin", party=partner)
    login_as(admin)
    response = client.post(f"/engineers/{engineer.id}/login", data={"email": "wang@partner.example",
                                                                     "password": "a long enough secret"})
    assert response.status_code == 302
    login = db.session.execute(sa.select(User).where(User.engineer_id == engineer.id)).scalar_one()
    assert client.post(f"/engineers/{engineer.id}/edit", data={"name": engineer.name}).status_code == 302  # inactive
    assert [(kind, actor, data) for kind, actor, _user, _target, data in logged(user_id=login.id)] == [
        ("user_created", admin.id, {"role": "engineer", "party_id": partner.id}),
        ("user_changed", admin.id, {"active": [True, False], "via": "engineer_record"}),
    ]


def test_the_log_pages_and_filters_by_kind(client, login_as, app):
    admin = factories.user("hq_admin")
    login_as(admin)
    for n in range(55):
        client.post("/settings/calendar/day", data={"day": f"2030-01-{n % 28 + 1:02d}", "is_working": "off"})
    client.post("/settings/", data=VALID)
    first = client.get("/settings/changes").get_data(as_text=True)
    assert first.count("<tr>") == 51  # the header and 50 events
    following = re.search(r'rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = client.get(following).get_data(as_text=True)
    assert second.count("<tr>") == 1 + 60 - 50
    only = client.get("/settings/changes", query_string={"kind": "setting_changed"}).get_data(as_text=True)
    assert only.count("<tr>") == 1 + 5 and "2030-01-" not in only
    assert re.search(r"15\s*→\s*10", only)


def test_the_log_of_a_user_that_does_not_exist_is_a_404(client, login_as, app):
    login_as(factories.user("hq_admin"))
    for user in ("999999", str(2**40), "-3", "0"):
        assert client.get("/settings/changes", query_string={"user": user}).status_code == 404, user
    assert client.get("/settings/changes", query_string={"user": "x", "kind": "nonsense"}).status_code == 200


def test_the_log_names_a_contracts_product_lines_in_the_readers_language(client, login_as, app):
    from datetime import date, datetime, timezone
    from decimal import Decimal

    from partnernet.customers import service
    customer = factories.customer()
    now = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)
    contract = service.create_contract(customer, {"product_lines": ["workflow", "oa-core"], "value": Decimal("60000"),
                                                  "starts_on": date(2026, 11, 1), "sla_policy": "business-hours"}, now)
    service.update_contract(contract, {"product_lines": ["workflow"], "value": contract.value,
                                       "starts_on": contract.starts_on, "sla_policy": "business-hours"}, now, None)
    login_as(factories.user("hq_admin"))
    page = client.get("/settings/changes").get_data(as_text=True)
    assert "OA 核心平台, 流程与表单" in page  # created
    assert "OA 核心平台, 流程与表单 → 流程与表单" in page  # corrected
    assert "oa-core" not in page and "workflow" not in page
