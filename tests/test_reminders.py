"""Reminders and escalation: an offer nobody of the partner has opened is announced again half-way;
an expired offer and a breach are told to HQ's group; a target at its warning point warns its
owner. Each once per event, however often (or by however many schedulers) the job runs, and each
off by its setting. The jobs run on fixed clocks; the cards are what the outbox queues."""
import os
import re
import threading
import uuid
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import flask_migrate
import pytest
import sqlalchemy as sa

from partnernet import create_app
from partnernet.extensions import db
from partnernet.network.models import Engineer
from partnernet.notifications.channels import save_channel
from partnernet.notifications.models import ChannelMessage, Notification
from partnernet.notifications.providers import OFFICIAL_HOSTS, WECOM
from partnernet.notifications.reminders import remind_expiring_certifications
from partnernet.settings.models import SlaPolicy
from partnernet.settings.service import load_settings, save_settings
from partnernet.tickets import clocks, service
from partnernet.tickets.models import Ticket
from partnernet.tickets.reminders import remind_unseen_offers, warn_before_breach
from tests import factories
from tests.test_api import bearer, token_for
from tests.test_audit_pages import input_value
from tests.test_migrations import app_on, empty_postgres, empty_sqlite
from tests.test_settings_general import VALID
from tests.test_tickets import NOW, certified_partner, open_ticket

pytestmark = pytest.mark.usefixtures("invariants")  # checked after every scenario

CHINA = ZoneInfo("Asia/Shanghai")
# NOW is Wednesday 25 Nov 2026, 10:00 in China: an offer made then runs to 10:15, its reminder is
# due at 10:07:30; a simple ticket's response is due at 10:30 (warned at 10:24), its resolution
# at 11:00 (warned at 10:48).


def at(minutes: float) -> datetime:
    return NOW + timedelta(minutes=minutes)


def china(*args) -> datetime:
    return datetime(*args, tzinfo=CHINA).astimezone(timezone.utc)


def group(party, locale="zh_CN"):
    """An enabled WeCom group robot of the party (nothing is sent here: the cards wait in the outbox)."""
    channel = save_channel(party.id, WECOM, f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={uuid.uuid4()}",
                           None, "派单群", True, OFFICIAL_HOSTS, NOW)
    channel.locale = locale
    db.session.commit()
    return channel


def cards(channel=None, kind=None) -> list[ChannelMessage]:
    statement = sa.select(ChannelMessage).order_by(ChannelMessage.id)
    if channel is not None:
        statement = statement.where(ChannelMessage.channel_id == channel.id)
    if kind is not None:
        statement = statement.where(ChannelMessage.kind == kind)
    return list(db.session.execute(statement).scalars())


def notified(kind) -> list[int]:
    return sorted(db.session.execute(sa.select(Notification.user_id).where(Notification.kind == kind)).scalars())


def turn_off(key, value=False):
    save_settings({key: value}, factories.user("hq_admin").id, NOW)


@pytest.fixture
def offered():
    """A ticket offered to a partner with an administrator and a dispatch group; HQ has a group."""
    partner, engineer = certified_partner(name="西溪信息")
    admin = factories.user("partner_admin", party=partner, locale="en")
    channel, hq_channel = group(partner), group(factories.hq(), locale="en")
    ticket = open_ticket()
    assert (ticket.status, ticket.offered_party_id) == ("offered", partner.id)
    return ticket, partner, admin, channel, hq_channel


# --- the offer's half-way reminder ------------------------------------------------------------------

def test_an_offer_nobody_of_the_partner_opened_is_announced_again_half_way(app, offered):
    ticket, _partner, admin, channel, hq_channel = offered
    assert ticket.offer_remind_at == at(7.5) and ticket.offer_seen_at is None

    assert remind_unseen_offers(at(7), load_settings()) == 0
    assert remind_unseen_offers(at(8), load_settings()) == 1

    (card,) = cards(channel, "offer_reminder")
    assert card.title == f"提醒：工单 #{ticket.id} 仍在等待您的答复"
    assert "10:15" in card.lines[-1] and card.ticket_id == ticket.id
    (note,) = db.session.execute(sa.select(Notification).where(Notification.kind == "offer_reminder")).scalars()
    assert note.user_id == admin.id and note.subject.startswith(f"Reminder: ticket #{ticket.id} still waits")
    assert note.body == "Accept or decline before 10:15."
    assert cards(hq_channel) == []  # HQ is not bothered by a live offer


def test_no_reminder_after_the_deadline_has_passed(app, offered):
    assert remind_unseen_offers(at(15), load_settings()) == 0
    assert cards(kind="offer_reminder") == []


