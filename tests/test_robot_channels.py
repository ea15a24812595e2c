"""The WeCom, DingTalk and Feishu group robots: a card goes by real HTTP to a fake of each provider
on loopback (tests/robot_servers.py), signed as the provider documents; what the provider answers
inside its 200 decides delivered or failed; a webhook address is the provider's own, over HTTPS."""
import logging
from datetime import datetime, timedelta, timezone
from urllib.parse import quote_plus

import pytest
from flask_babel import force_locale

from partnernet import timeclock
from partnernet.config import ConfigError, robot_hosts
from partnernet.errors import NotFound, ValidationFailed
from partnernet.extensions import db
from partnernet.notifications.channels import channels_of, save_channel, set_enabled
from partnernet.notifications.robots import enabled_channels
from partnernet.notifications.models import NotificationChannel
from partnernet.notifications.providers import (
    DINGTALK, FEISHU, OFFICIAL_HOSTS, WECOM, Card, InvalidWebhook, check_secret, check_webhook_url, parse_answer,
    send)
from tests import factories
from tests.robot_servers import RobotServer
from tests.servers import free_port

CARD = Card(title="新的派单：打印机无法联网",
            lines=("地点：浙江省杭州市西湖区", "级别：L3 上门", "接单截止：今天 14:35"),
            link="https://service.example.com/tickets/42", link_label="打开工单")


@pytest.fixture
def robots():
    with RobotServer() as server:
        yield server


def test_wecom_group_receives_the_card_in_chinese(robots):
    key = robots.add_wecom()

    answer = send(WECOM, robots.url(WECOM, key), None, CARD, timeclock.now_utc())

    assert answer.ok
    (message,) = robots.delivered(WECOM)
    content = message.body["markdown"]["content"]
    assert message.body["msgtype"] == "markdown"
    assert "新的派单：打印机无法联网" in content and "级别：L3 上门" in content
    assert "[打开工单](https://service.example.com/tickets/42)" in content


def test_dingtalk_robot_accepts_a_card_signed_with_its_secret(robots):
    token, secret = robots.add_dingtalk()

    answer = send(DINGTALK, robots.url(DINGTALK, token), secret, CARD, timeclock.now_utc())

    assert answer.ok, answer.message
    (message,) = robots.delivered(DINGTALK)
    assert message.body["markdown"]["title"] == "新的派单：打印机无法联网"
    assert "地点：浙江省杭州市西湖区" in message.body["markdown"]["text"]
    assert {"timestamp", "sign"} <= set(message.query)


def test_feishu_bot_accepts_a_card_signed_with_its_secret(robots):
    token, secret = robots.add_feishu()

    answer = send(FEISHU, robots.url(FEISHU, token), secret, CARD, timeclock.now_utc())

    assert answer.ok, answer.message
    (message,) = robots.delivered(FEISHU)
    card = message.body["card"]
    assert card["header"]["title"]["content"] == "新的派单：打印机无法联网"
    assert "接单截止：今天 14:35" in card["elements"][0]["text"]["content"]
    assert card["elements"][1]["actions"][0]["url"] == "https://service.example.com/tickets/42"


def test_dingtalk_refuses_a_signature_made_with_another_secret_and_says_why(robots):
    token, _ = robots.add_dingtalk()

    answer = send(DINGTALK, robots.url(DINGTALK, token), "SEC" + "0" * 64, CARD, timeclock.now_utc())

    assert not answer.ok and not answer.rate_limited
    assert answer.code == 310000 and "sign not match" in answer.message
    assert robots.delivered() == []


def test_feishu_refuses_a_signature_made_with_another_secret_and_says_why(robots):
    token, _ = robots.add_feishu()

    answer = send(FEISHU, robots.url(FEISHU, token), "WrongSecret0123456789", CARD, timeclock.now_utc())

    assert not answer.ok
    assert answer.code == 19021
    assert "sign match fail or timestamp is not within one hour" in answer.message
    assert robots.delivered() == []


