"""Setting a party's group robots through the pages (CSRF on) and the API: a partner admin sets only
its own partner's, HQ's admin HQ's; the address and the secret are never shown back; bad input is a
form error that saves nothing; "send a test message" queues one card and sends nothing in the request.
And each user's choice of the notifications they get by e-mail."""
import logging
import re

import pytest
import sqlalchemy as sa
from flask import g

from partnernet import create_app
from partnernet.auth import tokens
from partnernet.extensions import db, limiter
from partnernet.notifications.models import ChannelMessage, Notification, NotificationChannel
from partnernet.notifications.providers import DINGTALK, FEISHU, OFFICIAL_HOSTS, WECOM
from partnernet.notifications.service import notify_each
from partnernet.timeclock import now_utc
from tests import factories
from tests.robot_servers import RobotServer
from tests.test_tickets import NOW, certified_partner, open_ticket

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture
def robots():
    with RobotServer() as server:
        yield server


@pytest.fixture
def app(database_url, robots):
    """The real app with CSRF protection on, as in production; robots allowed on the fake's origin."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True,
                      "ROBOT_HOSTS": {provider: (robots.origin,) for provider in OFFICIAL_HOSTS}})
    with app.app_context():
        limiter.reset()
        yield app
        db.session.remove()
        db.engine.dispose()


def csrf_token_of(client, path) -> str:
    """The CSRF token of the form on the page. The test's app context (which the client's requests
    share) must not remember the token of an earlier session: Flask-WTF caches it in `g`."""
    g.pop("csrf_token", None)
    return CSRF.search(client.get(path).get_data(as_text=True)).group(1)


class Browser:
    """A signed-in user's client that posts forms with the CSRF token of the page they came from."""

    def __init__(self, client):
        self.client = client

    def get(self, path, **kwargs):
        return self.client.get(path, **kwargs)

    def token(self, path):
        return csrf_token_of(self.client, path)

    def post(self, path, data=None, page="/profile"):
        return self.client.post(path, data={**(data or {}), "csrf_token": self.token(page)})


@pytest.fixture
def sign_in(app):
    def sign_in(user):
        client = app.test_client()
        token = csrf_token_of(client, "/login")
        response = client.post("/login", data={"email": user.email, "password": factories.PASSWORD,
                                               "csrf_token": token})
        assert response.status_code == 302, "sign-in failed"
        return Browser(client)
    return sign_in


@pytest.fixture
def xixi():
    return factories.partner(name="西溪信息")


def stored_channels(party_id=None):
    statement = sa.select(NotificationChannel).order_by(NotificationChannel.id)
    if party_id is not None:
        statement = statement.where(NotificationChannel.party_id == party_id)
    db.session.expire_all()
    return list(db.session.execute(statement).scalars())


def add_channel(browser, **fields):
    values = {"provider": WECOM, "name": "西溪派单群", "webhook_url": "", "secret": "", "locale": "zh_CN",
              "enabled": "y", **fields}
    return browser.post("/channels/new", values, page="/channels/new")


# --- the pages ---------------------------------------------------------------------------------

def test_a_partner_admin_adds_changes_turns_off_and_removes_its_dispatch_group_on_its_partner_page(
        app, sign_in, robots, xixi):
    admin = sign_in(factories.user("partner_admin", party=xixi))
    token, secret = robots.add_dingtalk()

    response = add_channel(admin, provider=DINGTALK, webhook_url=robots.url(DINGTALK, token), secret=secret)
    assert response.status_code == 302 and response.location.endswith(f"/partners/{xixi.id}#channels")
    (channel,) = stored_channels(xixi.id)
    assert (channel.provider, channel.name, channel.webhook_url, channel.secret, channel.enabled) == \
        (DINGTALK, "西溪派单群", robots.url(DINGTALK, token), secret, True)
    page = admin.get(f"/partners/{xixi.id}").get_data(as_text=True)
    assert "西溪派单群" in page and channel.masked_webhook in page and 'data-testid="signed"' in page

    edit = f"/channels/{channel.id}/edit"
    response = admin.post(edit, {"provider": DINGTALK, "name": "夜班派单群", "webhook_url": "", "secret": "",
                                 "locale": "en", "enabled": "y"}, page=edit)
    assert response.status_code == 302
    (channel,) = stored_channels(xixi.id)
    assert (channel.name, channel.locale, channel.secret) == ("夜班派单群", "en", secret)  # empty kept the secret

    assert admin.post(f"/channels/{channel.id}/enabled", {"enabled": "0"}, page=f"/partners/{xixi.id}").status_code == 302
    assert stored_channels(xixi.id)[0].enabled is False
    assert admin.post(f"/channels/{channel.id}/enabled", {"enabled": "1"}, page=f"/partners/{xixi.id}").status_code == 302
    assert stored_channels(xixi.id)[0].enabled is True

    assert admin.post(f"/channels/{channel.id}/delete", page=f"/partners/{xixi.id}").status_code == 302
    assert stored_channels(xixi.id) == []


