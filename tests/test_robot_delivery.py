"""Delivering the cards queued for group robots: the real delivery job sends them by real HTTP to the
fake WeCom, DingTalk and Feishu robots on loopback (tests/robot_servers.py), on a clock the test
moves. One card per channel and reason, whatever the number of schedulers; failures retried after
1, 2, 4 and 8 minutes, then shown failed with the provider's message; never more than a robot takes
in a minute (the rest folded into a digest); nothing to a channel that is off; the delivery log
scoped to the party, and no robot key or secret anywhere."""
import logging
import re
import threading
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from partnernet import create_app, timeclock
from partnernet.auth.tokens import issue_token
from partnernet.extensions import db
from partnernet.notifications.channels import save_channel, set_enabled
from partnernet.notifications.delivery import MAX_ATTEMPTS
from partnernet.notifications.models import ChannelMessage
from partnernet.notifications.providers import DINGTALK, FEISHU, OFFICIAL_HOSTS, WECOM, Card
from partnernet.notifications.robots import post_to_party
from partnernet.scheduler import deliver_notifications_job
from partnernet.tickets import service as tickets
from tests import factories
from tests.robot_servers import Robot, RobotServer

NOW = datetime(2026, 12, 7, 2, 30, tzinfo=timezone.utc)  # a Monday, 10:30 in China


class Clock:
    """The test's clock, shared by the app's job (passed as `now`) and the fake robots."""

    def __init__(self, now: datetime):
        self.now = now

    def advance(self, **delta) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def seconds(self) -> float:
        return self.now.timestamp()


@pytest.fixture
def clock():
    return Clock(NOW)


@pytest.fixture
def robots(clock):
    with RobotServer(clock=clock.seconds) as server:
        yield server


@pytest.fixture
def all_logs(caplog):
    """caplog hearing every logger at DEBUG, ours included, so that a secret logged anywhere is found
    (the migrations keep the app's loggers enabled: migrations/env.py)."""
    silenced = [logger.name for logger in logging.root.manager.loggerDict.values()
                if isinstance(logger, logging.Logger) and logger.disabled]
    assert not silenced, f"loggers silenced, a secret logged there would not be seen: {silenced}"
    caplog.set_level(logging.DEBUG)
    yield caplog


def hosts(robots) -> dict:
    return {provider: (robots.origin,) for provider in OFFICIAL_HOSTS}


def wecom_channel(robots, party, key=None, name="派单群", enabled=True):
    key = key or robots.add_wecom()
    return save_channel(party.id, WECOM, robots.url(WECOM, key), None, name, enabled, hosts(robots), NOW)


def queue(party, titles, now=NOW, kind="test"):
    """One card per title to each of the party's enabled channels, as the notifications queue them."""
    for title in titles:
        post_to_party(party.id, kind, f"{kind}:{title}", lambda title=title: Card(title, ("第一行",)), now)
    db.session.commit()


def run_job(app, now):
    deliver_notifications_job(app, now)
    db.session.expire_all()


def messages(**where) -> list[ChannelMessage]:
    statement = sa.select(ChannelMessage).order_by(ChannelMessage.id)
    for name, value in where.items():
        statement = statement.where(getattr(ChannelMessage, name) == value)
    return list(db.session.execute(statement).scalars())


def titles_received(robots) -> list[str]:
    """The titles the robots accepted, a digest's listed titles included (WeCom's markdown: a bold
    title line, then one line each)."""
    found = []
    for message in robots.delivered():
        lines = message.body["markdown"]["content"].split("\n")
        found.append(lines[0].strip("*"))
        found += lines[1:]
    return found


# --- one card per offer and channel --------------------------------------------------------------

def certified_partner():
    partner = factories.partner(name="西溪信息")
    factories.coverage(partner, "330106")
    engineer = factories.engineer(partner)
    factories.certification(engineer, "workflow", issued_on=date(2024, 1, 1), expires_on=date(2027, 12, 31))
    factories.user("partner_admin", party=partner)
    return partner


def open_ticket(subject):
    customer = factories.customer(region_code="330106")
    factories.contract(customer, starts_on=date(2026, 6, 1))
    return tickets.intake(tickets.IntakeRequest(customer_id=customer.id, product_line="workflow", complexity="simple",
                                                channel="phone", subject=subject, tier="L2"), None, NOW)