@pytest.mark.parametrize("provider", [DINGTALK, FEISHU])
def test_a_signature_made_more_than_an_hour_ago_is_refused(robots, provider):
    token, secret = robots.add_dingtalk() if provider == DINGTALK else robots.add_feishu()

    answer = send(provider, robots.url(provider, token), secret, CARD, timeclock.now_utc() - timedelta(hours=2))

    assert not answer.ok and answer.code in (310000, 19021)
    assert robots.delivered() == []


def test_an_error_inside_a_200_is_a_failure_with_the_providers_message(robots):
    unknown_key = "0" * 32  # no such robot: WeCom answers HTTP 200 {"errcode": 93000, …}

    answer = send(WECOM, robots.url(WECOM, unknown_key), None, CARD, timeclock.now_utc())

    assert robots.received[0].answer["errcode"] == 93000
    assert not answer.ok and answer.code == 93000
    assert "invalid webhook url" in answer.message


@pytest.mark.parametrize("provider, code", [(WECOM, 45009), (DINGTALK, 130101), (FEISHU, 11232)])
def test_the_21st_message_in_a_minute_is_recognised_as_rate_limited(robots, provider, code):
    if provider == WECOM:
        url, secret = robots.url(WECOM, robots.add_wecom()), None
    else:
        token, secret = robots.add_dingtalk() if provider == DINGTALK else robots.add_feishu()
        url = robots.url(provider, token)
    now = timeclock.now_utc()

    answers = [send(provider, url, secret, CARD, now) for _ in range(21)]

    assert all(answer.ok for answer in answers[:20])
    assert not answers[20].ok and answers[20].rate_limited and answers[20].code == code
    assert len(robots.delivered(provider)) == 20


def test_a_robot_that_cannot_be_reached_fails_without_its_key_in_the_message():
    key = "k" * 32
    url = f"http://127.0.0.1:{free_port()}/cgi-bin/webhook/send?key={key}"  # nobody listens there

    answer = send(WECOM, url, None, CARD, timeclock.now_utc())

    assert not answer.ok and answer.code is None
    assert answer.message and key not in answer.message


def test_feishu_older_answer_shape_and_a_non_json_answer_are_understood():
    assert parse_answer(FEISHU, 200, '{"StatusCode": 0, "StatusMessage": "success"}').ok
    failed = parse_answer(DINGTALK, 502, "<html>Bad Gateway</html>")
    assert not failed.ok and failed.message.startswith("HTTP 502")
    assert parse_answer(FEISHU, 200, '{"code": 9499, "msg": "too many request"}').rate_limited


# --- Addresses and secrets ---------------------------------------------------------------------

OFFICIAL_URLS = {
    WECOM: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa",
    DINGTALK: "https://oapi.dingtalk.com/robot/send?access_token=" + "a1" * 32,
    FEISHU: "https://open.feishu.cn/open-apis/bot/v2/hook/5e3d587e-d78e-4a07-bd07-265f269f86fd",
}


@pytest.mark.parametrize("provider", [WECOM, DINGTALK, FEISHU])
def test_the_providers_own_https_address_is_accepted(provider):
    url = OFFICIAL_URLS[provider]
    assert check_webhook_url(provider, "  " + url + " ", OFFICIAL_HOSTS[provider]) == url


@pytest.mark.parametrize("provider", [WECOM, DINGTALK, FEISHU])
def test_plain_http_to_the_providers_host_is_refused(provider):
    with pytest.raises(InvalidWebhook, match="must start with https://"):
        check_webhook_url(provider, OFFICIAL_URLS[provider].replace("https://", "http://"), OFFICIAL_HOSTS[provider])


@pytest.mark.parametrize("url", [
    "https://example.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4",
    "https://qyapi.weixin.qq.com.example.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4",
    "https://oapi.dingtalk.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4",  # DingTalk's host, WeCom's path
    "https://qyapi.weixin.qq.com:8443/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4",
    "https://127.0.0.1/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4",
])
def test_an_address_on_another_host_is_refused_naming_the_providers_hosts(url):
    with pytest.raises(InvalidWebhook, match="not on WeCom's own servers \\(qyapi.weixin.qq.com\\)"):
        check_webhook_url(WECOM, url, OFFICIAL_HOSTS[WECOM])


