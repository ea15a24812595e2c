"""Monthly reports per partner: made by the scheduler's job on the first working day of a month for
last month, once per partner; read by the partner's administrators (their own only) and by HQ
(any, and a month's PDFs as one ZIP); a PDF in Chinese; a month without tickets says so."""
import io
import zipfile
from datetime import date, datetime, timedelta, timezone

from decimal import Decimal

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from partnernet import scheduler
from partnernet.audit.models import AuditFinding, AuditRun
from partnernet.extensions import db
from partnernet.feedback.models import CustomerFeedback
from partnernet.notifications.models import Notification
from partnernet.reports import service as reports
from partnernet.reports.models import MonthlyReport
from partnernet.tickets import service as tickets
from tests import factories

pytestmark = pytest.mark.usefixtures("invariants")  # checked after every scenario

OCTOBER = date(2026, 10, 1)
DURING_OCTOBER = datetime(2026, 10, 20, 2, 0, tzinfo=timezone.utc)       # Tuesday 10:00 in China
SUNDAY_FIRST = datetime(2026, 11, 1, 2, 0, tzinfo=timezone.utc)          # Sunday 1 November, 10:00 in China
FIRST_WORKING_DAY = datetime(2026, 11, 2, 0, 0, tzinfo=timezone.utc)     # Monday 2 November, 08:00 in China
LISHUI = "丽水同创科技有限公司"


def network():
    """丽水同创 (active) covers 西湖区 with a certified engineer whose certificate lapses in November and
    an administrator; 温州远景 (active) covers elsewhere and has no ticket in October; a terminated and an
    onboarding partner get no report."""
    lishui = factories.partner(name=LISHUI, name_en="Lishui Tongchuang")
    factories.coverage(lishui, "330106", tiers=["L1", "L2"])
    engineer = factories.engineer(lishui)
    engineer.name = "林工"
    factories.certification(engineer, issued_on=date(2024, 1, 1), expires_on=date(2026, 11, 20), number="OA-2026-1120")
    admin = factories.user("partner_admin", party=lishui, locale="zh_CN")
    quiet = factories.partner(name="温州远景软件有限公司")
    factories.coverage(quiet, "330303", tiers=["L1", "L2"])
    quiet_admin = factories.user("partner_admin", party=quiet)
    factories.partner(name="已终止伙伴", status="terminated")
    factories.partner(name="入网中伙伴", status="onboarding")
    return lishui, engineer, admin, quiet, quiet_admin


def october_tickets(lishui, engineer, admin):
    """Two tickets offered to 丽水同创 in October: one accepted and resolved within its targets, one
    declined (push-back) that goes on to HQ; and a customer's rating of the first."""
    customer = factories.customer(region_code="330106")
    factories.contract(customer, starts_on=date(2026, 6, 1))

    def opened(at):
        return tickets.intake(tickets.IntakeRequest(customer_id=customer.id, product_line="workflow",
                                                    complexity="simple", channel="phone", subject="审批流无法提交",
                                                    tier="L2"), None, at)
    served = opened(DURING_OCTOBER)
    tickets.accept(served, admin, engineer.id, DURING_OCTOBER + timedelta(minutes=5))
    tickets.change_status(served, admin, "in_progress", "", DURING_OCTOBER + timedelta(minutes=10))
    tickets.change_status(served, admin, "resolved", "重装插件", DURING_OCTOBER + timedelta(minutes=40))
    declined = opened(DURING_OCTOBER + timedelta(hours=1))
    tickets.decline(declined, admin, "no_capacity", "人手不足", DURING_OCTOBER + timedelta(hours=1, minutes=2))
    db.session.add(CustomerFeedback(ticket_id=served.id, party_id=lishui.id, source="customer", solved=True,
                                    rating=5, comment="很好", answered_at=DURING_OCTOBER + timedelta(hours=3)))
    db.session.commit()
    return served, declined