def test_a_post_without_the_csrf_token_changes_nothing(app, sign_in, robots, xixi):
    admin = sign_in(factories.user("partner_admin", party=xixi))
    response = admin.client.post("/channels/new", data={"provider": WECOM, "webhook_url": robots.url(WECOM, "k" * 16)})
    assert response.status_code == 400
    assert stored_channels() == []


def test_the_secret_and_the_address_never_appear_in_a_page_or_the_log_after_saving(
        app, sign_in, robots, xixi, caplog):
    caplog.set_level(logging.DEBUG)
    admin = sign_in(factories.user("partner_admin", party=xixi, locale="en"))
    token, secret = robots.add_feishu()
    add_channel(admin, provider=FEISHU, webhook_url=robots.url(FEISHU, token), secret=secret)
    (channel,) = stored_channels(xixi.id)

    pages = [admin.get(path).get_data(as_text=True)
             for path in (f"/partners/{xixi.id}", f"/channels/{channel.id}/edit", "/profile")]
    pages.append(admin.client.get("/api/v1/channels").get_data(as_text=True))

    for text in pages + [caplog.text]:
        assert secret not in text and token not in text
    assert channel.masked_webhook in pages[1] and "A secret is saved" in pages[1]


def test_another_partners_admin_gets_404_on_the_forms_of_a_channel_not_theirs(app, sign_in, robots, xixi):
    other = factories.partner(name="钱塘科技")
    sign_in(factories.user("partner_admin", party=xixi))
    owner = sign_in(factories.user("partner_admin", party=xixi))
    add_channel(owner, webhook_url=robots.url(WECOM, robots.add_wecom()))
    (channel,) = stored_channels(xixi.id)
    intruder = sign_in(factories.user("partner_admin", party=other))

    assert intruder.get(f"/channels/{channel.id}/edit").status_code == 404
    for action in ("edit", "enabled", "delete", "test"):
        response = intruder.post(f"/channels/{channel.id}/{action}", {"enabled": "0", "provider": WECOM,
                                                                     "webhook_url": robots.url(WECOM, "x" * 16)})
        assert response.status_code == 404, action
    assert intruder.get(f"/partners/{xixi.id}").status_code == 404
    (unchanged,) = stored_channels(xixi.id)
    assert unchanged.enabled and unchanged.webhook_url == channel.webhook_url
    assert db.session.execute(sa.select(sa.func.count(ChannelMessage.id))).scalar_one() == 0
    # What they add is their own partner's, whatever they post: the party comes from who they are.
    add_channel(intruder, webhook_url=robots.url(WECOM, robots.add_wecom()), party_id=str(xixi.id))
    assert len(stored_channels(other.id)) == 1 and len(stored_channels(xixi.id)) == 1


def test_only_the_partners_own_admin_sees_its_dispatch_group(app, sign_in, robots, xixi):
    admin = sign_in(factories.user("partner_admin", party=xixi))
    add_channel(admin, webhook_url=robots.url(WECOM, robots.add_wecom()))
    engineer = sign_in(factories.user("engineer", engineer_=factories.engineer(xixi)))
    hq = sign_in(factories.user("hq_admin"))

    assert 'id="channels"' in admin.get(f"/partners/{xixi.id}").get_data(as_text=True)
    assert 'id="channels"' not in hq.get(f"/partners/{xixi.id}").get_data(as_text=True)
    assert engineer.get("/channels/new").status_code == 403


@pytest.mark.parametrize("fields, field, says", [
    ({"webhook_url": "https://example.com/cgi-bin/webhook/send?key=abcdefgh12345678"}, "webhook_url",
     "not on WeCom"),
    ({"webhook_url": "http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abcdefgh12345678"}, "webhook_url",
     "must start with https://"),
    ({"provider": DINGTALK, "webhook_url": "ROBOT", "secret": "not-a-secret"}, "secret", "SEC"),
    ({"provider": FEISHU, "webhook_url": "ROBOT", "secret": "short"}, "secret", "16 to 64"),
])
def test_a_bad_address_or_secret_is_a_form_error_and_nothing_is_saved(app, sign_in, robots, xixi, fields,
                                                                     field, says):
    admin = sign_in(factories.user("partner_admin", party=xixi, locale="en"))
    if fields["webhook_url"] == "ROBOT":
        fields["webhook_url"] = robots.url(fields["provider"], "t" * 32)

    response = add_channel(admin, **fields)

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert says in page and 'class="invalid-feedback d-block"' in page
    assert f'id="{field}"' in page and "is-invalid" in page
    assert stored_channels() == []