@pytest.mark.parametrize("opened_through", ["page", "api"])
def test_opening_the_offer_as_a_user_of_the_partner_suppresses_the_reminder(app, client, login_as, offered,
                                                                            opened_through):
    ticket, _partner, admin, _channel, _hq = offered
    if opened_through == "page":
        login_as(admin)
        assert client.get(f"/tickets/{ticket.id}").status_code == 200
    else:
        assert client.get(f"/api/v1/tickets/{ticket.id}", headers=bearer(token_for(admin))).status_code == 200
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).offer_seen_at is not None

    assert remind_unseen_offers(at(8), load_settings()) == 0
    assert cards(kind="offer_reminder") == [] and notified("offer_reminder") == []


def test_opening_the_ticket_does_not_change_when_it_was_last_updated(app, client, login_as, offered):
    ticket, _partner, admin, _channel, _hq = offered
    updated = ticket.updated_at
    login_as(admin)
    client.get(f"/tickets/{ticket.id}")
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).updated_at == updated


def test_opening_it_as_hq_or_as_another_partner_does_not_suppress_the_reminder(app, client, login_as, offered):
    ticket, _partner, admin, channel, _hq = offered
    login_as(factories.user("hq_admin"))
    assert client.get(f"/tickets/{ticket.id}").status_code == 200
    client.post("/logout")
    stranger = factories.user("partner_admin", party=factories.partner(name="钱塘科技"))
    login_as(stranger)
    assert client.get(f"/tickets/{ticket.id}").status_code == 404
    assert client.get(f"/api/v1/tickets/{ticket.id}", headers=bearer(token_for(stranger))).status_code == 404

    assert remind_unseen_offers(at(8), load_settings()) == 1
    assert len(cards(channel, "offer_reminder")) == 1 and notified("offer_reminder") == [admin.id]


def test_the_reminder_is_queued_once_however_often_the_job_runs(app, offered):
    _ticket, _partner, admin, channel, _hq = offered
    for minute in (8, 9, 10, 14):
        remind_unseen_offers(at(minute), load_settings())
    assert len(cards(channel, "offer_reminder")) == 1
    assert notified("offer_reminder") == [admin.id]


def test_two_schedulers_racing_queue_one_reminder(app, database_url, offered):
    _ticket, _partner, admin, channel, _hq = offered
    apps = [create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True}) for _ in range(2)]
    barrier = threading.Barrier(len(apps), timeout=30)
    failures = []

    def scheduler(other):
        with other.app_context():
            try:
                settings = load_settings()
                barrier.wait()
                remind_unseen_offers(at(8), settings)
            except Exception as error:  # noqa: BLE001 - the test reports any failure of a racer
                failures.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=scheduler, args=(other,)) for other in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for other in apps:
        with other.app_context():
            db.engine.dispose()
    assert failures == []
    db.session.expire_all()
    assert len(cards(channel, "offer_reminder")) == 1
    assert notified("offer_reminder") == [admin.id]


def test_the_next_partners_offer_is_reminded_even_if_the_first_partner_had_opened_its_own(app, client, login_as):
    first, _e1 = certified_partner("330106", name="西溪信息")
    second, _e2 = certified_partner("330100", name="钱塘科技")
    first_admin = factories.user("partner_admin", party=first)
    group(first)
    second_group = group(second)
    ticket = open_ticket()
    login_as(first_admin)
    client.get(f"/tickets/{ticket.id}")
    service.decline(db.session.get(Ticket, ticket.id), first_admin, "no_capacity", "全员外出", at(2))
    assert (ticket.offered_party_id, ticket.offer_seen_at) == (second.id, None)
    assert ticket.offer_remind_at == at(2 + 7.5)

    assert remind_unseen_offers(at(10), load_settings()) == 1
    assert len(cards(second_group, "offer_reminder")) == 1


def test_a_business_hours_offer_made_at_night_is_reminded_half_way_through_the_next_morning(app):
    """Saturday 03:00: the offer runs to Monday 09:15 on the ticket's clock; its reminder is due at
    Monday 09:07:30, not at 03:07 in the night."""
    partner, _engineer = certified_partner()
    channel = group(partner)
    customer = factories.customer(region_code="330106")
    factories.contract(customer, starts_on=date(2026, 1, 1))
    request = service.IntakeRequest(customer.id, "workflow", "simple", "phone", "无法审批", tier="L2")
    ticket = service.intake(request, None, china(2026, 11, 28, 3, 0))
    assert (ticket.offer_deadline, ticket.offer_remind_at) == (china(2026, 11, 30, 9, 15),
                                                               china(2026, 11, 30, 9, 7, 30))
    for night in (china(2026, 11, 28, 3, 8), china(2026, 11, 29, 12, 0), china(2026, 11, 30, 9, 7)):
        assert remind_unseen_offers(night, load_settings()) == 0
    assert remind_unseen_offers(china(2026, 11, 30, 9, 8), load_settings()) == 1
    assert len(cards(channel, "offer_reminder")) == 1


