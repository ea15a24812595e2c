"""The navigation as people meet it, at a laptop's 1366 px and a phone's 390 px, in Chinese and in
English, for HQ's administrator (the most items) and a partner's administrator: no label breaks
onto a second line (工作/台, 退出登/录), nothing is pushed off the screen, the phone gets a collapsed
menu, and every item can be opened (its menu first) and leads to its page."""
import re

import pytest

from tests.browser.conftest import PHONE

LAPTOP = {"width": 1366, "height": 768}
VIEWPORTS = {"laptop": LAPTOP, "phone": PHONE}
LANGUAGES = ("zh-CN", "en-US")
ROLES = ("hq_admin", "partner_admin")

# For each visible label in the navigation: its text, how many lines it takes (its text's height
# over its line height), and whether it lies within the window.
MEASURE = """nav => [...nav.querySelectorAll('.navbar-brand, .nav-link, .dropdown-item')]
  .filter(el => el.getClientRects().length > 0)
  .map(el => {
    const range = document.createRange();
    range.selectNodeContents(el);
    const text = range.getBoundingClientRect(), box = el.getBoundingClientRect();
    const lineHeight = parseFloat(getComputedStyle(el).lineHeight);
    return {label: el.innerText.trim(), lines: Math.round(text.height / lineHeight),
            inside: box.left >= 0 && box.right <= window.innerWidth + 0.5};
  })"""

# The navigation's entries, in order: a link {label, href}, or a menu {label, items: [{label, href}]}.
ENTRIES = """ul => [...ul.children].map(li => {
  const toggle = li.querySelector(':scope > .dropdown-toggle');
  const link = a => ({label: a.innerText.trim(), href: a.getAttribute('href')});
  return toggle ? {label: toggle.innerText.trim(), items: [...li.querySelectorAll('.dropdown-menu a')].map(link)}
                : link(li.querySelector('a'));
})"""


def path_of(page) -> str:
    return re.sub(r"^https?://[^/]+", "", page.url).split("?")[0].split("#")[0]


def check_labels(page, where: str):
    """Every label now visible in the navigation is on one line and within the window."""
    for measured in page.eval_on_selector("nav.navbar", MEASURE):
        assert measured["lines"] == 1, f"{where}: the label {measured['label']!r} wraps onto {measured['lines']} lines"
        assert measured["inside"], f"{where}: the label {measured['label']!r} is off the screen"


def open_menu_bar(page, phone: bool):
    """On a phone the navigation is collapsed behind the menu button: open it."""
    collapsed = page.locator("#main-nav")
    if phone:
        assert not collapsed.is_visible(), "on a phone the navigation starts collapsed"
        page.click(".navbar-toggler")
        page.locator("#main-nav.show").wait_for()
    assert collapsed.is_visible()


def sign_in(browsers, role, language, viewport):
    email = next(email for email, login_role, _party in browsers.server.logins if login_role == role)
    user = browsers.open(viewport=VIEWPORTS[viewport], locale=language)
    user.login(email)
    return user


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("role", ROLES)
def test_every_navigation_item_is_on_one_line_on_screen_and_leads_to_its_page(browsers, role, language, viewport):
    phone = viewport == "phone"
    user = sign_in(browsers, role, language, viewport)
    page = user.page
    where = f"{role}, {language}, {viewport}"
    if not phone:  # one row: the bar is no taller than a line of links
        assert page.locator("nav.navbar").bounding_box()["height"] < 72, f"{where}: the navigation wraps into rows"
    entries = page.eval_on_selector("#main-nav > ul.me-auto", ENTRIES)
    if role == "hq_admin":
        assert sum(len(e.get("items", [e])) for e in entries) == 20 and len(entries) <= 7, entries
    opened, shown_open = 0, False
    for index, entry in enumerate(entries):
        for item, target in enumerate(entry.get("items", [entry])):
            open_menu_bar(page, phone)
            top = page.locator("#main-nav > ul.me-auto > li").nth(index)
            if "items" in entry:
                top.locator(":scope > .dropdown-toggle").click()
                link = top.locator(".dropdown-menu a").nth(item)
            else:
                link = top.locator("a")
            assert link.is_visible(), f"{where}: {entry['label']} › {target['label']} is not shown"
            check_labels(page, where)
            if "items" in entry and not shown_open:
                user.shot(f"{viewport}-{language}-menu-open")
                shown_open = True
            with page.expect_navigation():
                link.click()
            assert path_of(page) == target["href"].split("?")[0], f"{where}: {target['label']} led to {page.url}"
            opened += 1
    # The user's menu: their profile, password, language, and signing out, last.
    open_menu_bar(page, phone)
    page.click("[data-testid=user-menu]")
    for selector in ("a[href='/profile']", "a[href='/password']", "button[value=zh_CN]", "button[value=en]"):
        assert page.locator(f"nav .dropdown-menu {selector}").is_visible(), f"{where}: {selector} is not in the user menu"
    check_labels(page, where)
    user.shot(f"{viewport}-{language}-user-menu")
    with page.expect_navigation():
        page.click("nav form[action='/logout'] button[type=submit]")
    assert path_of(page) == "/login"


def test_a_menu_opens_and_is_walked_by_keyboard(browsers):
    user = sign_in(browsers, "hq_admin", "en-US", "laptop")
    page = user.page
    toggle = page.locator("#main-nav .dropdown-toggle", has_text="System")
    toggle.focus()
    page.keyboard.press("Enter")
    menu = page.locator("#main-nav .dropdown-menu.show")
    menu.wait_for()
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.innerText.trim()") == menu.locator("a").first.inner_text().strip()
    page.keyboard.press("Escape")
    assert not menu.is_visible()
    user.shot("keyboard")