def test_the_test_button_queues_one_test_card_and_sends_nothing_in_the_request(app, sign_in, robots, xixi):
    admin = sign_in(factories.user("partner_admin", party=xixi, locale="en"))
    add_channel(admin, webhook_url=robots.url(WECOM, robots.add_wecom()), locale="en")
    (channel,) = stored_channels(xixi.id)

    response = admin.post(f"/channels/{channel.id}/test", page=f"/partners/{xixi.id}")

    assert response.status_code == 302
    (message,) = db.session.execute(sa.select(ChannelMessage)).scalars()
    assert (message.channel_id, message.kind, message.status) == (channel.id, "test", "pending")
    assert message.title == "Test message from partnernet" and "西溪信息" in " ".join(message.lines)
    assert robots.received == []  # the delivery job sends it, not the request
    assert "within a minute" in admin.get(f"/partners/{xixi.id}").get_data(as_text=True)
    admin.post(f"/channels/{channel.id}/test", page=f"/partners/{xixi.id}")  # pressed again: another card
    assert db.session.execute(sa.select(sa.func.count(ChannelMessage.id))).scalar_one() == 2
    assert robots.received == []


def test_hq_admin_sets_hqs_queue_group_on_the_settings_page(app, sign_in, robots, xixi):
    hq_admin = sign_in(factories.user("hq_admin"))
    partner_admin = sign_in(factories.user("partner_admin", party=xixi))

    assert 'href="/settings/channels"' in hq_admin.get("/settings/").get_data(as_text=True)
    response = add_channel(hq_admin, name="总部调度群", webhook_url=robots.url(WECOM, robots.add_wecom()))

    assert response.status_code == 302 and response.location.endswith("/settings/channels")
    (channel,) = stored_channels(factories.hq().id)
    assert "总部调度群" in hq_admin.get("/settings/channels").get_data(as_text=True)
    assert partner_admin.get("/settings/channels").status_code == 403
    assert partner_admin.get(f"/channels/{channel.id}/edit").status_code == 404


# --- e-mail preferences ------------------------------------------------------------------------

def test_a_kind_left_out_of_email_reaches_the_bell_only_and_other_kinds_stay_e_mailed(app, sign_in):
    app.config["SMTP_HOST"] = "127.0.0.1"  # e-mail is set up: a notification is pending for SMTP
    partner, engineer = certified_partner()
    quiet = factories.user("partner_admin", party=partner, locale="en")
    other = factories.user("partner_admin", party=partner)
    browser = sign_in(quiet)

    # Only reminders by e-mail: offers and certificates are left out.
    assert browser.post("/notifications/email-preferences", {"by_email": ["offer_reminder"]}).status_code == 302
    profile = browser.get("/profile").get_data(as_text=True)
    assert 'value="offer" id="by-email-offer">' in profile  # unticked
    assert 'value="offer_reminder" id="by-email-offer_reminder" checked>' in profile

    ticket = open_ticket()  # the offer: one INSERT … SELECT for the partner's admins
    for kind in ("certification_expiring", "offer_reminder"):  # one INSERT of the users' rows each
        notify_each([quiet, other], kind, f"{kind}:1", lambda: ("s", "b"), None, NOW)
    db.session.commit()
    status = {(n.user_id, n.kind): n.status for n in db.session.execute(sa.select(Notification)).scalars()}
    assert status[(quiet.id, "offer")] == status[(quiet.id, "certification_expiring")] == "app_only"
    assert status[(other.id, "offer")] == status[(other.id, "certification_expiring")] == "pending"
    assert status[(quiet.id, "offer_reminder")] == status[(other.id, "offer_reminder")] == "pending"
    assert f"#{ticket.id}" in browser.get("/notifications/").get_data(as_text=True)  # still under the bell


# --- the API -----------------------------------------------------------------------------------