def test_no_half_way_reminder_when_the_setting_is_off(app, offered):
    turn_off("remind_offer_half_way")
    assert remind_unseen_offers(at(8), load_settings()) == 0
    assert cards(kind="offer_reminder") == [] and notified("offer_reminder") == []


# --- an expired offer: HQ's group ----------------------------------------------------------------------

def test_an_expired_offer_tells_hqs_group_once_who_let_it_lapse_and_where_the_ticket_went(app, offered):
    ticket, partner, _admin, channel, hq_channel = offered
    assert service.expire_due_offers(at(15)) == 1
    assert service.expire_due_offers(at(16)) == 0

    (card,) = cards(hq_channel)
    assert card.kind == "offer_expired" and card.ticket_id == ticket.id
    assert card.title == f"Offer of ticket #{ticket.id} expired: 西溪信息 did not answer"
    assert card.lines[-1] == "Now in HQ's queue: All offers expired"
    assert cards(channel, "offer_expired") == []  # the partner's group is not told


def test_an_expired_offer_passed_to_the_next_partner_names_it(app):
    first, _e1 = certified_partner("330106", name="西溪信息")
    certified_partner("330100", name="钱塘科技")
    hq_channel = group(factories.hq())
    ticket = open_ticket()
    assert ticket.offered_party_id == first.id
    service.expire_due_offers(at(15))
    (card,) = cards(hq_channel, "offer_expired")
    assert "西溪信息" in card.title and card.lines[-1] == "现已派给钱塘科技，答复截止 10:30"


def test_no_card_to_hq_for_an_expired_offer_when_the_setting_is_off(app, offered):
    turn_off("tell_hq_expired_offers")
    assert service.expire_due_offers(at(15)) == 1
    assert cards(kind="offer_expired") == []


# --- the warning point of a target -------------------------------------------------------------------

@pytest.fixture
def accepted(offered):
    """The offered ticket, accepted at 10:05 with an engineer who signs in."""
    ticket, partner, admin, channel, hq_channel = offered
    engineer = db.session.execute(sa.select(Engineer).where(Engineer.party_id == partner.id)).scalar()
    engineer_user = factories.user("engineer", engineer_=engineer)
    service.accept(ticket, admin, engineer.id, at(5))
    return ticket, admin, engineer_user, channel, hq_channel


def test_warning_points_are_set_at_intake_at_the_settings_percentage(app, offered):
    ticket = offered[0]
    assert (ticket.response_warn_at, ticket.resolution_warn_at) == (at(24), at(48))
    assert (ticket.response_due_at, ticket.resolution_due_at) == (at(30), at(60))


def test_at_80_percent_of_its_resolution_time_the_owner_is_warned_once(app, accepted):
    ticket, admin, engineer_user, channel, hq_channel = accepted
    assert warn_before_breach(at(47), load_settings()) == 0
    for minute in (48, 49, 55):
        warn_before_breach(at(minute), load_settings())

    assert notified("resolution_warning") == sorted([admin.id, engineer_user.id])
    (card,) = cards(channel, "resolution_warning")
    assert card.title == f"工单 #{ticket.id} 即将超过解决时限" and "11:00" in card.lines[-1]
    assert cards(hq_channel) == []
    assert notified("response_warning") == []  # answered at 10:05: its response target is met


def test_no_warning_once_the_target_is_met(app, accepted):
    ticket, admin, *_ = accepted
    service.change_status(ticket, admin, "resolved", "已远程修复", at(40))
    assert warn_before_breach(at(50), load_settings()) == 0
    assert cards(kind="resolution_warning") == [] and notified("resolution_warning") == []


def test_no_warning_once_the_target_is_due_the_breach_says_it(app, accepted):
    assert warn_before_breach(at(61), load_settings()) == 0
    assert notified("resolution_warning") == []


def test_a_ticket_nobody_has_taken_warns_hqs_agents_and_group(app):
    agent = factories.user("hq_agent")
    hq_channel = group(factories.hq())
    ticket = open_ticket()  # nobody covers it: the HQ queue
    assert ticket.status == "hq_queue"
    assert warn_before_breach(at(25), load_settings()) == 1
    assert notified("response_warning") == [agent.id]
    (card,) = cards(hq_channel, "response_warning")
    assert card.title == f"工单 #{ticket.id} 即将超过响应时限" and "10:30" in card.lines[-1]