def run_job_at(app, monkeypatch, now):
    monkeypatch.setattr(scheduler, "now_utc", lambda: now)
    scheduler.monthly_reports_job(app)
    db.session.expire_all()


def reports_of(month=OCTOBER):
    return db.session.execute(sa.select(MonthlyReport).where(MonthlyReport.month == month)
                              .order_by(MonthlyReport.party_id)).scalars().all()


def pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_job_waits_for_the_first_working_day_then_makes_one_report_per_active_partner_once(app, monkeypatch):
    lishui, engineer, admin, quiet, quiet_admin = network()
    october_tickets(lishui, engineer, admin)
    run_job_at(app, monkeypatch, SUNDAY_FIRST)  # 1 November 2026 is a Sunday: not yet
    assert reports_of() == []
    run_job_at(app, monkeypatch, FIRST_WORKING_DAY)
    assert [r.party_id for r in reports_of()] == [lishui.id, quiet.id]
    run_job_at(app, monkeypatch, FIRST_WORKING_DAY + timedelta(minutes=1))  # again, and the next day
    run_job_at(app, monkeypatch, FIRST_WORKING_DAY + timedelta(days=1))
    assert [r.party_id for r in reports_of()] == [lishui.id, quiet.id]
    notices = db.session.execute(sa.select(Notification).where(Notification.kind == "monthly_report")
                                 .order_by(Notification.id)).scalars().all()
    assert sorted(n.user_id for n in notices) == sorted([admin.id, quiet_admin.id])  # each administrator once
    mine = next(n for n in notices if n.user_id == admin.id)
    assert mine.link == f"/reports/monthly/{reports_of()[0].id}" and "2026-10" in mine.subject and "月度报告" in mine.subject


def test_a_holiday_at_the_start_of_the_month_puts_the_reports_off_to_the_first_working_day(app, monkeypatch):
    """October 2026 opens with the National Day holiday: September's reports wait for Thursday 8 October."""
    factories.partner()
    assert reports.first_working_day(date(2026, 10, 1)) == date(2026, 10, 8)
    run_job_at(app, monkeypatch, datetime(2026, 10, 7, 2, 0, tzinfo=timezone.utc))
    assert reports_of(date(2026, 9, 1)) == []
    run_job_at(app, monkeypatch, datetime(2026, 10, 8, 0, 0, tzinfo=timezone.utc))
    assert len(reports_of(date(2026, 9, 1))) == 1


def test_the_report_holds_the_months_tickets_sla_push_back_certificates_and_ratings(app):
    lishui, engineer, admin, _quiet, _ = network()
    october_tickets(lishui, engineer, admin)
    for start in (date(2026, 10, 19), date(2026, 10, 26)):  # the week ending 1 November is November's
        run = factories.save(AuditRun(period_start=start, period_end=start + timedelta(days=6), threshold=Decimal("0.2"),
                                      min_offers=1, sold_not_served_threshold=Decimal("0.5"), triggered_by="cli"))
        factories.save(AuditFinding(run_id=run.id, party_id=lishui.id, offered=2, declined=1, push_back=1,
                                    push_back_rate=0.5, flagged=True, flag_reasons=["push_back"]))
    report = reports.make_report(lishui, OCTOBER, FIRST_WORKING_DAY)
    figures = report.figures
    assert [(f["period_end"], f["flagged"]) for f in figures["findings"]] == [("2026-10-25", True)]
    assert figures["tickets"]["total"] == 1 and figures["tickets"]["cells"]["resolved"]["L2"] == 1
    sla = figures["sla"]["all"]  # as the SLA report counts the month: the ticket served, on time
    assert (sla["served"], sla["response_met"], sla["resolution_met"]) == (1, 1, 1)
    assert (sla["response_breached"], sla["resolution_breached"]) == (0, 0)
    assert figures["sla"]["by_tier"]["L2"]["served"] == 1
    assert (figures["push_back"]["offered"], figures["push_back"]["declined"], figures["push_back"]["push_back"]) == (2, 1, 1)
    assert [c["number"] for c in figures["expiring_certificates"]] == ["OA-2026-1120"]
    assert (figures["ratings"]["rated"], figures["ratings"]["mean"]) == (1, 5)
    assert reports.make_report(lishui, OCTOBER, FIRST_WORKING_DAY + timedelta(hours=1)) is None  # made once


