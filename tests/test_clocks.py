"""SLA clocks on tickets: due at intake under the contract's policy, pauses, met or breached once."""
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from partnernet.extensions import db
from partnernet.network.service import is_certified
from partnernet.notifications.models import Notification
from partnernet.settings.models import SlaPolicy
from partnernet.tickets import clocks, service
from partnernet.tickets.models import Ticket, TicketEvent
from tests import factories
from tests.test_tickets import certified_partner

pytestmark = pytest.mark.usefixtures("invariants")  # checked after every scenario

CHINA = ZoneInfo("Asia/Shanghai")


def china(*args) -> datetime:
    return datetime(*args, tzinfo=CHINA)


def ticket_opened_at(when, complexity="complex", policy="business-hours"):
    customer = factories.customer(region_code="330106")
    row = db.session.execute(sa.select(SlaPolicy).where(SlaPolicy.code == policy)).scalar_one()
    factories.contract(customer, starts_on=date(2025, 1, 1), service_paid_until=date(2030, 1, 1), sla_policy_id=row.id)
    return service.intake(service.IntakeRequest(customer.id, "workflow", complexity, "phone", "无法审批", tier="L2"),
                          None, when.astimezone(timezone.utc))


def kinds(ticket):
    return [e.kind for e in db.session.execute(sa.select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                                               .order_by(TicketEvent.id)).scalars()]


def test_complex_ticket_on_friday_evening_is_due_on_the_make_up_sunday(app):
    ticket = ticket_opened_at(china(2025, 9, 26, 17, 0))
    assert ticket.resolution_due_at == china(2025, 9, 28, 16, 0)


def test_national_day_holidays_do_not_count(app):
    ticket = ticket_opened_at(china(2025, 9, 30, 17, 30))
    assert ticket.resolution_due_at == china(2025, 10, 9, 16, 30)


def test_response_before_the_spring_festival_is_due_on_the_make_up_saturday(app):
    ticket = ticket_opened_at(china(2026, 2, 13, 17, 45), complexity="simple")
    assert ticket.response_due_at == china(2026, 2, 14, 9, 15)
    assert ticket.resolution_due_at == china(2026, 2, 14, 9, 45)


def test_a_24x7_contract_counts_every_minute(app):
    ticket = ticket_opened_at(china(2025, 9, 30, 17, 30), policy="24x7")
    assert ticket.response_due_at == china(2025, 9, 30, 18, 0)
    assert ticket.resolution_due_at == china(2025, 10, 1, 1, 30)


def test_waiting_on_the_customer_moves_the_due_time_by_the_paused_business_time(app):
    partner, engineer = certified_partner()
    ticket = ticket_opened_at(china(2025, 9, 22, 9, 0))  # Monday
    admin = factories.user("partner_admin", party=partner)
    service.accept(ticket, admin, engineer.id, china(2025, 9, 22, 9, 10))
    assert ticket.resolution_due_at == china(2025, 9, 22, 17, 0)
    service.change_status(ticket, admin, "waiting_on_customer", "等待客户提供日志", china(2025, 9, 22, 16, 0))
    service.change_status(ticket, admin, "in_progress", "", china(2025, 9, 23, 10, 0))  # paused 16:00-18:00 and 09:00-10:00
    assert ticket.resolution_due_at == china(2025, 9, 23, 11, 0)  # 17:00 + the 3 paused business hours
    assert ticket.paused_at is None


def test_a_ticket_overdue_since_last_year_leaves_waiting_on_the_customer(app):
    """Its resolution was due in December, in the year before the pause: resuming in January moves
    it by the paused business hour (18:00 on the 30th to 10:00 on the 31st), and the work goes on."""
    partner, engineer = certified_partner()
    ticket = ticket_opened_at(china(2025, 12, 30, 10, 0))  # complex: due the same day at 18:00
    admin = factories.user("partner_admin", party=partner)
    service.accept(ticket, admin, engineer.id, china(2025, 12, 30, 10, 5))
    service.change_status(ticket, admin, "waiting_on_customer", "等客户", china(2026, 1, 5, 10, 0))
    service.change_status(ticket, admin, "in_progress", "", china(2026, 1, 5, 11, 0))  # one business hour
    assert (ticket.status, ticket.paused_at) == ("in_progress", None)
    assert ticket.resolution_due_at == china(2025, 12, 31, 10, 0)


def test_response_met_is_recorded_once_when_the_partner_accepts(app):
    partner, engineer = certified_partner()
    ticket = ticket_opened_at(china(2025, 9, 22, 9, 0))
    service.accept(ticket, factories.user("partner_admin", party=partner), engineer.id, china(2025, 9, 22, 9, 10))
    assert kinds(ticket).count("response_met") == 1
    clocks.mark_breaches(china(2025, 9, 22, 9, 45))
    assert "response_breached" not in kinds(ticket)


