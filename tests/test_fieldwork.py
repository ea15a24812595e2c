"""Field work: attachments (checked by content, stored outside the web root, seen by HQ and the
ticket's holder only), on-site visits (check-in and check-out once each, on the app's clock) and
the service report (time on site, a printable page, a PDF in which Chinese renders)."""
import io
import os
import sys
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from PIL import Image
from pypdf import PdfReader

from partnernet.errors import Conflict, InvalidTransition, ValidationFailed
from partnernet.extensions import db
from partnernet.fieldwork import attachments, visits
from partnernet.fieldwork.models import Attachment, Visit
from partnernet.fieldwork.report import service_report
from partnernet.tickets import service
from partnernet.tickets.models import TicketEvent
from partnernet.timeclock import now_utc
from tests import factories
from tests.test_api import as_user, assert_error  # noqa: F401 (fixture)
from tests.test_tickets import NOW, certified_partner

SUBJECT = "表单导出乱码"


@pytest.fixture(autouse=True)
def uploads(app, tmp_path):
    """Each test's files in a folder of its own (the app's instance folder holds the uploads)."""
    app.instance_path = str(tmp_path)
    return tmp_path


def stored_files(uploads) -> list:
    folder = os.path.join(uploads, "uploads", "attachments")
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def png(width=640, height=480) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def held_ticket(subject=SUBJECT):
    """A ticket the partner accepted with its engineer: (ticket, partner admin, engineer user)."""
    partner, engineer = certified_partner("330106")
    customer = factories.customer(region_code="330106")
    factories.contract(customer, starts_on=NOW.date() - timedelta(days=100))
    ticket = service.intake(service.IntakeRequest(customer_id=customer.id, product_line="workflow", complexity="simple",
                                                  channel="phone", subject=subject, tier="L2"), None, NOW)
    admin = factories.user("partner_admin", party=partner)
    service.accept(ticket, admin, engineer.id, NOW)
    return ticket, admin, factories.user("engineer", engineer_=engineer)


def upload_page(client, ticket, name, content):
    return client.post(f"/tickets/{ticket.id}/attachments", data={"file": (io.BytesIO(content), name)},
                       content_type="multipart/form-data")


def count(model) -> int:
    db.session.expire_all()
    return db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


# --- attachments: what is accepted -----------------------------------------------------------------

def test_a_file_named_png_that_is_not_an_image_is_refused_and_nothing_is_stored(app, login_as, as_user, uploads):
    ticket, admin, _engineer = held_ticket()
    page = upload_page(login_as(admin), ticket, "screenshot.png", b"just some text, not a picture\n")
    assert page.status_code == 422
    assert "screenshot" not in stored_files(uploads) and stored_files(uploads) == []
    assert "文件名为 .png，但其内容不是图片。" in page.get_data(as_text=True)  # under the file field

    api = as_user(admin).post(f"/api/v1/tickets/{ticket.id}/attachments",
                              data={"file": (io.BytesIO(b"%PDF-1.7 a pdf"), "photo.png")},
                              content_type="multipart/form-data", headers={"Accept-Language": "en"})
    error = assert_error(api, 422, "validation_failed", fields=["file"])
    assert error["fields"]["file"] == "The file is named .png but its content is not an image."
    assert count(Attachment) == 0 and stored_files(uploads) == []
    assert "attachment_added" not in [e.kind for e in ticket.events]


def test_an_oversize_file_is_refused_saying_the_limit(app, as_user, uploads):
    ticket, admin, _engineer = held_ticket()
    too_big = b"%PDF-1.7\n" + b"0" * attachments.MAX_ATTACHMENT_BYTES
    response = as_user(admin).post(f"/api/v1/tickets/{ticket.id}/attachments",
                                   data={"file": (io.BytesIO(too_big), "manual.pdf")},
                                   content_type="multipart/form-data", headers={"Accept-Language": "en"})
    error = assert_error(response, 422, "validation_failed", fields=["file"])
    assert "10 MB" in error["fields"]["file"]
    assert count(Attachment) == 0 and stored_files(uploads) == []


