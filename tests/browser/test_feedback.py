"""The customer's confirmation in a real browser at phone size: the owner resolves a ticket and
copies the link, the customer opens it without signing in, rates 4 and confirms; the ticket closes;
HQ's agent calls the billable ticket back and records it."""
import re
import uuid

import sqlalchemy as sa

from tests.browser.conftest import PHONE
from tests.browser.test_walkthrough import flash, path_of, submit


def accepted_ticket(server) -> tuple[int, str]:
    """A ticket for the 西湖区 customer, routed as the product routes it and accepted by the
    offered partner with a certified engineer; (ticket id, that partner's administrator's e-mail)."""
    from partnernet.auth.models import User
    from partnernet.extensions import db
    from partnernet.tickets import service
    from partnernet.timeclock import now_utc, today_in_china
    with server.app.app_context():
        now = now_utc()
        ticket = service.intake(service.IntakeRequest(
            customer_id=server.xihu_customer[0], product_line="workflow", complexity="simple", channel="phone",
            subject=f"浏览器测试：表单导出乱码 {uuid.uuid4().hex[:6]}", tier="L2"), None, now)
        assert ticket.status == "offered", f"the ticket was not offered to a partner: {ticket.hq_queue_cause}"
        admin = db.session.execute(sa.select(User).where(
            User.party_id == ticket.offered_party_id, User.role == "partner_admin", User.active)
            .order_by(User.id)).scalars().first()
        engineer = service.certified_engineers_for(ticket, ticket.offered_party_id, today_in_china(now))[0]
        service.accept(ticket, admin, engineer.id, now)
        # Billable (as an on-site visit below the threshold would be): HQ will call it back.
        db.session.execute(sa.update(type(ticket)).where(type(ticket).id == ticket.id).values(
            billable=True, billable_reason="onsite_not_included"))
        db.session.commit()
        ticket_id, email = ticket.id, admin.email
        db.session.remove()
    return ticket_id, email


def test_the_owner_copies_the_link_and_the_customer_rates_4_and_confirms_on_a_phone(browsers):
    ticket_id, email = accepted_ticket(browsers.server)

    # The owner's administrator, on a phone, resolves the ticket and gets a link to send by WeChat.
    owner = browsers.open(viewport=PHONE, is_mobile=True, has_touch=True)
    owner.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=browsers.server.url)
    page = owner.login(email, next=f"/tickets/{ticket_id}")
    page.select_option("main form[action$='/status'] select[name=status]", "resolved")
    page.fill("main form[action$='/status'] textarea[name=note]", "重新设置了导出编码为 UTF-8，客户测试正常。")
    submit(page, "form[action$='/status']")
    assert re.search("已解决|Resolved", page.inner_text("main h1")), flash(page)
    owner.shot("resolved")
    submit(page, "[data-testid=feedback-panel] form")
    assert path_of(page) == f"/tickets/{ticket_id}/confirmation-link", flash(page)
    shown = page.input_value("[data-testid=confirmation-url]")
    page.click("main button[data-copy-target]")
    page.locator("main button[data-copy-target]", has_text=re.compile("已复制|Copied")).wait_for()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == shown and f"/confirm/{ticket_id}/" in copied, (copied, shown)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "the page scrolls sideways"
    owner.shot("link")

    # The customer opens it on their own phone: no sign-in, the work done, one answer.
    customer = browsers.open(viewport=PHONE, is_mobile=True, has_touch=True)
    page = customer.page
    page.goto(copied)
    summary = page.inner_text("[data-testid=service-report]")
    assert "重新设置了导出编码为 UTF-8" in summary and "表单导出乱码" in summary, summary
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "the page scrolls sideways"
    customer.shot("confirm")
    page.check("input[name=solved][value=yes]")
    page.click("label[for=rating-3]")  # the fourth of 1-5
    page.fill("textarea[name=comment]", "工程师很耐心")
    customer.shot("confirm-filled")
    submit(page, "form[data-testid=answer-form]")
    assert re.search("已关闭|is closed", page.inner_text("[data-testid=answer-result]")), page.inner_text("main")
    customer.shot("thanks")
    assert page.goto(copied).status == 410  # once only: a page that says so
    assert page.locator("[data-testid=link-gone]").count() == 1
    assert all("410" in problem for problem in customer.problems.take())  # the browser logs the status
    customer.shot("answered")

    # The owner sees the ticket closed, with the customer's rating.
    page = owner.page
    page.goto(f"/tickets/{ticket_id}")
    assert re.search("已关闭|Closed", page.inner_text("main h1")), page.inner_text("main h1")
    assert "4/5" in page.inner_text("[data-testid=feedback-panel]")
    owner.shot("closed")

    # HQ's agent, on a phone, finds the billable ticket in the call-back queue and records the call.
    agent = browsers.open(viewport=PHONE, is_mobile=True, has_touch=True)
    page = agent.login("agent@hq.demo", next="/callbacks")
    row = page.locator("[data-testid=callback-row]", has=page.locator(f"a[href='/tickets/{ticket_id}']"))
    assert row.count() == 1, page.inner_text("main")
    agent.shot("callbacks")
    with page.expect_navigation():
        row.locator("a.btn").click()
    page.check("input[name=solved][value=yes]")
    page.click("label[for=rating-4]")  # 5
    page.fill("textarea[name=comment]", "回访：客户满意")
    agent.shot("callback-form")
    submit(page, "form")
    assert path_of(page) == "/callbacks", flash(page)
    assert page.locator(f"[data-testid=callback-row] a[href='/tickets/{ticket_id}']").count() == 0
    agent.shot("called-back")