def test_an_unanswered_ticket_breaches_response_once_and_hq_is_told(app):
    agent = factories.user("hq_agent")
    ticket = ticket_opened_at(china(2025, 9, 22, 9, 0))  # nobody covers it: HQ queue
    assert clocks.mark_breaches(china(2025, 9, 22, 9, 29)) == 0
    assert clocks.mark_breaches(china(2025, 9, 22, 9, 31)) == 1
    assert clocks.mark_breaches(china(2025, 9, 22, 9, 32)) == 0
    assert kinds(ticket).count("response_breached") == 1
    notes = db.session.execute(sa.select(Notification).where(Notification.user_id == agent.id)).scalars().all()
    assert [n.kind for n in notes] == ["response_breached"]
    service.take_at_hq(ticket, agent, china(2025, 9, 22, 9, 40))
    assert "response_met" not in kinds(ticket)  # a breach stays the record


def test_a_breach_on_a_partner_with_nobody_left_to_sign_in_is_told_to_hq(app):
    agent = factories.user("hq_agent")
    partner, engineer = certified_partner()
    admin = factories.user("partner_admin", party=partner)
    ticket = ticket_opened_at(china(2025, 9, 22, 9, 0), complexity="simple")
    service.accept(ticket, admin, engineer.id, china(2025, 9, 22, 9, 5))
    admin.active = False
    db.session.commit()
    assert clocks.mark_breaches(china(2025, 9, 22, 10, 1)) == 1
    told = db.session.execute(sa.select(Notification.user_id).where(
        Notification.kind == "resolution_breached")).scalars().all()
    assert told == [agent.id]


def test_an_unresolved_ticket_shows_overdue_and_its_owner_is_notified(app, client, login_as):
    partner, engineer = certified_partner()
    admin = factories.user("partner_admin", party=partner)
    ticket = ticket_opened_at(china(2025, 9, 22, 9, 0), complexity="simple")
    service.accept(ticket, admin, engineer.id, china(2025, 9, 22, 9, 5))
    assert clocks.mark_breaches(china(2025, 9, 22, 10, 1)) == 1
    assert "resolution_breached" in kinds(ticket)
    assert db.session.execute(sa.select(Notification.kind).where(Notification.user_id == admin.id,
                                                                  Notification.kind == "resolution_breached")).scalar()
    login_as(admin)
    page = client.get("/tickets/", query_string={"overdue": "1"}).get_data(as_text=True)
    assert f'href="/tickets/{ticket.id}"' in page


def test_a_paused_ticket_is_not_marked_breached(app):
    partner, engineer = certified_partner()
    admin = factories.user("partner_admin", party=partner)
    ticket = ticket_opened_at(china(2025, 9, 22, 9, 0), complexity="simple")
    service.accept(ticket, admin, engineer.id, china(2025, 9, 22, 9, 5))
    service.change_status(ticket, admin, "waiting_on_customer", "", china(2025, 9, 22, 9, 30))
    assert clocks.mark_breaches(china(2025, 9, 22, 15, 0)) == 0


def test_certification_stops_counting_at_midnight_china_after_its_expiry_day(app):
    engineer = factories.engineer(factories.partner())
    cert = factories.certification(engineer, issued_on=date(2024, 1, 1), expires_on=date(2026, 3, 31))
    from partnernet.timeclock import today_in_china
    last_minute = china(2026, 3, 31, 23, 59).astimezone(timezone.utc)
    midnight = china(2026, 4, 1, 0, 0).astimezone(timezone.utc)
    assert is_certified(engineer.id, cert.product_line_id, today_in_china(last_minute))
    assert not is_certified(engineer.id, cert.product_line_id, today_in_china(midnight))


def test_an_offer_that_expired_while_the_scheduler_was_down_moves_on_at_the_next_run(app):
    certified_partner()
    ticket = ticket_opened_at(china(2025, 9, 22, 9, 0))
    assert ticket.status == "offered"
    assert service.expire_due_offers(china(2025, 9, 22, 13, 0)) == 1  # four hours later
    assert db.session.get(Ticket, ticket.id).status == "hq_queue"