def test_a_text_log_is_accepted_but_binary_is_not(app):
    found = attachments.recognise(attachments.Upload("server.log", "2026-12-07 错误: 连接超时\n".encode("gb18030")))
    assert (found.kind, found.content_type) == ("text", "text/plain")
    with pytest.raises(ValidationFailed):
        attachments.recognise(attachments.Upload("server.log", b"\x7fELF\x02\x01\x01\x00\x00"))
    with pytest.raises(ValidationFailed):  # text is a log only when named one
        attachments.recognise(attachments.Upload("page.html", b"<script>alert(1)</script>"))


def test_an_image_bomb_is_refused_before_it_is_decoded(app):
    out = io.BytesIO()
    Image.new("1", (9000, 9000)).save(out, "PNG")  # 81 megapixels in a few kilobytes
    with pytest.raises(ValidationFailed) as refused:
        attachments.recognise(attachments.Upload("huge.png", out.getvalue()))
    assert "megapixels" in refused.value.fields["file"] or "百万像素" in refused.value.fields["file"]


def test_a_photo_gets_a_thumbnail_and_downloads_as_an_attachment_not_sniffed(app, login_as, uploads):
    ticket, _admin, engineer = held_ticket()
    client = login_as(engineer)
    assert upload_page(client, ticket, "机房.jpg", png()).status_code == 302  # a PNG named .jpg is still an image
    attachment = db.session.execute(sa.select(Attachment)).scalar_one()
    assert (attachment.kind, attachment.content_type, attachment.filename) == ("image", "image/png", "机房.jpg")
    assert attachment.stored_name != "机房.jpg" and len(stored_files(uploads)) == 2

    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert f"/attachments/{attachment.id}/thumbnail" in page
    thumbnail = client.get(f"/attachments/{attachment.id}/thumbnail")
    assert thumbnail.mimetype == "image/jpeg" and max(Image.open(io.BytesIO(thumbnail.data)).size) <= 320
    download = client.get(f"/attachments/{attachment.id}")
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff" and download.data == png()
    event = [e for e in ticket.events if e.kind == "attachment_added"]
    assert len(event) == 1 and event[0].data == {"attachment_id": attachment.id}


# --- attachments: who sees them ---------------------------------------------------------------------

def attached(ticket, user) -> Attachment:
    return attachments.attach(ticket, user, attachments.Upload("photo.png", png()), NOW)


def assert_no_attachments_for(user, ticket, attachment, client, as_user):
    api = as_user(user)
    assert api.get(f"/api/v1/tickets/{ticket.id}/attachments").status_code == 404
    assert api.get(f"/api/v1/attachments/{attachment.id}/file").status_code == 404
    assert api.get(f"/api/v1/attachments/{attachment.id}/thumbnail").status_code == 404
    assert api.get(f"/api/v1/tickets/{ticket.id}/report").status_code == 404
    assert client.get(f"/attachments/{attachment.id}").status_code == 404
    assert client.get(f"/attachments/{attachment.id}/thumbnail").status_code == 404
    assert client.get(f"/tickets/{ticket.id}/report").status_code == 404
    assert client.get(f"/tickets/{ticket.id}/report.pdf").status_code == 404


def test_attachments_of_another_partys_ticket_are_404(app, login_as, as_user):
    ticket, admin, _engineer = held_ticket()
    attachment = attached(ticket, admin)
    other, _other_engineer = certified_partner("330106")
    stranger = factories.user("partner_admin", party=other)
    assert_no_attachments_for(stranger, ticket, attachment, login_as(stranger), as_user)
    assert as_user(admin).get(f"/api/v1/tickets/{ticket.id}/attachments").get_json()["items"][0]["id"] == attachment.id
    assert as_user(factories.user("hq_agent")).get(f"/api/v1/attachments/{attachment.id}/file").status_code == 200


def test_an_offered_partner_that_has_not_accepted_sees_no_attachments(app, login_as, as_user):
    ticket, admin, _engineer = held_ticket()
    attachment = attached(ticket, admin)
    service.return_to_hq(ticket, admin, "beyond_our_skills", "需要总部", NOW)
    other, _other_engineer = certified_partner("330106")
    hq_agent = factories.user("hq_agent")
    service.offer_by_hand(ticket, hq_agent, other.id, "", NOW)
    offered = factories.user("partner_admin", party=other)
    client = login_as(offered)
    assert client.get(f"/tickets/{ticket.id}").status_code == 200  # it may read the offer…
    assert "photo.png" not in client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert_no_attachments_for(offered, ticket, attachment, client, as_user)  # …not the ticket's files