@pytest.mark.parametrize("provider, url, says", [
    (WECOM, "https://qyapi.weixin.qq.com@example.com/cgi-bin/webhook/send?key=693a91f6-7xxx", "no user name"),
    (WECOM, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send", "lacks the robot's key"),
    (WECOM, "https://qyapi.weixin.qq.com/cgi-bin/message/send?key=693a91f6-7xxx", "not a WeCom robot's address"),
    (DINGTALK, "https://oapi.dingtalk.com/robot/send?token=abcdefabcdef", "lacks the robot's access_token"),
    (FEISHU, "https://open.feishu.cn/open-apis/bot/v2/hook/", "not a Feishu robot's address"),
    (FEISHU, "https://open.feishu.cn/open-apis/bot/v2/hook/5e3d587e-d78e?x=1", "nothing after"),
    (FEISHU, "not a url at all", "must start with https://"),
])
def test_an_address_that_is_not_the_providers_webhook_is_refused_with_what_is_wrong(provider, url, says):
    with pytest.raises(InvalidWebhook, match=says):
        check_webhook_url(provider, url, OFFICIAL_HOSTS[provider])


def test_a_loopback_robot_server_is_accepted_only_when_the_allow_list_names_it(robots):
    url = robots.url(FEISHU, robots.add_feishu()[0])

    assert check_webhook_url(FEISHU, url, (robots.origin,)) == url
    with pytest.raises(InvalidWebhook):
        check_webhook_url(FEISHU, url, OFFICIAL_HOSTS[FEISHU])
    with pytest.raises(InvalidWebhook):
        check_webhook_url(FEISHU, url, (f"http://127.0.0.1:{free_port()}",))  # another port


def test_the_allow_list_comes_from_the_environment_and_plain_http_only_to_loopback(monkeypatch):
    for provider in OFFICIAL_HOSTS:
        monkeypatch.delenv(f"ROBOT_HOSTS_{provider.upper()}", raising=False)
    assert robot_hosts() == OFFICIAL_HOSTS
    monkeypatch.setenv("ROBOT_HOSTS_WECOM", "qyapi.weixin.qq.com, http://127.0.0.1:8765")
    assert robot_hosts()[WECOM] == ("qyapi.weixin.qq.com", "http://127.0.0.1:8765")
    monkeypatch.setenv("ROBOT_HOSTS_WECOM", "http://example.com:80")
    with pytest.raises(ConfigError, match="ROBOT_HOSTS_WECOM"):
        robot_hosts()


def test_signing_secrets_have_each_providers_shape():
    assert check_secret(DINGTALK, " SEC" + "ab12" * 16 + " ") == "SEC" + "ab12" * 16
    with pytest.raises(InvalidWebhook, match="SEC"):
        check_secret(DINGTALK, "ab12" * 16)
    with pytest.raises(InvalidWebhook, match="SEC"):
        check_secret(DINGTALK, "")
    with pytest.raises(InvalidWebhook, match="no signing secret"):
        check_secret(WECOM, "SEC123")
    assert check_secret(WECOM, "  ") is None
    assert check_secret(FEISHU, "") is None  # a Feishu bot may be set up without signing
    with pytest.raises(InvalidWebhook):
        check_secret(FEISHU, "has spaces in it!")


def test_an_address_error_reads_in_the_users_language(app):
    with pytest.raises(InvalidWebhook) as refused:
        check_webhook_url(DINGTALK, "http://oapi.dingtalk.com/robot/send?access_token=abcdefabcdef",
                          OFFICIAL_HOSTS[DINGTALK])
    with app.app_context(), force_locale("zh_CN"):
        assert str(refused.value.message).startswith("机器人的地址必须以 https:// 开头——钉钉机器人的地址形如")
    with app.app_context(), force_locale("en"):
        assert str(refused.value.message).startswith("A robot's address must start with https://")


# --- A party's channels ------------------------------------------------------------------------

NOW = datetime(2026, 12, 7, 2, 30, tzinfo=timezone.utc)  # 10:30 in China


def loopback_hosts(robots) -> dict:
    return {provider: (robots.origin,) for provider in OFFICIAL_HOSTS}


def test_a_saved_channel_keeps_its_secret_but_never_shows_it(app, robots, caplog):
    xixi = factories.partner(name="西溪信息")
    token, secret = robots.add_dingtalk()
    url = robots.url(DINGTALK, token)

    channel = save_channel(xixi.id, DINGTALK, url, secret, "西溪派单群", True, loopback_hosts(robots), NOW)

    stored = db.session.get(NotificationChannel, channel.id)
    assert (stored.webhook_url, stored.secret, stored.enabled) == (url, secret, True)
    assert secret not in repr(stored) and token not in repr(stored)
    assert token not in stored.masked_webhook
    assert enabled_channels(xixi.id) == [stored]
    assert secret not in caplog.text and token not in caplog.text


def test_an_address_elsewhere_or_a_wrong_secret_is_a_form_error_and_saves_nothing(app, robots):
    xixi = factories.partner(name="西溪信息")
    token, _ = robots.add_dingtalk()

    with pytest.raises(ValidationFailed) as elsewhere:
        save_channel(xixi.id, DINGTALK, "https://example.com/robot/send?access_token=" + token, "SEC" + "a" * 64,
                     "", True, loopback_hosts(robots), NOW)
    with pytest.raises(ValidationFailed) as no_sec:
        save_channel(xixi.id, DINGTALK, robots.url(DINGTALK, token), "a" * 64, "", True, loopback_hosts(robots), NOW)

    assert "webhook_url" in elsewhere.value.fields and "secret" in no_sec.value.fields
    assert channels_of(xixi.id) == []


def test_changing_a_channel_with_empty_secret_keeps_the_stored_one(app, robots):
    xixi = factories.partner(name="西溪信息")
    token, secret = robots.add_feishu()
    hosts = loopback_hosts(robots)
    channel = save_channel(xixi.id, FEISHU, robots.url(FEISHU, token), secret, "派单群", True, hosts, NOW)

    changed = save_channel(xixi.id, FEISHU, "", "", "夜班派单群", False, hosts, NOW, channel_id=channel.id)

    assert (changed.id, changed.secret, changed.name, changed.enabled) == (channel.id, secret, "夜班派单群", False)
    assert enabled_channels(xixi.id) == []


def test_a_partner_cannot_change_another_partners_channel(app, robots):
    xixi, other = factories.partner(name="西溪信息"), factories.partner(name="钱塘科技")
    hosts = loopback_hosts(robots)
    channel = save_channel(other.id, WECOM, robots.url(WECOM, robots.add_wecom()), None, "", True, hosts, NOW)

    with pytest.raises(NotFound):
        save_channel(xixi.id, WECOM, robots.url(WECOM, robots.add_wecom()), None, "", True, hosts, NOW,
                     channel_id=channel.id)
    with pytest.raises(NotFound):
        set_enabled(xixi.id, channel.id, False, NOW)

    assert db.session.get(NotificationChannel, channel.id).enabled


def test_the_same_robot_is_one_channel_of_a_party(app, robots):
    xixi = factories.partner(name="西溪信息")
    url, hosts = robots.url(WECOM, robots.add_wecom()), loopback_hosts(robots)
    save_channel(xixi.id, WECOM, url, None, "", True, hosts, NOW)

    with pytest.raises(ValidationFailed, match="already one of your channels"):
        save_channel(xixi.id, WECOM, url, None, "", True, hosts, NOW)
    assert len(channels_of(xixi.id)) == 1


def test_sending_logs_neither_the_robots_key_nor_its_signature(robots, caplog):
    token, secret = robots.add_dingtalk()
    caplog.set_level(logging.DEBUG)

    assert send(DINGTALK, robots.url(DINGTALK, token), secret, CARD, timeclock.now_utc()).ok

    sign = robots.received[0].query["sign"]
    assert token not in caplog.text and secret not in caplog.text and quote_plus(sign) not in caplog.text
