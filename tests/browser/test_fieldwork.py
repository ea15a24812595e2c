"""Field work on a phone: the Xihu agent's engineer, on a ticket their partner accepted, plans a
visit, checks in, checks out saying what was done, attaches a photo and sees its thumbnail, and
opens the service report."""
import io
import re
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from PIL import Image

from partnernet.timeclock import CHINA, now_utc, today_in_china
from tests.browser.conftest import PHONE
from tests.browser.test_walkthrough import flash, path_of, submit

ENGINEER = "engineer@xihu-agent.demo"


def accepted_ticket(app, subject: str) -> int:
    """A ticket of a 西湖区 customer, offered to the Xihu agent and accepted with the demo engineer."""
    from partnernet.auth.models import User
    from partnernet.customers.models import Customer
    from partnernet.extensions import db
    from partnernet.network.models import ProductLine
    from partnernet.network.service import is_certified
    from partnernet.tickets import service

    with app.app_context():
        engineer = db.session.execute(sa.select(User).where(User.email == ENGINEER)).scalar_one()
        admin = db.session.execute(sa.select(User).where(User.email == "admin@xihu-agent.demo")).scalar_one()
        agent = db.session.execute(sa.select(User).where(User.email == "agent@hq.demo")).scalar_one()
        lines = db.session.execute(sa.select(ProductLine).order_by(ProductLine.id)).scalars().all()
        line = next(line for line in lines if is_certified(engineer.engineer_id, line.id, today_in_china()))
        customer_id = db.session.execute(sa.select(Customer.id).where(Customer.region_code == "330106")
                                         .order_by(Customer.id).limit(1)).scalar_one()
        now = now_utc()
        ticket = service.intake(service.IntakeRequest(customer_id=customer_id, product_line=line.code,
                                                      complexity="simple", channel="phone", subject=subject,
                                                      tier="L2"), agent, now)
        assert ticket.offered_party_id == admin.party_id, f"ticket #{ticket.id} was not offered to the Xihu agent"
        service.accept(ticket, admin, engineer.engineer_id, now)
        ticket_id = ticket.id
        db.session.remove()
    return ticket_id


def photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1200, 900), (40, 120, 200)).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def uploads_elsewhere(browsers, tmp_path):
    app = browsers.server.app
    before, app.instance_path = app.instance_path, str(tmp_path)
    yield
    app.instance_path = before


def test_the_engineer_visits_checks_in_and_out_attaches_a_photo_and_opens_the_report(browsers, uploads_elsewhere):
    subject = f"表单导出乱码 {uuid.uuid4().hex[:6]}"
    ticket_id = accepted_ticket(browsers.server.app, subject)

    engineer = browsers.open(viewport=PHONE, is_mobile=True, has_touch=True)
    page = engineer.login(ENGINEER, next=f"/tickets/{ticket_id}")
    engineer.shot("ticket")

    # The window agreed with the customer on the phone, in China's time.
    start = (now_utc() + timedelta(hours=1)).astimezone(CHINA).replace(second=0, microsecond=0)
    page.click("main #fieldwork summary")
    page.fill("main form[action$='/visits'] input[name=planned_start]", start.strftime("%Y-%m-%dT%H:%M"))
    page.fill("main form[action$='/visits'] input[name=planned_end]",
              (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    engineer.shot("plan-visit")
    submit(page, "form[action$='/visits']")
    assert page.locator("main [data-testid=visit]").count() == 1, flash(page)
    engineer.shot("visit-planned")

    submit(page, "form[action$='/check-in']")  # one tap
    assert page.locator("main [data-testid=checked-in]").count() == 1, flash(page)
    engineer.shot("checked-in")

    page.fill("main form[action$='/check-out'] textarea[name=work_done]", "重新设置导出模板的编码为 UTF-8，客户确认导出正常。")
    page.fill("main form[action$='/check-out'] input[name=parts_used]", "无")
    page.fill("main form[action$='/check-out'] input[name=hours]", "1.5")
    submit(page, "form[action$='/check-out']")
    assert page.locator("main [data-testid=checked-out]").count() == 1, flash(page)
    assert "重新设置导出模板的编码" in page.inner_text("main #fieldwork")
    engineer.shot("checked-out")

    page.set_input_files("main form[action$='/attachments'] input[name=file]",
                         {"name": "现场照片.jpg", "mimeType": "image/jpeg", "buffer": photo()})
    submit(page, "form[action$='/attachments']")
    thumbnail = page.locator("main img.attachment-thumbnail")
    assert thumbnail.count() == 1, flash(page)
    thumbnail.scroll_into_view_if_needed()
    assert page.evaluate("img => img.complete && img.naturalWidth > 0", thumbnail.element_handle())
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1"), "wider than the phone"
    engineer.shot("photo-attached")

    with page.expect_navigation():
        page.click(f"main a[href='/tickets/{ticket_id}/report']")
    assert path_of(page) == f"/tickets/{ticket_id}/report"
    report = page.inner_text("main [data-testid=service-report]")
    assert subject in report and "重新设置导出模板的编码" in report
    assert re.search(r"\d+ 小时 \d\d 分", page.inner_text("main [data-testid=time-on-site]"))
    assert page.locator(f"main a[href='/tickets/{ticket_id}/report.pdf']").count() == 1
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1"), "wider than the phone"
    engineer.shot("service-report")
