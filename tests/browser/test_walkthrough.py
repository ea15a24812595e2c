"""Walk-throughs of the product in a real browser, each a user's flow through the UI: sign-ins,
a ticket from intake to resolution, a certification from submission to approval, an audit
decision, the language switch and the coverage map."""
import re
import uuid
from datetime import timedelta

import pytest

from partnernet.demo import DEMO_USERS, XIHU_AGENT
from partnernet.timeclock import today_in_china
from tests.browser.conftest import PHONE

HOMES = {"hq_admin": "/hq", "hq_manager": "/hq", "hq_agent": "/hq", "partner_admin": "/partner", "engineer": "/me"}


def path_of(page) -> str:
    return re.sub(r"^https?://[^/]+", "", page.url).split("?")[0].split("#")[0]


def submit(page, form_selector: str):
    """Click the submit button of one form in <main> and wait for the page it leads to."""
    with page.expect_navigation():
        page.click(f"main {form_selector} button[type=submit]")


def flash(page) -> str:
    alerts = page.locator("main .alert")
    return " | ".join(alerts.all_inner_texts())


@pytest.mark.parametrize("email", [email for email, *_rest in DEMO_USERS])
def test_every_demo_login_lands_on_its_home(browsers, email):
    logins = {row[0]: row for row in browsers.server.logins}
    assert email in logins, f"{email} is not among the seeded demo users: {sorted(logins)}"
    _email, role, party = logins[email]
    user = browsers.open()
    page = user.login(email)
    assert path_of(page) == HOMES[role], f"{email} ({role}) landed on {page.url}"
    who = page.inner_text("[data-testid=whoami]")
    assert party in who, who
    user.shot("home")
    page.click("[data-testid=user-menu]")  # signing out is in the user's menu
    with page.expect_navigation():
        page.click("nav form[action='/logout'] button[type=submit]")
    assert path_of(page) == "/login"
    user.shot("signed-out")


def test_hq_opens_a_ticket_and_the_xihu_agent_resolves_it_on_a_phone(browsers):
    customer_id, customer_name = browsers.server.xihu_customer
    subject = f"浏览器测试：审批节点无法提交 {uuid.uuid4().hex[:6]}"

    # HQ's support agent takes the call and opens the ticket.
    agent = browsers.open()
    page = agent.login("agent@hq.demo", next="/tickets/new")
    agent.shot("new-ticket")
    page.fill("#customer-search", re.sub("(集团)?(股份)?有限(责任)?公司$", "", customer_name))  # 杭州东方电子
    page.locator(".picker-list button").first.wait_for()
    page.locator(".picker-list button", has_text=f"#{customer_id}").click()
    assert page.input_value("#customer_id") == str(customer_id)
    page.select_option("#product_line", "workflow")
    page.select_option("#tier", "L2")
    page.fill("#subject", subject)
    page.fill("#description", "客户反映报销审批流程在部门经理节点无法提交。")
    agent.shot("new-ticket-filled")
    submit(page, "form")
    match = re.fullmatch(r"/tickets/(\d+)", path_of(page))
    assert match, f"no ticket page after intake: {page.url}\n{flash(page)}"
    ticket_id = match.group(1)
    explanation = page.locator("[data-testid=route-explanation]")
    explanation.wait_for()
    offered = explanation.locator("li", has=page.locator("i.bi-check-circle"))
    explained = explanation.inner_text()
    assert offered.count() == 1 and XIHU_AGENT in offered.inner_text(), \
        f"ticket #{ticket_id} was not offered to {XIHU_AGENT}; the route explanation says:\n{explained}"
    agent.shot("ticket-routed")

    # The Xihu agent's administrator, on a phone, accepts it, works it and resolves it.
    partner = browsers.open(viewport=PHONE, is_mobile=True, has_touch=True)
    page = partner.login("admin@xihu-agent.demo")
    assert path_of(page) == "/partner"
    partner.shot("partner-home")
    with page.expect_navigation():
        page.locator(f"main table a[href='/tickets/{ticket_id}']").first.click()
    assert path_of(page) == f"/tickets/{ticket_id}"
    # The offer's deadline: a live countdown within a day; a business-hours ticket opened at night
    # or on a day off has until the next working morning, shown as its date and time.
    countdown = page.locator("main .countdown").first
    left = page.evaluate("el => (Date.parse(el.dataset.deadline) - Date.parse(el.dataset.now)) / 1000",
                         countdown.element_handle())
    if left < 86400:
        first = countdown.inner_text()
        page.wait_for_timeout(1500)
        assert countdown.inner_text() != first and re.fullmatch(r"\d+(:\d\d){1,2}", first), first
    else:
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", countdown.inner_text()), countdown.inner_text()
    engineers = page.locator("main form[action$='/accept'] select[name=engineer_id] option")
    assert engineers.count() >= 1, f"no certified engineer offered for the ticket:\n{page.inner_text('main')}"
    partner.shot("offer")
    page.select_option("main form[action$='/accept'] select[name=engineer_id]", index=0)
    submit(page, "form[action$='/accept']")
    assert page.locator("main form[action$='/accept']").count() == 0, flash(page)
    assert re.search("已接单|Accepted", page.inner_text("main h1")), flash(page)
    partner.shot("accepted")

    page.select_option("main form[action$='/status'] select[name=status]", "in_progress")
    submit(page, "form[action$='/status']")
    assert re.search("处理中|In progress", page.inner_text("main h1")), flash(page)
    partner.shot("in-progress")

    page.select_option("main form[action$='/status'] select[name=status]", "resolved")
    page.fill("main form[action$='/status'] textarea[name=note]", "调整流程节点的提交权限后恢复正常，客户已确认。")
    submit(page, "form[action$='/status']")
    heading = page.inner_text("main h1")
    assert re.search("已解决|Resolved", heading), f"ticket not resolved: {heading}\n{flash(page)}"
    assert "调整流程节点的提交权限" in page.inner_text("main")
    partner.shot("resolved")