def test_a_former_owner_loses_the_attachments(app, login_as, as_user):
    ticket, admin, engineer = held_ticket()
    attachment = attached(ticket, admin)
    assert as_user(admin).get(f"/api/v1/attachments/{attachment.id}/file").status_code == 200
    service.return_to_hq(ticket, admin, "beyond_our_skills", "需要总部", NOW)
    assert_no_attachments_for(admin, ticket, attachment, login_as(admin), as_user)
    assert as_user(engineer).get(f"/api/v1/attachments/{attachment.id}/file").status_code == 404


def test_nothing_is_attached_to_a_ticket_no_longer_held(app):
    ticket, admin, _engineer = held_ticket()
    service.change_status(ticket, admin, "resolved", "已修复", NOW)
    with pytest.raises(InvalidTransition):
        attached(ticket, admin)


# --- visits ---------------------------------------------------------------------------------------

START = NOW + timedelta(hours=4)  # 14:00 in China


def planned(ticket, user, start=START, hours=2):
    return visits.plan(ticket, user, None, start, start + timedelta(hours=hours), NOW)


def test_check_in_and_out_record_the_app_clocks_times_once(app):
    ticket, _admin, engineer = held_ticket()
    visit = planned(ticket, engineer)
    arrived, tapped_again, left = START + timedelta(minutes=5), START + timedelta(minutes=6), START + timedelta(minutes=95)

    visits.check_in(visit, engineer, arrived)
    with pytest.raises(Conflict):
        visits.check_in(visit, engineer, tapped_again)  # a double tap
    visits.check_out(visit, engineer, "更换了导出模板的编码设置", "无", "1.5", left)
    with pytest.raises(Conflict):
        visits.check_out(visit, engineer, "再次", "", None, left + timedelta(minutes=1))

    db.session.expire_all()
    visit = db.session.get(Visit, visit.id)
    assert (visit.checked_in_at, visit.checked_out_at) == (arrived, left)
    assert visit.work_done == "更换了导出模板的编码设置" and str(visit.hours) == "1.5"
    kinds = [e.kind for e in db.session.execute(sa.select(TicketEvent).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind.like("visit_%")).order_by(TicketEvent.id)).scalars()]
    assert kinds == ["visit_planned", "visit_checked_in", "visit_checked_out"]


def test_check_out_comes_after_check_in_and_says_what_was_done(app):
    ticket, _admin, engineer = held_ticket()
    visit = planned(ticket, engineer)
    with pytest.raises(InvalidTransition):
        visits.check_out(visit, engineer, "做完了", "", None, START)
    visits.check_in(visit, engineer, START)
    with pytest.raises(ValidationFailed) as refused:
        visits.check_out(visit, engineer, "  ", "", "abc", START + timedelta(hours=1))
    assert set(refused.value.fields) == {"work_done", "hours"}
    assert db.session.get(Visit, visit.id).checked_out_at is None


def test_an_engineer_has_one_open_visit_at_a_time(app):
    ticket, _admin, engineer = held_ticket()
    first, second = planned(ticket, engineer), planned(ticket, engineer, START + timedelta(hours=3))
    visits.check_in(first, engineer, START)
    with pytest.raises(Conflict):
        visits.check_in(second, engineer, START + timedelta(minutes=1))
    visits.check_out(first, engineer, "完成", "", None, START + timedelta(hours=1))
    visits.check_in(second, engineer, START + timedelta(hours=3))


def test_a_visit_window_must_end_after_it_starts(app):
    ticket, admin, _engineer = held_ticket()
    with pytest.raises(ValidationFailed) as refused:
        visits.plan(ticket, admin, None, START, START - timedelta(minutes=30), NOW)
    assert "planned_end" in refused.value.fields and db.session.execute(sa.select(Visit)).first() is None


def test_hq_plans_visits_only_on_tickets_hq_holds(app):
    ticket, _admin, _engineer = held_ticket()
    with pytest.raises(InvalidTransition):
        planned(ticket, factories.user("hq_agent"))


# --- the service report ---------------------------------------------------------------------------

