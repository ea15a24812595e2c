"""The audit pages: starting a run, the scorecard and its exports, deciding, the partner's side
(its own findings only, the tickets behind them, its answers), and the partner page's history
and weekly chart."""
import csv
import io
from datetime import datetime, time, timedelta, timezone

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from partnernet.audit import service as audit
from partnernet.audit.models import AuditDecision, AuditResponse, AuditRun
from partnernet.audit.scorecard import weekly_push_back
from partnernet.extensions import db
from partnernet.network.models import Party
from partnernet.tickets.models import Ticket
from partnernet.timeclock import CHINA, now_utc
from tests import factories
from tests.test_audit import IN_WEEK, WEEK, finding_of, flagged_finding, offer_history, run_week
from tests.test_tickets import certified_partner, open_ticket


def page_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_a_channel_manager_starts_a_run_from_the_page_and_sees_the_flagged_partners(client, login_as, app):
    pushy = factories.partner(name="推诿代理商")
    offer_history(pushy, offered=100, declined=30, returned=10)
    steady = factories.partner(name="勤恳服务商")
    offer_history(steady, offered=50, declined=1)
    login_as(factories.user("hq_manager"))

    form = page_of(client.get("/audits"))
    first_of_this_month = now_utc().astimezone(CHINA).date().replace(day=1)
    last_month_end = first_of_this_month - timedelta(days=1)
    assert f'value="{last_month_end.replace(day=1).isoformat()}"' in form   # last month by default
    assert f'value="{last_month_end.isoformat()}"' in form
    assert 'value="20"' in form and 'value="10"' in form and 'value="30"' in form  # from the settings, in per cent

    response = client.post("/audits", data={
        "period_start": WEEK[0].isoformat(), "period_end": WEEK[1].isoformat(),
        "threshold": "20", "min_offers": "10", "sold_not_served_threshold": "30"})
    assert response.status_code == 302
    run = db.session.execute(sa.select(AuditRun)).scalar_one()
    assert (run.triggered_by, run.period_start, run.period_end) == ("ui", *WEEK)
    scorecard = page_of(client.get(response.headers["Location"]))
    flagged_row = scorecard.split(f'data-party="{pushy.id}"')[0].rsplit("<tr", 1)[1]
    assert "table-warning" in flagged_row
    steady_row = scorecard.split(f'data-party="{steady.id}"')[0].rsplit("<tr", 1)[1]
    assert "table-warning" not in steady_row
    assert 'data-testid="medians"' in scorecard and 'data-testid="awaiting-decision"' in scorecard
    # Flagged first by default; sorted by a measure on request, the partners without a rate last.
    assert scorecard.index("推诿代理商") < scorecard.index("勤恳服务商")
    by_rate = page_of(client.get(f"/audits/{run.id}?sort=push_back_rate&order=asc"))
    assert by_rate.index("勤恳服务商") < by_rate.index("推诿代理商")
    runs = page_of(client.get("/audits"))
    assert f'href="/audits/{run.id}"' in runs and "推诿代理商" in runs  # in the list awaiting a decision


def test_a_run_for_a_period_not_over_is_refused_on_the_page_with_the_reason(client, login_as, app):
    login_as(factories.user("hq_manager"))
    today = now_utc().astimezone(CHINA).date()
    response = client.post("/audits", data={
        "period_start": (today - timedelta(days=3)).isoformat(), "period_end": today.isoformat(),
        "threshold": "20", "min_offers": "10", "sold_not_served_threshold": "30"})
    assert response.status_code == 422
    assert "invalid-feedback" in response.get_data(as_text=True)
    assert db.session.execute(sa.select(sa.func.count(AuditRun.id))).scalar() == 0


@pytest.mark.parametrize("field", ["threshold", "sold_not_served_threshold"])
@pytest.mark.parametrize("value", ["sNaN", "NaN", "-Infinity"])
def test_a_share_that_is_not_a_finite_number_is_a_form_error(client, login_as, app, field, value):
    login_as(factories.user("hq_manager"))
    data = {"period_start": WEEK[0].isoformat(), "period_end": WEEK[1].isoformat(), "threshold": "20",
            "min_offers": "10", "sold_not_served_threshold": "30"}
    response = client.post("/audits", data={**data, field: value})
    assert response.status_code == 422 and "invalid-feedback" in response.get_data(as_text=True)
    assert db.session.execute(sa.select(sa.func.count(AuditRun.id))).scalar() == 0