def test_each_offer_reaches_each_group_once_even_when_two_schedulers_deliver_at_once(app, robots, database_url):
    xixi = certified_partner()
    wecom_channel(robots, xixi, name="西溪企业微信群")
    token, secret = robots.add_dingtalk()
    save_channel(xixi.id, DINGTALK, robots.url(DINGTALK, token), secret, "西溪钉钉群", True, hosts(robots), NOW)
    offered = [open_ticket(f"审批流无法提交 {n}") for n in range(8)]
    assert all(ticket.offered_party_id == xixi.id for ticket in offered)
    assert len(messages(kind="offer")) == 16  # 8 offers × 2 groups
    db.session.remove()
    schedulers = [create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True}) for _ in range(2)]
    barrier, errors = threading.Barrier(2, timeout=30), []

    def scheduler_runs(scheduler_app):
        try:
            barrier.wait()
            deliver_notifications_job(scheduler_app, NOW)
        except Exception as error:  # noqa: BLE001 — any failure fails the test, named
            errors.append(f"{type(error).__name__}: {error}")

    threads = [threading.Thread(target=scheduler_runs, args=(each,)) for each in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for each in schedulers:
        with each.app_context():
            db.engine.dispose()

    assert errors == []
    for provider in (WECOM, DINGTALK):
        delivered = robots.delivered(provider)
        assert len(delivered) == 8, [r.answer for r in robots.received]
        text = [r.body["markdown"]["content" if provider == WECOM else "text"] for r in delivered]
        for ticket in offered:
            assert sum(re.search(rf"#{ticket.id}(?!\d)", card) is not None for card in text) == 1, ticket.id
    assert {m.status for m in messages()} == {"sent"} and {m.attempts for m in messages()} == {1}
    run_job(app, NOW + timedelta(minutes=5))  # a later run sends nothing again
    assert len(robots.delivered()) == 16


def test_a_card_claimed_by_a_scheduler_that_died_is_sent_by_the_next_run(app, robots):
    xixi = factories.partner()
    wecom_channel(robots, xixi)
    queue(xixi, ["打印机无法联网"])
    db.session.execute(sa.update(ChannelMessage).values(status="sending", claimed_until=NOW + timedelta(minutes=2)))
    db.session.commit()

    run_job(app, NOW + timedelta(minutes=1))  # still claimed: the other may yet send it
    assert robots.received == []
    run_job(app, NOW + timedelta(minutes=3))

    assert titles_received(robots)[0] == "打印机无法联网"
    assert messages()[0].status == "sent"


# --- failures: retried with backoff, then shown -----------------------------------------------------

def run_until_given_up(app, clock) -> list[timedelta]:
    """Run the job whenever the card is due, and once a little before: the delays between attempts."""
    delays, last = [], clock.now
    for _ in range(MAX_ATTEMPTS):
        (message,) = messages()
        if message.status == "failed":
            break
        if message.next_attempt_at > clock.now:
            run_job(app, message.next_attempt_at - timedelta(seconds=1))  # not yet due: nothing happens
            assert messages()[0].attempts == message.attempts
            clock.now = message.next_attempt_at
        run_job(app, clock.now)
        delays.append(clock.now - last)
        last = clock.now
    return delays


def test_a_failed_delivery_is_retried_with_backoff_then_shown_failed_with_the_providers_message(
        app, robots, clock, login_as):
    xixi = factories.partner(name="西溪信息")
    wecom_channel(robots, xixi, key="0" * 32)  # no such robot: WeCom answers errcode 93000 inside a 200
    queue(xixi, ["新的派单：打印机无法联网"])

    delays = run_until_given_up(app, clock)

    assert delays == [timedelta(0), timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4),
                      timedelta(minutes=8)]
    assert len(robots.received) == MAX_ATTEMPTS
    (message,) = messages()
    assert (message.status, message.attempts, message.sent_at) == ("failed", MAX_ATTEMPTS, None)
    assert message.last_error.startswith("93000 invalid webhook url")
    page = login_as(factories.user("hq_admin")).get("/notifications/deliveries?status=failed")
    assert page.status_code == 200
    row = page.text.split(f'data-testid="delivery-{message.id}"')[1].split("</tr>")[0]
    assert "新的派单：打印机无法联网" in row and "93000 invalid webhook url" in row and "发送失败" in row