def test_a_paused_ticket_is_not_warned_and_its_warning_moves_with_its_due_time(app, accepted):
    ticket, admin, *_ = accepted
    service.change_status(ticket, admin, "waiting_on_customer", "等客户回复", at(10))
    assert warn_before_breach(at(50), load_settings()) == 0
    service.change_status(ticket, admin, "in_progress", "客户已回复", at(30))  # 20 minutes paused
    assert (ticket.resolution_warn_at, ticket.resolution_due_at) == (at(68), at(80))
    assert warn_before_breach(at(67), load_settings()) == 0
    assert warn_before_breach(at(68), load_settings()) == 1


def test_a_new_warning_percentage_applies_to_tickets_opened_from_then_on(app, offered):
    before = offered[0]
    turn_off("sla_warning_percent", 50)
    customer = factories.customer(region_code="330106")
    after = open_ticket(customer)
    assert (after.response_warn_at, after.resolution_warn_at) == (at(15), at(30))
    assert before.response_warn_at == at(24)


def test_no_warnings_at_zero_percent(app, accepted):
    turn_off("sla_warning_percent", 0)
    assert warn_before_breach(at(50), load_settings()) == 0
    assert cards(kind="resolution_warning") == [] and notified("resolution_warning") == []
    customer = factories.customer(region_code="330106")
    ticket = open_ticket(customer)
    assert (ticket.response_warn_at, ticket.resolution_warn_at) == (None, None)


# --- a breach: HQ's group -------------------------------------------------------------------------

def test_a_breach_is_told_to_hqs_group_once_with_who_holds_the_ticket(app, accepted):
    ticket, admin, _engineer_user, channel, hq_channel = accepted
    assert clocks.mark_breaches(at(61)) == 1
    assert clocks.mark_breaches(at(62)) == 0
    (card,) = cards(hq_channel)
    assert card.kind == "resolution_breached"
    assert card.title == f"Ticket #{ticket.id} is overdue for resolution"
    assert card.lines[-2:] == ["Was due 11:00", "Held by 西溪信息"]
    assert cards(channel, "resolution_breached") == []  # the owner hears of it in the app and by e-mail
    assert admin.id in notified("resolution_breached")


def test_no_card_to_hq_for_a_breach_when_the_setting_is_off(app, accepted):
    turn_off("tell_hq_breaches")
    assert clocks.mark_breaches(at(61)) == 1
    assert cards(kind="resolution_breached") == []
    assert accepted[1].id in notified("resolution_breached")  # the owner is still told


# --- certificates ----------------------------------------------------------------------------------

def test_an_expiring_certificate_is_also_told_to_the_partners_group_once(app):
    partner = factories.partner(name="西溪信息")
    engineer = factories.engineer(partner)
    engineer.name = "张伟"
    factories.certification(engineer, issued_on=date(2024, 1, 1), expires_on=date(2026, 12, 20))
    channel = group(partner)
    other = group(factories.partner())
    now = china(2026, 11, 25, 0, 5)
    remind_expiring_certifications(date(2026, 11, 25), 30, now)
    remind_expiring_certifications(date(2026, 11, 26), 30, now)
    (card,) = cards(channel)
    assert card.kind == "certification_expiring" and "张伟" in card.title and "2026-12-20" in card.title
    assert cards(other) == []


# --- the settings page ------------------------------------------------------------------------------

def input_tag(page: str, name: str) -> str:
    return re.search(rf'<input[^>]*name="{name}"[^>]*>', page).group(0)


def test_hq_admin_sees_and_switches_the_reminders_on_the_settings_page(app, client, login_as):
    login_as(factories.user("hq_admin"))
    page = client.get("/settings/").get_data(as_text=True)
    for name in ("remind_offer_half_way", "tell_hq_expired_offers", "tell_hq_breaches"):
        assert "checked" in input_tag(page, name), name  # on by default
    assert input_value(page, "sla_warning_percent") == "80"
    assert "派单时间过半仍无人打开时，再次提醒合作伙伴" in page and "通知总部群" in page
    client.post("/language", data={"locale": "en"})
    assert "Remind a partner half-way through an offer" in client.get("/settings/").get_data(as_text=True)

    form = {key: value for key, value in VALID.items() if key not in ("remind_offer_half_way", "tell_hq_breaches")}
    assert client.post("/settings/", data={**form, "sla_warning_percent": "90"}).status_code == 302
    settings = load_settings()
    assert (settings["remind_offer_half_way"], settings["tell_hq_expired_offers"], settings["tell_hq_breaches"],
            settings["sla_warning_percent"]) == (False, True, False, 90)
    for bad in ("100", "-1", "", "x"):
        assert client.post("/settings/", data={**VALID, "sla_warning_percent": bad}).status_code == 422, bad
    assert load_settings()["sla_warning_percent"] == 90