def test_probation_decided_on_the_page_changes_the_status_and_routes_the_next_ticket_elsewhere(client, login_as, app):
    county, _engineer = certified_partner("330106")
    city, _engineer = certified_partner("330100")
    assert open_ticket().offered_party_id == county.id
    found = flagged_finding(county)
    login_as(factories.user("hq_manager"))
    assert 'name="decision"' in page_of(client.get(f"/findings/{found.id}"))

    response = client.post(f"/findings/{found.id}/decision",
                           data={"decision": "probation", "note": "四成工单被推回，观察一个季度"})

    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Party, county.id).status == "probation"
    assert open_ticket().offered_party_id == city.id
    page = page_of(client.get(f"/findings/{found.id}"))
    assert "四成工单被推回，观察一个季度" in page and 'name="decision"' not in page
    again = client.post(f"/findings/{found.id}/decision", data={"decision": "suspension", "note": "再议"})
    assert again.status_code == 409
    assert db.session.execute(sa.select(sa.func.count(AuditDecision.id))).scalar() == 1


def test_a_partner_admin_sees_its_own_finding_and_answers_it_and_hq_reads_the_answer(client, login_as, app):
    ours = factories.partner(name="我方伙伴")
    history = offer_history(ours, offered=100, declined=40)
    theirs = factories.partner(name="别家伙伴")
    offer_history(theirs, offered=100, declined=50)
    found = finding_of(run_week(), ours)
    customer_name = db.session.get(Ticket, history["declined"][0]).customer.name
    admin = factories.user("partner_admin", party=ours)
    login_as(admin)

    assert f'href="/findings/{found.id}"' in page_of(client.get("/our-findings"))
    assert f'href="/findings/{found.id}"' in page_of(client.get("/partner"))   # the latest finding at home
    page = page_of(client.get(f"/findings/{found.id}"))
    assert 'data-testid="why-flagged"' in page and "我方伙伴" in page
    assert "别家伙伴" not in page and customer_name not in page
    declined = page_of(client.get(f"/findings/{found.id}?tickets=declined"))
    evidence = declined.split('data-testid="evidence"')[1].split("</table>")[0]
    assert all(f"<td>{ticket_id}</td>" in evidence for ticket_id in history["declined"])  # moved on: no link
    assert "审批流无法提交" in evidence   # subject and date, never the customer
    assert 'name="decision"' not in declined

    response = client.post(f"/findings/{found.id}/responses", data={"text": "这些工单超出认证范围，已安排培训。"})
    assert response.status_code == 302
    client.post("/logout")
    login_as(factories.user("hq_manager"))
    page = page_of(client.get(f"/findings/{found.id}"))
    answers = page.split('id="answers"')[1]
    assert "这些工单超出认证范围，已安排培训。" in answers and admin.name in answers
    assert client.post(f"/findings/{found.id}/responses", data={"text": "总部代答"}).status_code == 403
    assert db.session.execute(sa.select(sa.func.count(AuditResponse.id))).scalar() == 1


def test_a_partner_admin_gets_404_for_another_partners_finding_and_403_for_hq_pages(client, login_as, app):
    ours, theirs = factories.partner(), factories.partner()
    offer_history(ours, offered=12, declined=6)
    offer_history(theirs, offered=12, declined=6)
    run = run_week()
    login_as(factories.user("partner_admin", party=ours))
    their_finding = finding_of(run, theirs)
    assert client.get(f"/findings/{their_finding.id}").status_code == 404
    assert client.get(f"/findings/{their_finding.id}?tickets=declined").status_code == 404
    assert client.post(f"/findings/{their_finding.id}/responses", data={"text": "看看"}).status_code == 404
    for url in ("/audits", f"/audits/{run.id}", f"/audits/{run.id}.csv", f"/audits/{run.id}.xlsx"):
        assert client.get(url).status_code == 403, url  # HQ's pages: a role mismatch, not a scope one
    assert client.get(f"/findings/{finding_of(run, ours).id}").status_code == 200


def test_an_hq_agent_may_look_but_not_start_a_run_or_decide(client, login_as, app):
    found = flagged_finding(factories.partner())
    login_as(factories.user("hq_agent"))
    assert 'name="threshold"' not in page_of(client.get("/audits"))
    assert 'name="decision"' not in page_of(client.get(f"/findings/{found.id}"))
    response = client.post("/audits", data={"period_start": WEEK[0].isoformat(), "period_end": WEEK[1].isoformat(),
                                            "threshold": "0.20", "min_offers": "10",
                                            "sold_not_served_threshold": "30"})
    assert response.status_code == 403
    assert client.post(f"/findings/{found.id}/decision",
                       data={"decision": "suspension", "note": "越权"}).status_code == 403
    assert db.session.execute(sa.select(sa.func.count(AuditRun.id))).scalar() == 1
    assert db.session.execute(sa.select(sa.func.count(AuditDecision.id))).scalar() == 0