def test_the_pdf_reads_in_chinese_with_the_partners_name(app):
    lishui, engineer, admin, _quiet, _ = network()
    october_tickets(lishui, engineer, admin)
    report = reports.make_report(lishui, OCTOBER, FIRST_WORKING_DAY)
    pdf = reports.pdf_of(report)
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf)
    assert LISHUI in text and "月度报告" in text and "工单" in text and "林工" in text


def test_a_month_without_tickets_says_so(app, login_as):
    _lishui, _engineer, _admin, quiet, quiet_admin = network()
    report = reports.make_report(quiet, OCTOBER, FIRST_WORKING_DAY)
    assert report.figures["tickets"]["total"] == 0
    assert "本月没有工单" in pdf_text(reports.pdf_of(report))
    page = login_as(quiet_admin).get(f"/reports/monthly/{report.id}", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200 and 'data-testid="no-tickets"' in page.get_data(as_text=True)


def test_a_partner_reads_only_its_own_reports(app, login_as):
    lishui, _engineer, admin, quiet, _ = network()
    own = reports.make_report(lishui, OCTOBER, FIRST_WORKING_DAY)
    other = reports.make_report(quiet, OCTOBER, FIRST_WORKING_DAY)
    client = login_as(admin)
    listing = client.get("/reports/monthly").get_data(as_text=True)
    assert f"/reports/monthly/{own.id}" in listing and f"/reports/monthly/{other.id}" not in listing
    assert client.get(f"/reports/monthly/{own.id}").status_code == 200
    assert client.get(f"/reports/monthly/{own.id}.pdf").data.startswith(b"%PDF-")
    assert client.get(f"/reports/monthly/{other.id}").status_code == 404
    assert client.get(f"/reports/monthly/{other.id}.pdf").status_code == 404
    assert client.get("/reports/monthly.zip?month=2026-10").status_code == 403


def test_hq_opens_any_report_and_downloads_the_months_pdfs_as_one_zip(app, login_as, monkeypatch):
    lishui, _engineer, _admin, quiet, _ = network()
    run_job_at(app, monkeypatch, FIRST_WORKING_DAY)
    made = reports_of()
    client = login_as(factories.user("hq_manager"))
    listing = client.get("/reports/monthly?month=2026-10").get_data(as_text=True)
    assert all(f"/reports/monthly/{report.id}" in listing for report in made)
    assert client.get(f"/reports/monthly/{made[1].id}").status_code == 200
    response = client.get("/reports/monthly.zip?month=2026-10")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = archive.namelist()
    assert len(names) == 2 and any(LISHUI in name for name in names)
    for report, name in zip(made, names):  # in party order, each its partner's PDF
        assert report.party.name in name and report.party.name in pdf_text(archive.read(name))
    assert client.get("/reports/monthly.zip?month=2026-13").status_code == 422


def test_the_command_makes_a_months_reports_as_ops_would(app, monkeypatch):
    from partnernet.reports import commands
    monkeypatch.setattr(commands, "now_utc", lambda: FIRST_WORKING_DAY)
    lishui, _engineer, _admin, quiet, _ = network()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["reports", "make", "--month", "2026-10"])
    assert result.exit_code == 0, result.output
    assert "2 made" in result.output
    again = runner.invoke(args=["reports", "make", "--month", "2026-10"])
    assert "0 made, 2 made before" in again.output
    assert [r.party_id for r in reports_of()] == [lishui.id, quiet.id]
    for bad in ("2026-13", "2026-11"):  # not a month; not a past one
        assert runner.invoke(args=["reports", "make", "--month", bad]).exit_code == 2