def test_expiring_certifications_remind_engineer_and_admin_once(app):
    from partnernet.notifications.reminders import remind_expiring_certifications
    partner = factories.partner()
    engineer = factories.engineer(partner)
    factories.certification(engineer, issued_on=date(2024, 1, 1), expires_on=date(2026, 12, 20))
    engineer_user = factories.user("engineer", engineer_=engineer)
    admin = factories.user("partner_admin", party=partner)
    other_admin = factories.user("partner_admin", party=factories.partner())
    now = china(2026, 11, 25, 0, 5)
    assert remind_expiring_certifications(date(2026, 11, 25), 30, now) == 2
    assert remind_expiring_certifications(date(2026, 11, 26), 30, now) == 0
    recipients = set(db.session.execute(sa.select(Notification.user_id)).scalars())
    assert recipients == {engineer_user.id, admin.id} and other_admin.id not in recipients


def test_an_engineer_is_reminded_only_of_their_own_certificate(app):
    from partnernet.notifications.reminders import remind_expiring_certifications
    partner = factories.partner()
    expiring, colleague = factories.engineer(partner), factories.engineer(partner)
    factories.certification(expiring, issued_on=date(2024, 1, 1), expires_on=date(2026, 12, 20))
    factories.certification(colleague, issued_on=date(2024, 1, 1), expires_on=date(2028, 12, 20))
    expiring_user = factories.user("engineer", engineer_=expiring)
    factories.user("engineer", engineer_=colleague)
    assert remind_expiring_certifications(date(2026, 11, 25), 30, china(2026, 11, 25, 0, 5)) == 1
    assert set(db.session.execute(sa.select(Notification.user_id)).scalars()) == {expiring_user.id}


# --- offer deadlines run on the ticket's clock ----------------------------------------------------

def test_a_business_hours_offer_made_at_night_waits_for_the_next_working_morning(app):
    """Saturday 03:00: the partner has until Monday 09:15 (15 business minutes), the time it is
    told; the expiry job leaves the offer alone overnight and expires it only after that."""
    partner, _engineer = certified_partner()
    admin = factories.user("partner_admin", party=partner)
    ticket = ticket_opened_at(china(2026, 11, 28, 3, 0))
    assert (ticket.status, ticket.offered_party_id) == ("offered", partner.id)
    assert ticket.offer_deadline == china(2026, 11, 30, 9, 15)
    body = db.session.execute(sa.select(Notification.body).where(
        Notification.user_id == admin.id, Notification.kind == "offer")).scalar_one()
    assert "2026-11-30 09:15" in body

    assert service.expire_due_offers(china(2026, 11, 28, 4, 0).astimezone(timezone.utc)) == 0
    assert service.expire_due_offers(china(2026, 11, 30, 9, 14).astimezone(timezone.utc)) == 0
    assert db.session.get(Ticket, ticket.id).status == "offered"
    assert service.expire_due_offers(china(2026, 11, 30, 9, 15).astimezone(timezone.utc)) == 1
    db.session.expire_all()
    assert (db.session.get(Ticket, ticket.id).status, db.session.get(Ticket, ticket.id).hq_queue_cause) \
        == ("hq_queue", "all_expired")


def test_the_next_partner_after_a_night_decline_also_has_until_the_working_morning(app):
    first, _e1 = certified_partner()
    second, _e2 = certified_partner(kind="agent")
    ticket = ticket_opened_at(china(2026, 11, 27, 17, 50))  # Friday, 10 minutes before closing
    assert ticket.offer_deadline == china(2026, 11, 30, 9, 5)
    offered = db.session.get(service.Party, ticket.offered_party_id)
    service.decline(ticket, factories.user("partner_admin", party=offered), "no_capacity", "全员出差",
                    china(2026, 11, 28, 22, 0).astimezone(timezone.utc))
    assert ticket.status == "offered" and ticket.offered_party_id in {first.id, second.id} - {offered.id}
    assert ticket.offer_deadline == china(2026, 11, 30, 9, 15)


def test_an_offer_by_hand_at_night_also_waits_for_the_working_morning(app):
    ticket = ticket_opened_at(china(2026, 11, 28, 3, 0))  # no partner covers it: the HQ queue
    assert ticket.status == "hq_queue"
    partner, _engineer = certified_partner()
    service.offer_by_hand(ticket, factories.user("hq_agent"), partner.id, "",
                          china(2026, 11, 28, 4, 0).astimezone(timezone.utc))
    assert (ticket.status, ticket.offer_deadline) == ("offered", china(2026, 11, 30, 9, 15))


def test_a_24x7_offer_runs_on_the_wall_clock(app):
    certified_partner()
    ticket = ticket_opened_at(china(2026, 11, 28, 3, 0), policy="24x7")
    assert ticket.offer_deadline == china(2026, 11, 28, 3, 15)
    assert service.expire_due_offers(china(2026, 11, 28, 3, 15).astimezone(timezone.utc)) == 1