def test_a_policy_without_warnings_at_zero_percent_still_computes_due_times(app):
    policy = db.session.execute(sa.select(SlaPolicy).where(SlaPolicy.code == "24x7")).scalar_one()
    times = clocks.sla_times(policy, "simple", NOW, 0)
    assert times["response_due_at"] == at(policy.response_minutes) and times["response_warn_at"] is None


# --- the migration: open tickets get their warning points ----------------------------------------------

@pytest.fixture
def empty_url(tmp_path):
    """An empty database on the suite's backend (as tests/test_migrations.py's)."""
    empty = empty_postgres() if os.environ.get("TEST_DATABASE_URL", "").startswith("postgres") else empty_sqlite(tmp_path)
    with empty as url:
        yield url


def test_the_upgrade_gives_open_tickets_a_warning_point_at_80_percent_of_each_target_not_met(empty_url):
    created = datetime(2026, 11, 25, 2, 0)
    with app_on(empty_url):
        flask_migrate.upgrade(revision="0018_notification_channels")
        with db.engine.begin() as connection:
            hq_id = connection.scalar(sa.text("SELECT id FROM party WHERE kind = 'hq'"))
            line_id = connection.scalar(sa.text("SELECT id FROM product_line WHERE code = 'workflow'"))
            customer_id = connection.execute(sa.text(
                "INSERT INTO customer (name, region_code, sold_by_party_id, created_at) "
                "VALUES ('杭州测试客户', '330106', :hq, :now) RETURNING id"),
                {"hq": hq_id, "now": created}).scalar_one()

            def ticket(status, responded_at=None, resolved_at=None, cause=None):
                return connection.execute(sa.text(
                    "INSERT INTO ticket (customer_id, region_code, product_line_id, complexity, channel, tier, "
                    "billable, subject, description, status, hq_queue_cause, created_at, updated_at, "
                    "response_due_at, resolution_due_at, responded_at, resolved_at) VALUES (:customer, '330106', "
                    ":line, 'simple', 'web', 'L1', :no, '打不开', '', :status, :cause, :created, :created, "
                    ":response_due, :resolution_due, :responded, :resolved) RETURNING id"),
                    {"customer": customer_id, "line": line_id, "no": False, "status": status, "cause": cause,
                     "created": created, "response_due": created + timedelta(minutes=30),
                     "resolution_due": created + timedelta(minutes=60), "responded": responded_at,
                     "resolved": resolved_at}).scalar_one()

            waiting = ticket("hq_queue", cause="no_coverage")
            answered = ticket("in_progress", responded_at=created + timedelta(minutes=5))
            closed = ticket("closed", responded_at=created + timedelta(minutes=5),
                            resolved_at=created + timedelta(minutes=40))
        flask_migrate.upgrade()
        with db.engine.connect() as connection:
            warn = {row.id: (row.response_warn_at, row.resolution_warn_at) for row in connection.execute(sa.text(
                "SELECT id, response_warn_at, resolution_warn_at FROM ticket").columns(
                    response_warn_at=sa.DateTime, resolution_warn_at=sa.DateTime))}
    assert warn[waiting] == (created + timedelta(minutes=24), created + timedelta(minutes=48))
    assert warn[answered] == (None, created + timedelta(minutes=48))
    assert warn[closed] == (None, None)


# --- the scheduler ------------------------------------------------------------------------------------

def test_the_scheduler_runs_the_reminder_and_warning_jobs_every_minute(app, monkeypatch, offered):
    from apscheduler.schedulers.background import BackgroundScheduler

    from partnernet import scheduler
    jobs = BackgroundScheduler()
    scheduler.add_jobs(jobs, app)
    for job_id in ("offer_reminders", "sla_warnings"):
        assert jobs.get_job(job_id).trigger.interval == timedelta(minutes=1), job_id

    _ticket, _partner, _admin, channel, hq_channel = offered
    monkeypatch.setattr(scheduler, "now_utc", lambda: at(8))
    scheduler.offer_reminders_job(app)
    assert len(cards(channel, "offer_reminder")) == 1
    service.expire_due_offers(at(15))  # nobody else covers it: the HQ queue, where HQ is warned
    monkeypatch.setattr(scheduler, "now_utc", lambda: at(25))
    scheduler.sla_warnings_job(app)
    assert len(cards(hq_channel, "response_warning")) == 1