def test_a_dingtalk_channel_saved_with_the_wrong_secret_is_refused_by_the_robot_and_logged_failed(app, robots, clock):
    xixi = factories.partner(name="西溪信息")
    token, _right = robots.add_dingtalk()
    save_channel(xixi.id, DINGTALK, robots.url(DINGTALK, token), "SEC" + "9" * 64, "钉钉派单群", True,
                 hosts(robots), NOW)
    queue(xixi, ["新的派单：审批流无法提交"])

    run_until_given_up(app, clock)

    assert [r.answer["errcode"] for r in robots.received] == [310000] * MAX_ATTEMPTS
    assert robots.delivered() == []
    (message,) = messages()
    assert message.status == "failed" and message.last_error.startswith("310000 sign not match")


def test_retrying_a_failed_delivery_sends_it_again_from_the_first_attempt(app, robots, clock, login_as):
    xixi = factories.partner(name="西溪信息")
    key = "1" * 32  # not yet a robot of the fake
    wecom_channel(robots, xixi, key=key)
    queue(xixi, ["新的派单：打印机无法联网"])
    run_until_given_up(app, clock)
    (message,) = messages()
    robots.robots[key] = Robot(WECOM)  # the group's admin set the robot up again

    admin = login_as(factories.user("partner_admin", party=xixi))
    answer = admin.post(f"/notifications/deliveries/{message.id}/retry", data={"status": "failed"})

    assert answer.status_code == 302
    db.session.expire_all()
    assert (messages()[0].status, messages()[0].attempts) == ("pending", 0)
    clock.now = timeclock.now_utc() + timedelta(seconds=30)  # the page queued it on the app's clock
    run_job(app, clock.now)
    assert (messages()[0].status, messages()[0].attempts) == ("sent", 1)
    assert titles_received(robots) == ["新的派单：打印机无法联网", "第一行"]
    again = admin.post(f"/notifications/deliveries/{message.id}/retry")  # sent: nothing to retry
    assert again.status_code == 302 and len(robots.delivered()) == 1


# --- a robot's limit: at most 20 a minute, the rest in one digest -----------------------------------

def test_more_than_the_robots_limit_in_a_minute_are_folded_into_one_digest_and_every_title_arrives(app, robots):
    xixi = factories.partner(name="西溪信息")
    wecom_channel(robots, xixi)
    titles = [f"新的派单 {n:02d}" for n in range(30)]
    queue(xixi, titles)

    run_job(app, NOW)

    assert len(robots.received) == 20 and len(robots.delivered()) == 20  # never refused for its limit
    assert sorted(titles_received(robots)[0::2][:19]) == titles[:19]  # 19 cards one by one, oldest first
    digest = robots.delivered()[19].body["markdown"]["content"].split("\n")
    assert digest[0] == "**另有 11 条通知（群机器人每分钟只能发送几条）**"
    assert digest[1:] == titles[19:]
    assert len(messages(status="folded")) == 11 and len(messages(kind="digest", status="sent")) == 1
    assert {m.digest_id for m in messages(status="folded")} == {messages(kind="digest")[0].id}


def test_a_full_minute_leaves_new_cards_waiting_for_the_next(app, robots, clock):
    xixi = factories.partner()
    wecom_channel(robots, xixi)
    queue(xixi, [f"第一批 {n}" for n in range(20)])
    run_job(app, NOW)
    queue(xixi, [f"第二批 {n}" for n in range(3)], now=NOW + timedelta(seconds=20))

    run_job(app, clock.advance(seconds=30))  # the robot's minute is full
    assert len(robots.received) == 20 and len(messages(status="pending")) == 3

    run_job(app, clock.advance(seconds=31))
    assert len(robots.delivered()) == 23 and messages(status="pending") == []


def test_a_digest_lists_fifteen_titles_and_how_many_more(app, robots):
    xixi = factories.partner()
    wecom_channel(robots, xixi)
    queue(xixi, [f"派单 {n:02d}" for n in range(40)])

    run_job(app, NOW)

    digest = robots.delivered()[-1].body["markdown"]["content"].split("\n")
    assert digest[0] == "**另有 21 条通知（群机器人每分钟只能发送几条）**"
    assert digest[1:] == [f"派单 {n:02d}" for n in range(19, 34)] + ["还有 6 条"]


