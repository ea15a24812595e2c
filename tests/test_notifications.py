"""Notifications: in the app with an unread count, by SMTP when configured, in the user's language."""
import socket
from datetime import timedelta

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask_babel import gettext

from partnernet.extensions import db
from partnernet.notifications import service
from partnernet.notifications.models import Notification
from partnernet.tickets import service as tickets
from tests import factories
from tests.test_tickets import NOW, certified_partner, open_ticket

pytestmark = pytest.mark.usefixtures("invariants")  # checked after every scenario


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server(app):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port)
    yield inbox
    controller.stop()
    app.config.update(SMTP_HOST=None)


def test_an_offer_notifies_the_partner_admins_in_their_language(app):
    partner, _engineer = certified_partner()
    chinese = factories.user("partner_admin", party=partner)
    english = factories.user("partner_admin", party=partner, locale="en")
    ticket = open_ticket()
    by_user = {n.user_id: n for n in db.session.execute(sa.select(Notification)).scalars()}
    assert by_user[english.id].subject.startswith(f"Ticket #{ticket.id} offered to you")
    assert by_user[english.id].body == "Accept or decline before 10:15."  # China time: 10:00 and 15 minutes
    assert "10:15" in by_user[chinese.id].body and by_user[chinese.id].link == f"/tickets/{ticket.id}"
    assert by_user[chinese.id].subject != by_user[english.id].subject
    assert by_user[english.id].status == "app_only"  # no SMTP configured


def test_an_offer_passed_on_after_a_decline_notifies_the_next_partner(app):
    county, _ = certified_partner("330106")
    city, _ = certified_partner("330100")
    county_admin, city_admin = factories.user("partner_admin", party=county), factories.user("partner_admin", party=city)
    ticket = open_ticket()
    assert ticket.offered_party_id == county.id
    tickets.decline(ticket, county_admin, "no_capacity", "全员外出", NOW)
    told = {n.user_id: n for n in db.session.execute(sa.select(Notification)).scalars()}
    assert set(told) == {county_admin.id, city_admin.id}
    assert told[city_admin.id].link == f"/tickets/{ticket.id}" and f"#{ticket.id}" in told[city_admin.id].subject


def test_unread_count_shows_in_the_navigation_until_read(client, login_as, app):
    partner, _engineer = certified_partner()
    admin = factories.user("partner_admin", party=partner)
    open_ticket()
    login_as(admin)
    assert 'data-testid="unread">1<' in client.get("/partner").get_data(as_text=True)
    client.post("/notifications/read")
    assert 'data-testid="unread"' not in client.get("/partner").get_data(as_text=True)


def test_the_same_reason_never_notifies_twice(app):
    user = factories.user("hq_agent")
    render = lambda: ("subject", "body")  # noqa: E731
    assert service.notify(user, "test", "k1", render, None, NOW) is not None
    assert service.notify(user, "test", "k1", render, None, NOW) is None


def test_a_notification_to_several_users_reaches_each_once_in_their_language(app):
    chinese, english = factories.user("hq_agent"), factories.user("hq_agent", locale="en")
    render = lambda: (gettext("Your role may not do this."), "body")  # noqa: E731
    assert service.notify_each([chinese, english], "test", "k1", render, None, NOW) == 2
    assert service.notify_each([chinese, english], "test", "k1", render, None, NOW) == 0
    subjects = {n.user_id: n.subject for n in db.session.execute(sa.select(Notification)).scalars()}
    assert subjects[english.id] == "Your role may not do this." and subjects[chinese.id] != subjects[english.id]


def test_a_party_notification_reaches_its_active_users_with_the_role_once_each(app, smtp_server):
    partner, other = factories.partner(), factories.partner()
    chinese, english = factories.user("partner_admin", party=partner), \
        factories.user("partner_admin", party=partner, locale="en")
    factories.user("partner_admin", party=partner, active=False)
    factories.user("partner_admin", party=other)
    factories.user("engineer", engineer_=factories.engineer(partner))
    render = lambda: (gettext("Your role may not do this."), "line one\nline two")  # noqa: E731
    notification = service.party_notification(partner.id, "partner_admin", "test", "k1", render, "/tickets/1", NOW)
    service.notify_party(notification)
    service.notify_party(notification)  # nothing twice
    queued = {n.user_id: n for n in db.session.execute(sa.select(Notification)).scalars()}
    assert set(queued) == {chinese.id, english.id}
    assert queued[english.id].subject == "Your role may not do this."
    assert queued[chinese.id].subject not in ("", queued[english.id].subject)
    assert all(n.body == "line one\nline two" and n.link == "/tickets/1" and n.status == "pending"
               and n.attempts == 0 and n.created_at == NOW for n in queued.values())  # SMTP is configured


def test_with_smtp_configured_the_outbox_is_sent(app, smtp_server):
    user = factories.user("hq_agent", locale="en")
    service.notify(user, "test", "k1", lambda: ("Hello", "A body"), "/tickets/1", NOW)
    db.session.commit()
    assert service.deliver_pending(NOW) == 1
    assert len(smtp_server.messages) == 1 and smtp_server.messages[0].rcpt_tos == [user.email]
    assert service.deliver_pending(NOW + timedelta(minutes=1)) == 0  # nothing sent twice


def test_an_unreachable_smtp_server_is_retried_then_given_up(app):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port())  # nobody listens there
    user = factories.user("hq_agent")
    notification = service.notify(user, "test", "k1", lambda: ("s", "b"), None, NOW)
    db.session.commit()
    for attempt in range(1, service.MAX_ATTEMPTS + 1):
        service.deliver_pending(NOW)
        assert notification.attempts == attempt
    assert notification.status == "failed"
    assert service.recent(user)[0].id == notification.id  # still visible in the app
    app.config.update(SMTP_HOST=None)