def test_time_on_site_sums_the_visits(app, as_user):
    ticket, admin, engineer = held_ticket()
    first, second = planned(ticket, engineer), planned(ticket, engineer, START + timedelta(days=1))
    visits.check_in(first, engineer, START)
    visits.check_out(first, engineer, "排查编码", "", None, START + timedelta(minutes=90))
    visits.check_in(second, engineer, START + timedelta(days=1))
    visits.check_out(second, admin, "更换模板", "U盘一个", None, START + timedelta(days=1, minutes=45))
    service.change_status(ticket, admin, "resolved", "导出已恢复正常", START + timedelta(days=1, hours=1))

    report = service_report(ticket)
    assert report.time_on_site == timedelta(minutes=135)
    assert report.subject == SUBJECT and report.resolution == "导出已恢复正常"
    assert [v.work_done for v in report.visits] == ["排查编码", "更换模板"]
    assert report.engineers == [engineer.engineer.name]
    as_json = as_user(admin).get(f"/api/v1/tickets/{ticket.id}/report").get_json()
    assert as_json["time_on_site_minutes"] == 135 and as_json["subject"] == SUBJECT


def test_the_report_partial_needs_no_signed_in_user(app):
    """The customer's confirmation page (no sign-in) shows the same report."""
    ticket, _admin, engineer = held_ticket()
    visit = planned(ticket, engineer)
    visits.check_in(visit, engineer, START)
    visits.check_out(visit, engineer, "重装插件", "", None, START + timedelta(minutes=30))
    with app.test_request_context("/"):
        from flask import render_template_string
        html = render_template_string('{% include "fieldwork/_report_body.html" %}', report=service_report(ticket))
    assert SUBJECT in html and "重装插件" in html


def test_the_pdf_has_the_chinese_subject(app, login_as):
    ticket, admin, engineer = held_ticket()
    visit = planned(ticket, engineer)
    visits.check_in(visit, engineer, START)
    visits.check_out(visit, engineer, "修复导出编码", "", None, START + timedelta(minutes=40))
    response = login_as(admin).get(f"/tickets/{ticket.id}/report.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    assert SUBJECT in text and "修复导出编码" in text


def test_without_pango_the_pdf_link_answers_503_not_500(app, login_as, monkeypatch):
    ticket, admin, _engineer = held_ticket()
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # `import weasyprint` fails as without Pango
    response = login_as(admin).get(f"/tickets/{ticket.id}/report.pdf")
    assert response.status_code == 503
    assert "fonts-noto-cjk" in response.get_data(as_text=True)
    assert login_as(admin).get(f"/tickets/{ticket.id}/report").status_code == 200  # the printable page still works


# --- the API walks it ------------------------------------------------------------------------------

def test_the_api_plans_checks_in_and_out_and_attaches(app, as_user):
    ticket, _admin, engineer = held_ticket()
    api = as_user(engineer)
    start = now_utc() + timedelta(hours=1)
    plan = api.post(f"/api/v1/tickets/{ticket.id}/visits", json={
        "planned_start": start.isoformat(), "planned_end": (start + timedelta(hours=2)).isoformat()})
    assert plan.status_code == 201, plan.get_json()
    visit_id = plan.get_json()["id"]
    checked_in = api.post(f"/api/v1/visits/{visit_id}/check-in")
    assert checked_in.status_code == 200 and checked_in.get_json()["checked_in_at"]
    assert_error(api.post(f"/api/v1/visits/{visit_id}/check-in"), 409, "conflict")
    out = api.post(f"/api/v1/visits/{visit_id}/check-out", json={"work_done": "完成", "hours": 1.5})
    assert out.status_code == 200 and out.get_json()["hours"] == 1.5
    photo = api.post(f"/api/v1/tickets/{ticket.id}/attachments", data={"file": (io.BytesIO(png()), "现场.png")},
                     content_type="multipart/form-data")
    assert photo.status_code == 201 and photo.get_json()["has_thumbnail"] is True
    listed = api.get(f"/api/v1/tickets/{ticket.id}/visits").get_json()["items"]
    assert [v["id"] for v in listed] == [visit_id]
    pdf = api.get(f"/api/v1/tickets/{ticket.id}/report.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