def test_a_robot_that_says_its_minute_is_full_gets_the_rest_next_minute_without_using_up_attempts(app, clock):
    with RobotServer(per_minute=5, clock=clock.seconds) as robots:  # someone else posts to this robot too
        xixi = factories.partner()
        wecom_channel(robots, xixi)
        queue(xixi, [f"派单 {n}" for n in range(8)])

        run_job(app, NOW)

        assert [r.answer["errcode"] for r in robots.received] == [0] * 5 + [45009]  # nothing after the refusal
        waiting = messages(status="pending")
        assert len(waiting) == 3 and {m.attempts for m in waiting} == {0}
        assert {m.next_attempt_at for m in waiting} == {NOW + timedelta(minutes=1)}
        assert waiting[0].last_error.startswith("45009 api freq out of limit")

        run_job(app, clock.advance(seconds=61))

        assert len(robots.delivered()) == 8 and messages(status="pending") == []


# --- channels that are off --------------------------------------------------------------------------

def test_nothing_is_sent_for_a_partner_whose_channels_are_off(app, robots):
    xixi = factories.partner(name="西溪信息")
    off = wecom_channel(robots, xixi, enabled=False)
    queue(xixi, ["新的派单：打印机无法联网"])
    on = wecom_channel(robots, xixi, name="白班群")
    queue(xixi, ["新的派单：审批流无法提交"])  # queued while on, then turned off before the job ran
    set_enabled(xixi.id, on.id, False, NOW)

    run_job(app, NOW)

    assert robots.received == []
    assert [m.channel_id for m in messages()] == [on.id]  # nothing was ever queued for `off`
    (message,) = messages()
    assert message.status == "failed" and message.last_error == "未发送：发送前该通知渠道已被关闭。"
    assert off.id not in [m.channel_id for m in messages()]


# --- the delivery log: scoped, paged, no secrets -----------------------------------------------------

def shown_ids(html: str) -> list[int]:
    """The ids of the log's rows on a page, in order."""
    return [int(found) for found in re.findall(r'data-testid="delivery-(\d+)"', html)]


def two_partners_with_failures(app, robots, clock):
    xixi, qiantang = factories.partner(name="西溪信息"), factories.partner(name="钱塘科技")
    wecom_channel(robots, xixi, key="2" * 32, name="西溪派单群")
    wecom_channel(robots, qiantang, key="3" * 32, name="钱塘派单群")
    queue(xixi, ["西溪的派单"])
    queue(qiantang, ["钱塘的派单"])
    for at in (0, 1, 3, 7, 15):
        run_job(app, NOW + timedelta(minutes=at))
    mine, theirs = messages()
    assert mine.status == theirs.status == "failed"
    return xixi, qiantang, mine, theirs


