"""The field walk-through's first half on a phone (390×844): HQ opens a simple ticket for the demo's
¥68,000 customer in 西湖区; 西溪's administrator accepts it at L2, reaches the customer (tap to
call), escalates it to L3 after the preview, and, since 西溪 offers L1 and L2 only, the ticket moves
on with the explanation."""
import re
import uuid

import sqlalchemy as sa

from partnernet.customers.models import Customer
from partnernet.demo import WALK_CUSTOMER, XIHU_AGENT
from partnernet.extensions import db
from tests.browser.conftest import PHONE
from tests.browser.test_walkthrough import flash, path_of, submit


def fits_the_phone(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_xixi_accepts_at_l2_calls_the_customer_and_escalates_to_l3_on_a_phone(browsers):
    with browsers.server.app.app_context():
        customer = db.session.execute(sa.select(Customer).where(Customer.name == WALK_CUSTOMER)).scalar_one()
        customer_id, phone, address = customer.id, customer.contact_phone, customer.address
        db.session.remove()
    subject = f"表单导出乱码 {uuid.uuid4().hex[:6]}"

    # HQ's agent opens a simple ticket; it starts at L2 (the agent's choice), not at the contract's L3.
    agent = browsers.open()
    page = agent.login("agent@hq.demo", next="/tickets/new")
    assert page.locator("#tier option[value=L3]").count() == 0
    page.fill("#customer-search", "西湖文旅")
    page.locator(".picker-list button", has_text=f"#{customer_id}").click()
    page.select_option("#product_line", "workflow")
    page.select_option("#tier", "L2")
    page.fill("#subject", subject)
    page.fill("#description", "导出的 Excel 中文乱码。")
    submit(page, "form")
    match = re.fullmatch(r"/tickets/(\d+)", path_of(page))
    assert match, f"no ticket page after intake: {page.url}\n{flash(page)}"
    ticket_id = match.group(1)
    offered = page.locator("[data-testid=route-explanation] li", has=page.locator("i.bi-check-circle"))
    assert XIHU_AGENT in offered.inner_text(), page.inner_text("[data-testid=route-explanation]")
    agent.shot("ticket-offered-to-xixi")

    # 西溪's administrator, on a phone: offered, it sees whom and what, but no contact yet.
    partner = browsers.open(viewport=PHONE, is_mobile=True, has_touch=True)
    page = partner.login("admin@xihu-agent.demo", next=f"/tickets/{ticket_id}")
    assert WALK_CUSTOMER in page.inner_text("main") and "L2" in page.inner_text("main")
    assert page.locator("[data-testid=customer-contact]").count() == 0 and phone not in page.content()
    partner.shot("offered")
    page.select_option("main form[action$='/accept'] select[name=engineer_id]", index=0)
    submit(page, "form[action$='/accept']")
    assert re.search("已接单|Accepted", page.inner_text("main h1")), flash(page)

    # Holding it: the customer's contact, tap to call, and the address.
    call = page.locator("[data-testid=customer-phone]")
    assert call.get_attribute("href") == "tel:" + phone.replace("-", "")
    assert call.is_visible() and address in page.inner_text("[data-testid=customer-address]")
    assert fits_the_phone(page)
    partner.shot("accepted-with-contact")

    # Escalate to L3: the preview first (included in the contract; 西溪 does not offer L3 here).
    page.click("[data-testid=escalate] summary")
    page.select_option("#escalate_tier", "L3")
    page.fill("#escalate_reason", "远程无法复现，需要上门检查客户端环境")
    submit(page, "form[action$='/escalate']")
    preview = page.locator("[data-testid=escalation-preview]")
    preview.wait_for()
    said = preview.inner_text()
    assert "L3" in said and re.search("不收费|not billable", said), said
    assert re.search("转给提供该服务的伙伴|handed on to a partner", said), said
    assert re.search("不计为推诿|not count as push-back", said), said
    assert fits_the_phone(page)
    partner.shot("escalation-preview")
    submit(page, "form[action$='/escalate']")
    assert path_of(page) == "/tickets/", f"西溪 still sees the ticket: {page.url}\n{flash(page)}"
    assert re.search("已升级到 L3|Escalated to L3", flash(page)), flash(page)
    partner.shot("escalated-and-handed-on")
    assert page.goto(f"/tickets/{ticket_id}").status == 404  # it left 西溪: nothing of it stays
    expected = partner.problems.take()  # the browser reports the 404 asked for, and nothing else
    assert expected and all("404" in problem for problem in expected), expected

    # HQ sees where it went and why: 西溪 skipped for L3, the next partner offered.
    page = agent.page
    page.goto(f"/tickets/{ticket_id}")
    explanation = page.locator("[data-testid=route-explanation]").inner_text()
    assert XIHU_AGENT in explanation and "L3" in explanation, explanation
    offered = page.locator("[data-testid=route-explanation] li", has=page.locator("i.bi-check-circle"))
    assert offered.count() == 1 and XIHU_AGENT not in offered.inner_text(), explanation
    assert re.search("已升级|Escalated", page.inner_text("main")), page.inner_text("main")
    agent.shot("hq-sees-the-hand-on")