def test_engineer_submits_a_certification_and_the_manager_approves_it(browsers):
    number = f"IN-BT-{uuid.uuid4().hex[:8].upper()}"
    today = today_in_china()

    engineer = browsers.open()
    page = engineer.login("engineer@xihu-agent.demo")
    assert path_of(page) == "/me"
    engineer.shot("my-work")
    with page.expect_navigation():
        page.click("nav a.nav-link[href^='/engineers/']")  # My certifications
    engineer.shot("my-certifications")
    form = "form[action$='/certifications']"
    page.select_option(f"main {form} select[name=product_line]", "integration")
    page.select_option(f"main {form} select[name=level]", "associate")
    page.fill(f"main {form} input[name=number]", number)
    page.fill(f"main {form} input[name=issued_on]", (today - timedelta(days=10)).isoformat())
    page.fill(f"main {form} input[name=expires_on]", (today + timedelta(days=720)).isoformat())
    submit(page, form)
    row = page.locator("main table tr", has_text=number)
    assert row.count() == 1, f"the certification is not listed: {flash(page)}"
    assert re.search("待审核|Pending", row.inner_text()), row.inner_text()
    engineer.shot("submitted")

    # (Signing in straight to the page: the HQ dashboard each HQ sign-in lands on is slow to render.)
    manager = browsers.open()
    page = manager.login("manager@hq.demo", next="/certifications/review")
    page.select_option("main form[method=get] select[name=product_line]", "integration")
    with page.expect_navigation():
        page.click("main form[method=get] button[type=submit]")
    card = page.locator("main .card", has_text=number)
    following = page.locator("main a.page-link[href*='after=']")
    for _ in range(40):  # oldest first, 50 a page: a new submission is on the last page
        if card.count() or not following.count():
            break
        with page.expect_navigation():
            following.click()
    assert card.count() == 1, f"{number} is not in the review queue"
    manager.shot("review-queue")
    with page.expect_navigation():
        card.locator("button[name=decision][value=approve]").click()
    assert re.search("已通过|Approved", flash(page)), flash(page)
    assert page.locator("main .card", has_text=number).count() == 0
    manager.shot("approved")

    engineer.page.reload()
    row = engineer.page.locator("main table tr", has_text=number)
    assert re.search("有效|Valid", row.inner_text()), row.inner_text()
    engineer.shot("now-valid")


def test_manager_runs_an_audit_and_decides_a_flagged_finding(browsers):
    manager = browsers.open()
    page = manager.login("manager@hq.demo", next="/audits")
    manager.shot("audits")
    submit(page, "form[action='/audits']")  # last month, the settings' thresholds: the form's defaults
    assert re.fullmatch(r"/audits/\d+", path_of(page)), f"no run page: {page.url}\n{flash(page)}"
    stored = flash(page)
    manager.shot("run")
    flagged = page.locator("[data-testid=scorecard] tr.table-warning[data-party] a[href^='/findings/']")
    assert flagged.count() > 0, (
        "the audit run for last month flagged no partner, so there is no finding to decide; the demo "
        f"network's ticket history should make the push-back partners stand out. The run says: {stored}")
    partner_name = flagged.first.inner_text()
    with page.expect_navigation():
        flagged.first.click()
    assert re.fullmatch(r"/findings/\d+", path_of(page))
    page.locator("[data-testid=why-flagged]").wait_for()
    manager.shot("finding")
    page.select_option("main form[action$='/decision'] select[name=decision]", "warning")
    page.fill("main form[action$='/decision'] textarea[name=note]", "推诿率偏高，书面警告一次，下月复查。")
    submit(page, "form[action$='/decision']")
    decision = page.locator("[data-testid=decision]")
    assert decision.count() == 1, f"no decision recorded for {partner_name}: {flash(page)}"
    assert re.search("警告|Warning", decision.inner_text()), decision.inner_text()
    assert "书面警告一次" in decision.inner_text()
    manager.shot("decided")


