"""Partner scorecards on a phone (390 px), as people use them: HQ's channel manager opens the
province's ranking from the menu, then a partner's scorecard with its twelve-month chart; 西溪's
administrator opens its own scorecard from its company page, and another partner's is not there."""
import re

from tests.browser.conftest import PHONE
from tests.browser.test_phone_tables import MEASURE


def fits_the_phone(page, where):
    measured = page.eval_on_selector("main", MEASURE)
    assert not measured["problems"], f"{where}: " + "; ".join(measured["problems"])
    assert not measured["pageWider"], f"{where}: the page is wider than the phone"


def chart_is_drawn(page):
    page.locator("#scorecard-chart canvas").first.wait_for()
    box = page.locator("#scorecard-chart").bounding_box()
    assert box["width"] > 300 and box["height"] > 100


def test_hq_ranks_a_province_and_opens_a_partners_scorecard_and_xixi_opens_its_own(browsers):
    manager = browsers.open(viewport=PHONE, locale="zh-CN")
    page = manager.login("manager@hq.demo")
    page.click(".navbar-toggler")
    page.locator("#main-nav.show").wait_for()
    page.get_by_role("button", name="稽核").click()
    page.get_by_role("link", name="伙伴评分卡").click()
    page.wait_for_url(re.compile(r"/scorecards"))
    page.select_option("#province", "330000")
    with page.expect_navigation():
        page.get_by_role("button", name="查看").click()
    assert "浙江" in page.inner_text("main")
    assert "Wilson" in page.inner_text("[data-testid=ranking-order]")
    rows = page.locator("[data-testid=ranking] tbody tr")
    assert rows.count() >= 4
    bounds = [cell.strip() for cell in page.locator("[data-testid=ranking] tbody [data-testid=lower-bound]").all_inner_texts()]
    rated = [int(value.rstrip("%")) for value in bounds if value != "—"]
    assert rated and rated == sorted(rated, reverse=True), f"ranked by the lower bound: {bounds}"
    fits_the_phone(page, "ranking")
    manager.shot("province-ranking")

    page.locator("[data-testid=ranking] tbody tr a", has_text="西溪").click()
    page.wait_for_url(re.compile(r"/partners/\d+/scorecard"))
    assert "杭州西溪信息技术有限公司" in page.inner_text("h1")
    chart_is_drawn(page)
    fits_the_phone(page, "partner scorecard")
    manager.shot("xixi-scorecard-for-hq")
    other_scorecard = page.url.split("?")[0]

    xixi = browsers.open(viewport=PHONE, locale="zh-CN")
    page = xixi.login("admin@xihu-agent.demo")
    page.click(".navbar-toggler")
    page.locator("#main-nav.show").wait_for()
    page.get_by_role("button", name="网络").click()
    page.get_by_role("link", name="本公司").click()
    page.locator("[data-testid=scorecard-link]").click()
    page.wait_for_url(re.compile(r"/partners/\d+/scorecard"))
    assert page.url.split("?")[0] == other_scorecard
    assert page.locator("[data-testid=rating]").inner_text().strip() != ""
    chart_is_drawn(page)
    fits_the_phone(page, "own scorecard")
    xixi.shot("own-scorecard")

    own_id = int(re.search(r"/partners/(\d+)/", page.url).group(1))
    response = page.goto(f"/partners/{own_id + 1}/scorecard")
    assert response.status == 404
    xixi.problems.take()  # the 404 page's own request is expected here
    xixi.shot("another-partners-scorecard")