def test_a_runs_table_exports_to_csv_and_xlsx_as_dated_attachments(client, login_as, app):
    offer_history(factories.partner(name="=推诿代理商"), offered=100, declined=40)
    offer_history(factories.partner(name="勤恳服务商"), offered=50)
    run = run_week()
    login_as(factories.user("hq_agent"))
    client.post("/language", data={"locale": "en"})

    response = client.get(f"/audits/{run.id}.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"  # one charset, not two
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and f"audit-{run.id}-20261116-20261122.csv" in disposition
    content = response.get_data()
    assert content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Partner", "Kind", "Offers"] and len(rows) == 1 + len(run.findings)
    flagged = next(row for row in rows if row[0] == "'=推诿代理商")   # a formula never reaches Excel
    assert flagged[2] == "100" and flagged[rows[0].index("Push-back rate")] == "0.4"
    assert flagged[rows[0].index("Why flagged")] == "Push-back"

    response = client.get(f"/audits/{run.id}.xlsx")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "20261116-20261122.xlsx" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    table = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert len(table) == 1 + len(run.findings)
    names = {row[0]: row for row in table[1:]}
    assert names["=推诿代理商"][2] == 100 and names["勤恳服务商"][table[0].index("Flagged")] == 0


def test_the_partner_page_shows_the_findings_history_and_the_weekly_chart(client, login_as, app):
    partner = factories.partner(name="推诿代理商")
    now = now_utc()
    last_week = audit.last_full_week(now)
    week_before = (last_week[0] - timedelta(days=7), last_week[1] - timedelta(days=7))
    for week, declined in ((week_before, 30), (last_week, 40)):
        wednesday = datetime.combine(week[0] + timedelta(days=2), time(10), CHINA).astimezone(timezone.utc)
        offer_history(partner, offered=100, declined=declined, at=wednesday)
        audit.start_run(*week, None, "cli", None, now)
    older, latest = audit.history_for_party(partner.id)[::-1]
    login_as(factories.user("hq_manager"))

    page = page_of(client.get(f"/partners/{partner.id}"))

    history = page.split('data-testid="findings-history"')[1].split("</table>")[0]
    assert history.index(f'/findings/{latest.id}"') < history.index(f'/findings/{older.id}"')
    assert history.count("table-warning") == 2
    chart = page.split('data-chart="line"')[1].split("</table>")[0]
    assert 'data-chart-target="partner-weekly-chart"' in page and 'id="partner-weekly-chart"' in page
    assert chart.count("<tr>") == 1 + 12
    monday, sunday = last_week
    days = f"{sunday.day}日" if sunday.month == monday.month else f"{sunday.month}月{sunday.day}日"
    assert f"<td>{monday.month}月{monday.day}日至{days}</td>" in chart and 'data-value="40.0"' in chart
    assert "-W" not in chart  # a week reads as its days, not as an ISO week number
    assert "vendor/echarts-" in page and "js/charts.js" in page

    engineer_user = factories.user("engineer", engineer_=factories.engineer(partner))
    client.post("/logout")
    login_as(engineer_user)
    assert 'data-testid="findings-history"' not in page_of(client.get(f"/partners/{partner.id}"))


def test_the_weekly_push_back_rate_is_set_against_the_median_of_the_partners_with_offers(app):
    a, b, c, quiet = (factories.partner() for _ in range(4))
    for party, offered, declined in ((a, 10, 4), (b, 10, 1), (c, 20, 4)):
        offer_history(party, offered=offered, declined=declined)
    earlier = IN_WEEK - timedelta(days=7)
    offer_history(b, offered=10, declined=5, at=earlier)

    weeks = weekly_push_back(a.id, WEEK[1])

    assert len(weeks) == 12 and weeks[-1].monday == WEEK[0]
    assert (weeks[-1].offered, weeks[-1].push_back, weeks[-1].rate) == (10, 4, 0.4)
    assert weeks[-1].network_median == 0.2
    assert (weeks[-2].rate, weeks[-2].network_median) == (None, 0.5)  # no offers to A; B alone that week
    assert all(w.rate is None and w.network_median is None for w in weeks[:-2])
    assert weekly_push_back(quiet.id, WEEK[1])[-1].rate is None
    assert weekly_push_back(a.id, WEEK[1] + timedelta(days=7))[-2].rate == 0.4  # a week later, one step back


def input_value(page: str, name: str) -> str:
    tag = page[page.rindex("<input", 0, page.index(f'name="{name}"')):]
    return tag[:tag.index(">")].split('value="')[1].split('"')[0]


def test_the_run_form_shows_and_takes_thresholds_as_percentages_and_the_run_keeps_fractions(client, login_as, app):
    login_as(factories.user("hq_manager"))
    form = page_of(client.get("/audits"))
    assert input_value(form, "threshold") == "20" and input_value(form, "sold_not_served_threshold") == "30"
    data = {"period_start": WEEK[0].isoformat(), "period_end": WEEK[1].isoformat(), "threshold": "25 %",
            "min_offers": "10", "sold_not_served_threshold": "12.5"}
    for bad in ("101", "-1", "abc", "0.2.0"):
        response = client.post("/audits", data={**data, "threshold": bad})
        assert response.status_code == 422
        assert "0 和 100" in response.get_data(as_text=True) or "0 and 100" in response.get_data(as_text=True)
    assert db.session.execute(sa.select(sa.func.count(AuditRun.id))).scalar() == 0
    assert client.post("/audits", data=data).status_code == 302
    run = db.session.execute(sa.select(AuditRun)).scalar_one()
    assert (float(run.threshold), float(run.sold_not_served_threshold)) == (0.25, 0.125)


def test_a_decision_is_not_preselected_and_none_chosen_is_a_form_error(client, login_as, app):
    found = flagged_finding(factories.partner())
    login_as(factories.user("hq_manager"))
    page = page_of(client.get(f"/findings/{found.id}"))
    select = page[page.index('name="decision"'):page.index("</select>", page.index('name="decision"'))]
    assert select.count("selected") == 1 and '<option value="" selected' in select
    response = client.post(f"/findings/{found.id}/decision", data={"decision": "", "note": "看一看"})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert text.count("invalid-feedback") == 1 and "看一看" in text
    assert db.session.execute(sa.select(sa.func.count(AuditDecision.id))).scalar() == 0


@pytest.mark.parametrize("locale, same_month, across_months", [
    ("zh_CN", "12月7日至13日", "11月30日至12月6日"),
    ("en", "Dec 7\u2009–\u200913", "Nov 30\u2009–\u2009Dec 6"),
])
def test_a_week_reads_as_its_days_in_the_readers_language(app, locale, same_month, across_months):
    from datetime import date
    from flask import render_template_string
    from flask_babel import force_locale
    with app.test_request_context(), force_locale(locale):
        assert render_template_string("{{ d|week }}", d=date(2026, 12, 7)) == same_month
        assert render_template_string("{{ d|week }}", d=date(2026, 11, 30)) == across_months


@pytest.mark.parametrize("locale, period", [("zh_CN", "2026年11月16日\u2009–\u200922日"), ("en", "Nov 16\u2009–\u200922, 2026")])
def test_a_runs_period_reads_as_dates_in_the_readers_language(client, login_as, app, locale, period):
    found = flagged_finding(factories.partner())
    login_as(factories.user("hq_manager", locale=locale))
    for path in ("/audits", f"/audits/{found.run_id}", f"/findings/{found.id}"):
        page = page_of(client.get(path))
        assert period in page and "2026-11-16" not in page, path


def test_a_runs_export_is_whole_when_its_rows_are_written_after_the_request_is_over(app, database_url):
    """A server streams a CSV after the view has returned and its session is gone (no outer app
    context keeps it, as the tests' fixture does): every finding still reaches the file."""
    from partnernet import create_app
    offer_history(factories.partner(name="推诿代理商"), offered=100, declined=40)
    offer_history(factories.partner(name="勤恳服务商"), offered=50)
    run = run_week()
    findings = len(run.findings)
    agent = factories.user("hq_agent")
    db.session.commit()
    served = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "WTF_CSRF_ENABLED": False})
    client = served.test_client()
    assert client.post("/login", data={"email": agent.email, "password": factories.PASSWORD}).status_code == 302
    for suffix in ("csv", "xlsx"):
        response = client.get(f"/audits/{run.id}.{suffix}")
        assert response.status_code == 200
        content = response.get_data()
        rows = (list(csv.reader(io.StringIO(content.decode("utf-8-sig")))) if suffix == "csv"
                else list(load_workbook(io.BytesIO(content), read_only=True).worksheets[0].iter_rows(values_only=True)))
        assert len(rows) == 1 + findings, suffix
