"""Tables and buttons on a phone (390 px): a table header, a badge or a button label never breaks
onto a second line, and no cell is squeezed to one character a line (级/别); a wide table scrolls
sideways in its box instead, and the page itself does not."""
import pytest
import sqlalchemy as sa

from tests.browser.conftest import PHONE

# Every visible table header, badge in a table, and button in <main> that takes more than one line;
# every table cell squeezed narrower than two characters while its text runs on; and whether the
# page is wider than the window.
MEASURE = """main => {
  const lines = el => {
    const range = document.createRange();
    range.selectNodeContents(el);
    return Math.round(range.getBoundingClientRect().height / parseFloat(getComputedStyle(el).lineHeight));
  };
  const visible = el => el.getClientRects().length > 0;
  const wrapped = [...main.querySelectorAll('table th, table .badge, .btn')]
    .filter(el => visible(el) && el.innerText.trim() && lines(el) > 1)
    .map(el => `${el.tagName.toLowerCase()} ${JSON.stringify(el.innerText.trim())} on ${lines(el)} lines`);
  const squeezed = [...main.querySelectorAll('table td')]
    .filter(el => visible(el) && el.innerText.trim().length > 1 && lines(el) > 1
            && el.getBoundingClientRect().width < 2.5 * parseFloat(getComputedStyle(el).fontSize))
    .map(el => `td ${JSON.stringify(el.innerText.trim())} squeezed to ${lines(el)} lines`);
  return {problems: wrapped.concat(squeezed),
          pageWider: document.documentElement.scrollWidth > window.innerWidth + 1};
}"""


def xihu_partner_id(server) -> int:
    from partnernet.demo import XIHU_AGENT
    from partnernet.extensions import db
    from partnernet.network.models import Party
    with server.app.app_context():
        party_id = db.session.execute(sa.select(Party.id).where(Party.name == XIHU_AGENT)).scalar_one()
        db.session.remove()
    return party_id


@pytest.mark.parametrize("language", ["zh-CN", "en-US"])
def test_tables_and_buttons_on_a_phone_keep_their_labels_on_one_line(browsers, language):
    user = browsers.open(viewport=PHONE, locale=language)
    page = user.login("admin@hq.demo")
    pages = ["/tickets/", f"/partners/{xihu_partner_id(browsers.server)}", "/coverage", "/coverage?region=330000",
             "/partners/", "/hq"]
    found = []
    for path in pages:
        page.goto(path)
        user.shot(f"phone-{language}-{path}")
        measured = page.eval_on_selector("main", MEASURE)
        found += [f"{path}: {problem}" for problem in measured["problems"]]
        if measured["pageWider"]:
            found.append(f"{path}: the page is wider than the phone (a table or a row does not scroll in its box)")
    assert not found, "\n".join(found)