def test_language_switch_from_english_to_chinese(browsers):
    admin = browsers.open(locale="en-US")
    page = admin.page
    page.goto("/login")
    assert page.get_attribute("html", "lang") == "en"
    assert "Sign in" in page.inner_text("main")
    admin.login("admin@hq.demo", next="/tickets/")
    nav = page.inner_text("nav")
    assert "Dashboard" in nav and "Tickets" in nav, nav
    assert "Tickets" in page.inner_text("main h1")
    admin.shot("tickets-english")
    with page.expect_navigation():
        page.click("footer button[value=zh_CN]")
    assert path_of(page) == "/tickets/", page.url  # the switch stays on the page
    assert page.get_attribute("html", "lang") == "zh-CN"
    nav = page.inner_text("nav")
    assert "工作台" in nav and "工单" in nav, nav
    assert "工单" in page.inner_text("main h1")
    admin.shot("tickets-chinese")


def test_coverage_map_renders_and_a_province_click_drills_down(browsers):
    manager = browsers.open()
    page = manager.login("manager@hq.demo", next="/coverage")
    page.locator("#china-map canvas, #china-map svg").first.wait_for()
    page.wait_for_function("() => { const el = document.getElementById('china-map');"
                           " const chart = el && window.echarts && echarts.getInstanceByDom(el);"
                           " return !!chart && chart.getOption().series.length > 0; }")
    page.locator("#china-map").scroll_into_view_if_needed()
    manager.shot("coverage-china")
    # Where Zhejiang is on the canvas: ECharts converts a point inside it (near 金华) to pixels.
    x, y = page.evaluate("""() => {
        const el = document.getElementById('china-map');
        const chart = echarts.getInstanceByDom(el);
        const [px, py] = chart.convertToPixel({seriesIndex: 0}, [119.9, 29.1]);
        const box = el.getBoundingClientRect();
        return [box.left + px, box.top + py];
    }""")
    page.mouse.move(x, y)
    with page.expect_navigation():
        page.mouse.click(x, y)
    assert "region=330000" in page.url, page.url
    assert "浙江省" in page.inner_text("main h1"), page.inner_text("main h1")
    assert "浙江省" in page.inner_text("main .breadcrumb")
    manager.shot("coverage-zhejiang")


def test_the_dashboard_and_the_map_in_english(browsers):
    """The channel manager's two pictures, after switching to English: labels, charts and map."""
    manager = browsers.open()
    page = manager.login("manager@hq.demo", next="/hq")
    with page.expect_navigation():
        page.click("footer button[value=en]")
    assert page.get_attribute("html", "lang") == "en"
    assert "Dashboard" in page.inner_text("nav")
    page.locator("#sla-chart canvas, #sla-chart svg").first.wait_for()
    manager.shot("dashboard-english")
    page.goto("/coverage")
    page.locator("#china-map canvas, #china-map svg").first.wait_for()
    page.wait_for_function("() => { const el = document.getElementById('china-map');"
                           " const chart = el && window.echarts && echarts.getInstanceByDom(el);"
                           " return !!chart && chart.getOption().series.length > 0; }")
    assert "Coverage" in page.inner_text("main h1"), page.inner_text("main h1")
    manager.shot("coverage-china-english")
    with page.expect_navigation():
        page.click("footer button[value=zh_CN]")  # leave the demo manager in Chinese


def test_an_agent_adds_a_first_caller_with_the_pickers_and_opens_their_ticket(browsers):
    name = f"浏览器测试客户 {uuid.uuid4().hex[:6]}"
    agent = browsers.open(viewport=PHONE, is_mobile=True, has_touch=True)
    page = agent.login("agent@hq.demo", next="/customers/new")
    page.fill("#name", name)
    page.fill("#region-search", "西湖")
    page.locator(".picker-list button", has_text="330106").first.click()
    assert page.input_value("#region_code") == "330106"
    page.fill("#partner-search", "西溪")
    page.locator(".picker-list button").first.wait_for()
    page.locator(".picker-list button").first.click()
    assert page.input_value("#sold_by_partner_id").isdigit()
    agent.shot("new-customer")
    submit(page, "form")
    assert re.fullmatch(r"/customers/\d+", path_of(page)), f"no customer page: {page.url}\n{flash(page)}"
    assert name in page.inner_text("main h1") and "西溪" in page.inner_text("main")
    agent.shot("customer")
    with page.expect_navigation():
        page.click("main a[href*='/tickets/new?customer=']")
    assert name in page.input_value("#customer-search")
    page.select_option("#product_line", "workflow")
    page.fill("#subject", "首次来电：无法登录")
    submit(page, "form")
    assert re.fullmatch(r"/tickets/\d+", path_of(page)), f"no ticket page after intake: {page.url}\n{flash(page)}"
    agent.shot("first-callers-ticket")