@pytest.fixture
def api(app):
    def as_user(user):
        _token, secret = tokens.issue_token(user, "test", now_utc())
        client = app.test_client()
        headers = {"Authorization": f"Bearer {secret}"}

        class Caller:
            def __getattr__(self, method):
                return lambda path, **kwargs: getattr(client, method)(path, headers=headers, **kwargs)
        return Caller()
    return as_user


def test_the_channels_api_adds_changes_tests_and_removes_the_callers_own_robots(app, api, robots, xixi):
    admin = api(factories.user("partner_admin", party=xixi))
    token, secret = robots.add_dingtalk()

    created = admin.post("/api/v1/channels", json={"provider": DINGTALK, "name": "派单群", "secret": secret,
                                                   "webhook_url": robots.url(DINGTALK, token)})
    assert created.status_code == 201, created.json
    body = created.json
    assert body["signed"] is True and body["language"] == "zh_CN" and body["enabled"] is True
    assert token not in created.get_data(as_text=True) and secret not in created.get_data(as_text=True)
    (channel,) = stored_channels(xixi.id)
    assert channel.secret == secret

    changed = admin.patch(f"/api/v1/channels/{channel.id}", json={"enabled": False, "language": "en"})
    assert changed.status_code == 200 and (changed.json["enabled"], changed.json["language"]) == (False, "en")
    assert stored_channels(xixi.id)[0].secret == secret
    assert [c["id"] for c in admin.get("/api/v1/channels").json] == [channel.id]

    queued = admin.post(f"/api/v1/channels/{channel.id}/test")
    assert queued.status_code == 202 and queued.json["status"] == "pending"
    assert robots.received == []

    assert admin.delete(f"/api/v1/channels/{channel.id}").status_code == 204
    assert stored_channels(xixi.id) == []


def test_the_channels_api_answers_422_naming_the_field_and_404_for_another_partys_robot(app, api, robots, xixi):
    other = factories.partner(name="钱塘科技")
    theirs = api(factories.user("partner_admin", party=other))
    channel_id = theirs.post("/api/v1/channels", json={"provider": WECOM,
                                                       "webhook_url": robots.url(WECOM, robots.add_wecom())}).json["id"]
    admin = api(factories.user("partner_admin", party=xixi))

    elsewhere = admin.post("/api/v1/channels", json={
        "provider": WECOM, "webhook_url": "https://example.com/cgi-bin/webhook/send?key=abcdefgh12345678"})
    no_secret = admin.post("/api/v1/channels", json={"provider": DINGTALK,
                                                     "webhook_url": robots.url(DINGTALK, "t" * 32)})
    unknown = admin.post("/api/v1/channels", json={"provider": "slack", "webhook_url": "https://x"})

    assert elsewhere.status_code == no_secret.status_code == unknown.status_code == 422
    assert "webhook_url" in elsewhere.json["error"]["fields"] and "secret" in no_secret.json["error"]["fields"]
    assert "provider" in unknown.json["error"]["fields"]
    assert stored_channels(xixi.id) == []
    for method, path in (("patch", ""), ("delete", ""), ("post", "/test")):
        kwargs = {"json": {"enabled": False}} if method == "patch" else {}
        response = getattr(admin, method)(f"/api/v1/channels/{channel_id}{path}", **kwargs)
        assert response.status_code == 404 and response.json["error"]["code"] == "not_found", (method, path)
    assert stored_channels(other.id)[0].enabled
    assert api(factories.user("hq_agent")).get("/api/v1/channels").status_code == 403


def test_the_api_reads_and_sets_the_callers_email_preferences(app, api):
    caller = api(factories.user("hq_agent"))

    assert all(kind["by_email"] for kind in caller.get("/api/v1/me/email-preferences").json["kinds"])
    response = caller.put("/api/v1/me/email-preferences", json={"by_email": ["offer"]})
    refused = caller.put("/api/v1/me/email-preferences", json={"by_email": ["no_such_kind"]})

    assert response.status_code == 200
    chosen = {kind["kind"]: kind["by_email"] for kind in response.json["kinds"]}
    assert chosen["offer"] and not chosen["offer_reminder"]
    assert refused.status_code == 422 and "by_email.0" in refused.json["error"]["fields"]
    assert {k["kind"]: k["by_email"] for k in caller.get("/api/v1/me/email-preferences").json["kinds"]} == chosen


def test_the_channels_endpoints_are_in_the_openapi_document(app):
    paths = app.test_client().get("/api/v1/openapi.json").json["paths"]
    assert {"/api/v1/channels", "/api/v1/channels/{channel_id}", "/api/v1/channels/{channel_id}/test",
            "/api/v1/me/email-preferences"} <= set(paths)