def test_a_partner_admin_sees_and_retries_only_its_own_partners_deliveries(app, robots, clock, login_as):
    xixi, qiantang, mine, theirs = two_partners_with_failures(app, robots, clock)
    admin = login_as(factories.user("partner_admin", party=xixi))

    page = admin.get("/notifications/deliveries")
    assert "西溪的派单" in page.text and "西溪派单群" in page.text
    assert "钱塘的派单" not in page.text and "钱塘派单群" not in page.text
    assert shown_ids(admin.get(f"/notifications/deliveries?party={qiantang.id}").text) == [mine.id]
    assert admin.post(f"/notifications/deliveries/{theirs.id}/retry").status_code == 404
    db.session.expire_all()
    assert db.session.get(ChannelMessage, theirs.id).status == "failed"

    token = issue_token(factories.user("partner_admin", party=xixi), "api", NOW)[1]
    api = app.test_client()
    listed = api.get("/api/v1/deliveries?status=failed", headers={"Authorization": f"Bearer {token}"})
    assert [item["id"] for item in listed.get_json()["items"]] == [mine.id]
    assert listed.get_json()["items"][0]["provider_message"].startswith("93000")
    refused = api.post(f"/api/v1/deliveries/{theirs.id}/retry", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 404 and refused.get_json()["error"]["code"] == "not_found"
    retried = api.post(f"/api/v1/deliveries/{mine.id}/retry", headers={"Authorization": f"Bearer {token}"})
    assert retried.status_code == 200 and retried.get_json()["status"] == "pending"
    assert retried.get_json()["attempts"] == 0
    again = api.post(f"/api/v1/deliveries/{mine.id}/retry", headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 409


def test_hq_admin_sees_every_partners_deliveries_and_filters_by_party_and_failure(app, robots, clock, login_as):
    xixi, qiantang, mine, theirs = two_partners_with_failures(app, robots, clock)
    sent = factories.partner(name="拱墅服务")
    wecom_channel(robots, sent, name="拱墅派单群")
    queue(sent, ["拱墅的派单"])
    run_job(app, NOW + timedelta(minutes=20))
    hq = login_as(factories.user("hq_admin"))

    everything = hq.get("/notifications/deliveries").text
    failed = hq.get("/notifications/deliveries?status=failed").text
    one_party = hq.get(f"/notifications/deliveries?party={qiantang.id}").text

    assert all(title in everything for title in ("西溪的派单", "钱塘的派单", "拱墅的派单"))
    assert "西溪的派单" in failed and "钱塘的派单" in failed and "拱墅的派单" not in failed
    assert "钱塘的派单" in one_party and "西溪的派单" not in one_party
    token = issue_token(factories.user("hq_admin"), "api", NOW)[1]
    api = app.test_client().get(f"/api/v1/deliveries?partner_id={qiantang.id}&status=failed",
                                headers={"Authorization": f"Bearer {token}"}).get_json()
    assert [item["title"] for item in api["items"]] == ["钱塘的派单"]
    assert hq.get("/notifications/deliveries").status_code == 200
    engineer, other = factories.user("engineer", engineer_=factories.engineer(xixi)), app.test_client()
    assert other.post("/login", data={"email": engineer.email, "password": factories.PASSWORD}).status_code == 302
    assert other.get("/notifications/deliveries").status_code == 403


def test_the_log_is_paged_newest_first_by_id(app, robots, login_as):
    xixi = factories.partner()
    wecom_channel(robots, xixi)
    queue(xixi, [f"派单 {n:02d}" for n in range(60)])
    admin = login_as(factories.user("partner_admin", party=xixi))
    ids = [m.id for m in messages()]

    first = admin.get("/notifications/deliveries").text
    shown = shown_ids(first)
    assert shown == ids[::-1][:50]
    assert f'href="/notifications/deliveries?before={shown[-1]}">更早</a>' in first
    second = admin.get(f"/notifications/deliveries?before={shown[-1]}").text
    assert shown_ids(second) == ids[::-1][50:]
    assert ">更早</a>" not in second and 'href="/notifications/deliveries">最新</a>' in second

    token = issue_token(factories.user("partner_admin", party=xixi), "api", NOW)[1]
    headers = {"Authorization": f"Bearer {token}"}
    page = app.test_client().get("/api/v1/deliveries?limit=40", headers=headers).get_json()
    rest = app.test_client().get(f"/api/v1/deliveries?limit=40&cursor={page['next_cursor']}", headers=headers).get_json()
    assert [item["id"] for item in page["items"] + rest["items"]] == ids[::-1] and rest["next_cursor"] is None


def test_no_robot_key_or_secret_appears_on_the_log_page_in_the_api_or_in_the_logs(app, robots, clock, login_as,
                                                                                    all_logs):
    xixi = factories.partner(name="西溪信息")
    wecom_key = "4" * 32  # unknown to the fake: fails, and its failures are logged
    wecom_channel(robots, xixi, key=wecom_key)
    ding_token, _right = robots.add_dingtalk()
    wrong_secret = "SEC" + "7" * 64
    save_channel(xixi.id, DINGTALK, robots.url(DINGTALK, ding_token), wrong_secret, "", True, hosts(robots), NOW)
    feishu_token, feishu_secret = robots.add_feishu()
    save_channel(xixi.id, FEISHU, robots.url(FEISHU, feishu_token), feishu_secret, "", True, hosts(robots), NOW)
    queue(xixi, ["新的派单：打印机无法联网"])
    for at in (0, 1, 3, 7, 15):
        run_job(app, NOW + timedelta(minutes=at))
    assert len(messages(status="failed")) == 2 and len(messages(status="sent")) == 1

    admin = login_as(factories.user("partner_admin", party=xixi))
    page = admin.get("/notifications/deliveries").text
    token = issue_token(factories.user("hq_admin"), "api", NOW)[1]
    api = app.test_client().get("/api/v1/deliveries", headers={"Authorization": f"Bearer {token}"}).text

    assert "93000 invalid webhook url" in page and "310000 sign not match" in page
    for secret in (wecom_key, ding_token, wrong_secret, feishu_token, feishu_secret):
        assert secret not in page and secret not in api and secret not in all_logs.text
    assert "310000 sign not match" in all_logs.text  # the failures were logged, without them
