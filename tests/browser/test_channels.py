"""A partner admin on a phone (390 px) adds its dispatch group's WeCom robot on its partner page and
presses "Send a test message": the card is queued for the delivery job (this server runs no
scheduler, so it stays queued), the address is shown masked, and the page fits the phone."""
import secrets

import sqlalchemy as sa

from tests.browser.conftest import PHONE
from tests.browser.test_phone_tables import MEASURE, xihu_partner_id


def queued_test_cards(server, party_id: int) -> list[tuple[str, str, str]]:
    from partnernet.extensions import db
    from partnernet.notifications.models import ChannelMessage, NotificationChannel
    with server.app.app_context():
        rows = db.session.execute(
            sa.select(ChannelMessage.kind, ChannelMessage.status, ChannelMessage.title)
            .join(NotificationChannel, NotificationChannel.id == ChannelMessage.channel_id)
            .where(NotificationChannel.party_id == party_id, ChannelMessage.kind == "test")).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def test_a_partner_admin_adds_a_wecom_robot_and_sends_a_test_message_on_a_phone(browsers):
    server = browsers.server
    party_id = xihu_partner_id(server)
    key = secrets.token_hex(16)
    user = browsers.open(viewport=PHONE, locale="zh-CN")
    page = user.login("admin@xihu-agent.demo")

    page.goto(f"/partners/{party_id}#channels")
    user.shot("partner-page-no-robot")
    with page.expect_navigation():
        page.click("[data-testid=add-channel]")
    page.select_option("#provider", "wecom")
    page.fill("#name", "西溪派单群")
    page.fill("#webhook_url", f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={key}")
    page.select_option("#locale", "zh_CN")
    user.shot("add-robot-form")
    with page.expect_navigation():
        page.click("[data-testid=save-channel]")

    robot = page.locator("[data-testid=channel]", has_text="西溪派单群")
    assert robot.count() == 1
    assert key not in page.content()  # shown masked: the provider's host and the key's last four
    assert f"https://qyapi.weixin.qq.com/…{key[-4:]}" in robot.inner_text()
    measured = page.eval_on_selector("main", MEASURE)
    assert not measured["pageWider"] and not measured["problems"], measured
    user.shot("robot-added")

    with page.expect_navigation():
        robot.locator("[data-testid=send-test]").click()
    assert "一分钟内" in page.inner_text(".alert-success")
    user.shot("test-message-queued")
    assert queued_test_cards(server, party_id) == [("test", "pending", "partnernet 测试消息")]

    # Leave the demo network as it was for the other browser tests.
    with page.expect_navigation():
        page.locator("[data-testid=channel]", has_text="西溪派单群").locator("button.btn-outline-danger").click()
    assert page.locator("[data-testid=channel]").count() == 0
