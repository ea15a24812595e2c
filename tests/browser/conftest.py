"""Browser tests: the real app in Debian's headless Chromium, driven by Playwright for Python.

One server for the whole session: a fresh SQLite database, migrated and seeded with the demo
network, served by werkzeug on 127.0.0.1 in a background thread (no scheduler, so nothing moves
behind the tests' backs). Chromium is Debian's (`apt-get install chromium`), never a browser
Playwright downloads. Without it the tests skip with the reason, except in CI (CI=true), where
they fail.

Every page a test visits is saved as a full-page screenshot under test-artifacts/screenshots/
(CI keeps test-artifacts/), and every page is checked for browser console errors, uncaught
script errors, Content-Security-Policy violations and server errors.
"""
import os
import re
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 15_000


def unavailable(message: str):
    """Skip outside CI; in CI a missing browser is a broken build, not a skipped test."""
    if IN_CI:
        pytest.fail(message + " — CI must run the browser tests, not skip them", pytrace=False)
    pytest.skip(message)


def chromium_path() -> str | None:
    """CHROMIUM=/path/to/chromium if set (only that one), else Debian's chromium on PATH or in /usr/bin."""
    candidates = [os.environ["CHROMIUM"]] if os.environ.get("CHROMIUM") else [shutil.which("chromium"), "/usr/bin/chromium"]
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


# --- the server -------------------------------------------------------------------------------------

@dataclass
class LiveServer:
    url: str
    app: object
    logins: list            # (email, role, party name) of the demo users, from partnernet.demo.demo_logins()
    password: str
    xihu_customer: tuple    # (id, name) of a customer in 西湖区 (330106)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    missing = [str(po.relative_to(ROOT)) for po in ROOT.glob("partnernet/translations/*/LC_MESSAGES/messages.po")
               if not po.with_suffix(".mo").exists()]
    if missing:
        pytest.fail(f"the message catalogues are not compiled ({', '.join(missing)}): run `make translations`",
                    pytrace=False)
    import sqlalchemy as sa
    from werkzeug.serving import make_server

    from partnernet import create_app, demo
    from partnernet.customers.models import Customer
    from partnernet.extensions import db
    from tests.databases import migrate

    url = "sqlite:///" + str(tmp_path_factory.mktemp("browser-db") / "partnernet.sqlite")
    migrate(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        demo.seed_demo()
        logins = demo.demo_logins()
        customer = db.session.execute(sa.select(Customer.id, Customer.name).where(Customer.region_code == "330106")
                                      .order_by(Customer.id).limit(1)).first()
        assert customer is not None, "the demo network has no customer in 西湖区 (330106)"
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="browser-test-server", daemon=True)
    thread.start()
    yield LiveServer(f"http://127.0.0.1:{server.server_port}", app, logins, demo.DEMO_PASSWORD, tuple(customer))
    server.shutdown()
    thread.join(timeout=10)
    with app.app_context():
        db.engine.dispose()


# --- the browser ------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser():
    executable = chromium_path()
    if executable is None:
        unavailable("needs Debian's chromium (apt-get install chromium)"
                    + (f"; CHROMIUM={os.environ['CHROMIUM']} is not an executable file" if os.environ.get("CHROMIUM") else ""))
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("needs Playwright for Python (pip install -r requirements.txt)")
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
    except Exception as error:  # noqa: BLE001 (any launch failure means: no usable browser here)
        playwright.stop()
        unavailable(f"Chromium at {executable} does not start: {error}")
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture(scope="session")
def screenshot_dir():
    """test-artifacts/screenshots/, emptied once per session so that it shows this run only."""
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    SCREENSHOTS.mkdir(parents=True)
    return SCREENSHOTS


@dataclass
class Problems:
    """What went wrong in the browser on the page being looked at."""
    items: list = field(default_factory=list)

    def console(self, message):
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.items.append(f"CSP violation: {text}")
        elif message.type == "error":  # a missing /favicon.ico too: every page has one
            self.items.append(f"console error: {text} ({(message.location or {}).get('url', '')})")

    def page_error(self, error):
        self.items.append(f"uncaught script error: {error}")

    def response(self, response):
        if response.status >= 500:
            self.items.append(f"server error {response.status}: {response.request.method} {response.url}")

    def take(self) -> list:
        found, self.items = self.items, []
        return found


class Session:
    """One user's browser (a context of its own: cookies, viewport, language) and its page."""

    def __init__(self, test, context, page, problems):
        self.test, self.context, self.page, self.problems = test, context, page, problems

    def shot(self, name: str) -> Path:
        """Save the page as a full-page screenshot and check that the browser saw no problems on it."""
        self.test.count += 1
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")
        path = self.test.directory / f"{self.test.name}-{self.test.count:02d}-{slug}.png"
        self.page.wait_for_load_state("load")
        self.page.screenshot(path=str(path), full_page=True)
        found = self.problems.take()
        assert not found, f"browser problems on {self.page.url} (screenshot {path.name}):\n" + "\n".join(found)
        return path

    def login(self, email: str, next: str | None = None):
        """Sign in through the login form; with `next`, straight to that page instead of the home."""
        page = self.page
        page.goto("/login" + (f"?next={quote(next)}" if next else ""))
        page.fill("#email", email)
        page.fill("#password", self.test.server.password)
        self.shot("login-" + email.split("@")[0] + "-" + email.split("@")[1].split(".")[0])
        with page.expect_navigation():
            page.click("main button[type=submit]")
        assert "/login" not in page.url, f"{email} could not sign in: {page.inner_text('main')}"
        if next:
            assert page.url.endswith(next), f"{email} signed in, but landed on {page.url} instead of {next}"
        return page


@dataclass
class Browsers:
    server: LiveServer
    browser: object
    directory: Path
    name: str
    count: int = 0
    sessions: list = field(default_factory=list)

    def open(self, viewport=None, locale="zh-CN", **options) -> Session:
        context = self.browser.new_context(base_url=self.server.url, viewport=viewport or DESKTOP,
                                           locale=locale, timezone_id="Asia/Shanghai", **options)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        problems = Problems()
        page.on("console", problems.console)
        page.on("pageerror", problems.page_error)
        page.on("response", problems.response)
        session = Session(self, context, page, problems)
        self.sessions.append(session)
        return session

    def close(self):
        leftovers = []
        for session in self.sessions:
            leftovers += session.problems.take()
            session.context.close()
        return leftovers


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.browser_test_failed = report.failed
    return report


@pytest.fixture
def browsers(request, browser, live_server, screenshot_dir):
    """Open one browser context per user: `browsers.open(viewport=PHONE)` → a Session."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    opened = Browsers(live_server, browser, screenshot_dir, name)
    yield opened
    if getattr(request.node, "browser_test_failed", False):
        for index, session in enumerate(opened.sessions, 1):  # where each user's page was when it failed
            try:
                session.page.screenshot(path=str(screenshot_dir / f"{name}-FAILED-user{index}.png"), full_page=True)
            except Exception:  # noqa: BLE001 (a page that cannot be shot must not hide the failure)
                pass
    leftovers = opened.close()
    assert not leftovers, "browser problems after the last screenshot:\n" + "\n".join(leftovers)
