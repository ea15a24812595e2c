"""Tickets: intake and entitlement, routing to a partner, offers and answers, the HQ queue, work."""
import threading
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from partnernet import create_app
from partnernet.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from partnernet.extensions import db
from partnernet.tickets import service
from partnernet.tickets.models import Ticket, TicketEvent
from tests import databases, factories

pytestmark = pytest.mark.usefixtures("invariants")  # checked after every scenario

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)  # 10:00 in China
TODAY = date(2026, 11, 25)


def certified_partner(region="330106", line="workflow", **fields):
    partner = factories.partner(**fields)
    factories.coverage(partner, region, tiers=fields.get("tiers", ["L1", "L2"]))
    engineer = factories.engineer(partner)
    factories.certification(engineer, line, issued_on=date(2024, 1, 1), expires_on=date(2027, 12, 31))
    return partner, engineer


def open_ticket(customer=None, tier="L2", **fields):
    customer = customer or factories.customer(region_code="330106")
    if not customer.contracts:
        factories.contract(customer, starts_on=date(2026, 6, 1))
    request = service.IntakeRequest(customer_id=customer.id, product_line=fields.pop("line", "workflow"),
                                    complexity="simple", channel="phone", subject="审批流无法提交", tier=tier, **fields)
    return service.intake(request, None, NOW)


def events(ticket):
    return [e.kind for e in db.session.execute(
        sa.select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)).scalars()]


# --- intake and entitlement -----------------------------------------------------------------------

def test_intake_offers_the_ticket_to_the_county_partner_with_a_deadline(app):
    partner, _engineer = certified_partner()
    ticket = open_ticket()
    assert (ticket.status, ticket.offered_party_id) == ("offered", partner.id)
    assert ticket.offer_deadline == NOW + timedelta(minutes=15)
    assert events(ticket) == ["created", "offered"]
    assert ticket.route["candidates"][0]["outcome"] == "offered"


def test_first_year_is_free_then_service_must_be_paid(app):
    free = factories.customer(region_code="330106")
    factories.contract(free, starts_on=date(2026, 1, 1))
    unpaid = factories.customer(region_code="330106")
    factories.contract(unpaid, starts_on=date(2024, 1, 1), service_paid_until=date(2026, 1, 1))
    paid = factories.customer(region_code="330106")
    factories.contract(paid, starts_on=date(2024, 1, 1), service_paid_until=date(2026, 12, 31))
    assert not open_ticket(free).billable
    assert open_ticket(unpaid).billable_reason == "service_unpaid"
    assert not open_ticket(paid).billable


def test_tier_starts_at_l1_whatever_the_contract(app):
    """The contract decides what is included, not where service starts (on-site: by escalation,
    tests/test_escalation.py)."""
    big = factories.customer(region_code="330106")
    factories.contract(big, value=Decimal("80000.00"), starts_on=date(2026, 6, 1))
    small = factories.customer(region_code="330106")
    factories.contract(small, value=Decimal("20000.00"), starts_on=date(2026, 6, 1))
    assert open_ticket(big, tier=None).tier == "L1"
    assert open_ticket(small, tier=None).tier == "L1"


def test_invalid_intake_names_every_bad_field_and_writes_nothing(app):
    request = service.IntakeRequest(customer_id=999999, product_line="nope", complexity="hard", channel="fax",
                                    subject=" ", tier="L9", region_code="123456")
    with pytest.raises(ValidationFailed) as error:
        service.intake(request, None, NOW)
    assert set(error.value.fields) == {"customer_id", "product_line", "complexity", "channel", "subject",
                                       "tier", "region_code"}
    assert db.session.execute(sa.select(sa.func.count(Ticket.id))).scalar() == 0


# --- offers -------------------------------------------------------------------------------------

def test_accepting_needs_an_own_certified_engineer(app):
    partner, engineer = certified_partner()
    other_partner, other_engineer = certified_partner(region="320000")
    uncertified = factories.engineer(partner)
    admin = factories.user("partner_admin", party=partner)
    ticket = open_ticket()
    for wrong in (other_engineer.id, uncertified.id):
        with pytest.raises(ValidationFailed):
            service.accept(ticket, admin, wrong, NOW)
    assert db.session.get(Ticket, ticket.id).status == "offered"
    service.accept(ticket, admin, engineer.id, NOW + timedelta(minutes=3))
    assert (ticket.status, ticket.owner_party_id, ticket.engineer_id) == ("accepted", partner.id, engineer.id)
    assert ticket.responded_at == NOW + timedelta(minutes=3)


def test_an_expired_offer_cannot_be_accepted(app):
    partner, engineer = certified_partner()
    ticket = open_ticket()
    with pytest.raises(Conflict):
        service.accept(ticket, factories.user("partner_admin", party=partner), engineer.id, NOW + timedelta(minutes=16))


def test_decline_offers_the_next_candidate_at_once_and_never_again_to_the_decliner(app):
    county, _ = certified_partner("330106")
    city, _ = certified_partner("330100")
    ticket = open_ticket()
    assert ticket.offered_party_id == county.id
    with pytest.raises(ValidationFailed):
        service.decline(ticket, factories.user("partner_admin", party=county), "no_capacity", "", NOW)
    service.decline(ticket, factories.user("partner_admin", party=county), "no_capacity", "全员外出", NOW)
    assert (ticket.status, ticket.offered_party_id) == ("offered", city.id)
    service.decline(ticket, factories.user("partner_admin", party=city), "outside_expertise", "不熟悉", NOW)
    assert (ticket.status, ticket.hq_queue_cause) == ("hq_queue", "all_declined")
    assert events(ticket) == ["created", "offered", "declined", "offered", "declined", "queued_to_hq"]


def test_rerouting_skips_the_parties_that_declined(app):
    county, _ = certified_partner("330106")
    ticket = open_ticket()
    service.decline(ticket, factories.user("partner_admin", party=county), "other", "不接", NOW)
    assert ticket.status == "hq_queue"
    decision = service.reroute(ticket, factories.user("hq_agent"), NOW + timedelta(minutes=5))
    assert decision.offered_party_id is None and ticket.hq_queue_cause == "all_declined"


def test_expire_due_offers_moves_on_and_is_idempotent(app):
    county, _ = certified_partner("330106")
    province, _ = certified_partner("330000", kind="branch")
    ticket = open_ticket()
    assert service.expire_due_offers(NOW + timedelta(minutes=14)) == 0
    assert service.expire_due_offers(NOW + timedelta(minutes=15)) == 1
    ticket = db.session.get(Ticket, ticket.id)
    assert (ticket.status, ticket.offered_party_id) == ("offered", province.id)
    assert service.expire_due_offers(NOW + timedelta(minutes=15)) == 0
    assert service.expire_due_offers(NOW + timedelta(minutes=31)) == 1
    ticket = db.session.get(Ticket, ticket.id)
    assert (ticket.status, ticket.hq_queue_cause) == ("hq_queue", "all_expired")
    assert events(ticket).count("offer_expired") == 2


def test_nobody_covering_sends_the_ticket_to_hq_with_one_cause(app):
    ticket = open_ticket()
    assert (ticket.status, ticket.hq_queue_cause, ticket.owner_party_id) == ("hq_queue", "no_coverage", None)


def test_coverage_without_certified_engineer_queues_with_that_cause(app):
    partner = factories.partner()
    factories.coverage(partner, "330106")
    assert open_ticket().hq_queue_cause == "no_certified_engineer"


# --- after accepting --------------------------------------------------------------------------

@pytest.fixture
def accepted(app):
    partner, engineer = certified_partner()
    admin = factories.user("partner_admin", party=partner)
    ticket = service.accept(open_ticket(), admin, engineer.id, NOW)
    return ticket, admin, engineer


def test_owner_works_the_ticket_through_to_closed(app, accepted):
    ticket, admin, engineer = accepted
    engineer_user = factories.user("engineer", engineer_=engineer)
    service.change_status(ticket, engineer_user, "in_progress", "", NOW)
    service.change_status(ticket, engineer_user, "waiting_on_customer", "等客户回复", NOW)
    assert ticket.paused_at == NOW
    service.change_status(ticket, engineer_user, "in_progress", "", NOW)
    with pytest.raises(ValidationFailed):
        service.change_status(ticket, engineer_user, "resolved", "", NOW)
    service.change_status(ticket, engineer_user, "resolved", "重置了流程引擎缓存", NOW)
    service.change_status(ticket, admin, "closed", "", NOW)
    assert ticket.status == "closed"
    kinds = events(ticket)
    assert kinds.count("status_changed") == 5


def test_an_illegal_work_step_is_refused(app, accepted):
    ticket, admin, _engineer = accepted
    with pytest.raises(InvalidTransition):
        service.change_status(ticket, admin, "closed", "", NOW)
    assert db.session.get(Ticket, ticket.id).status == "accepted"


def test_return_to_hq_queues_with_returned_by_partner(app, accepted):
    ticket, admin, _engineer = accepted
    service.return_to_hq(ticket, admin, "beyond_our_skills", "需要总部二次开发", NOW)
    assert (ticket.status, ticket.hq_queue_cause, ticket.owner_party_id) == ("hq_queue", "returned_by_partner", None)
    assert events(ticket)[-2:] == ["returned_to_hq", "queued_to_hq"]


def test_another_partner_cannot_work_or_return_the_ticket(app, accepted):
    ticket, _admin, _engineer = accepted
    stranger = factories.user("partner_admin", party=factories.partner())
    with pytest.raises(NotFound):
        service.change_status(ticket, stranger, "in_progress", "", NOW)
    with pytest.raises(NotFound):
        service.return_to_hq(ticket, stranger, "other", "x", NOW)


def test_reassign_only_to_an_own_certified_engineer(app, accepted):
    ticket, admin, _engineer = accepted
    colleague = factories.engineer(ticket.owner)
    with pytest.raises(ValidationFailed):
        service.reassign(ticket, admin, colleague.id, NOW)
    factories.certification(colleague, "workflow")
    service.reassign(ticket, admin, colleague.id, NOW)
    assert ticket.engineer_id == colleague.id


# --- the HQ queue -----------------------------------------------------------------------------

def test_hq_agent_takes_a_queued_ticket(app):
    ticket = open_ticket()
    service.take_at_hq(ticket, factories.user("hq_agent"), NOW + timedelta(minutes=4))
    assert (ticket.status, ticket.owner_party_id) == ("accepted", factories.hq().id)
    assert ticket.responded_at == NOW + timedelta(minutes=4)
    with pytest.raises(Conflict):
        service.take_at_hq(ticket, factories.user("hq_agent"), NOW)


def test_offer_by_hand_needs_a_certified_engineer_or_a_written_override(app):
    ticket = open_ticket()
    bare = factories.partner()
    agent = factories.user("hq_agent")
    with pytest.raises(ValidationFailed):
        service.offer_by_hand(ticket, agent, bare.id, "", NOW)
    assert db.session.get(Ticket, ticket.id).status == "hq_queue"
    service.offer_by_hand(ticket, agent, bare.id, "客户指定该伙伴，工程师证书在办", NOW)
    assert (ticket.status, ticket.offered_party_id) == ("offered", bare.id)


def test_events_are_never_updated_or_deleted(app, accepted):
    ticket, _admin, _engineer = accepted
    event = db.session.execute(sa.select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)).scalars().first()
    with pytest.raises(Exception, match="append-only"):
        db.session.execute(sa.delete(TicketEvent).where(TicketEvent.id == event.id))
    db.session.rollback()


# --- compare-and-set under concurrency --------------------------------------------------------

def run_concurrent_accepts(database_url, ticket_id, admin_ids, engineer_id):
    """Eight users of the offered partner press accept at the same moment, each in its own thread,
    app context and database connection."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True})
    barrier = threading.Barrier(len(admin_ids), timeout=30)
    results = []

    def press(admin_id):
        with app.app_context():
            from partnernet.auth.models import User
            admin = db.session.get(User, admin_id)
            ticket = db.session.get(Ticket, ticket_id)
            barrier.wait()
            try:
                service.accept(ticket, admin, engineer_id, NOW + timedelta(minutes=1))
                results.append("won")
            except Conflict:
                results.append("already taken")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=press, args=(i,)) for i in admin_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with app.app_context():
        db.engine.dispose()
    return results


def test_eight_simultaneous_accepts_have_exactly_one_winner(app, database_url):
    partner, engineer = certified_partner()
    admins = [factories.user("partner_admin", party=partner).id for _ in range(8)]
    ticket = open_ticket()
    results = run_concurrent_accepts(database_url, ticket.id, admins, engineer.id)
    assert sorted(results) == ["already taken"] * 7 + ["won"]
    db.session.expire_all()
    assert events(ticket).count("accepted") == 1


def test_eight_simultaneous_accepts_have_exactly_one_winner_on_postgresql():
    with databases.postgres_database("concurrency") as url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
        with app.app_context():
            partner, engineer = certified_partner()
            admins = [factories.user("partner_admin", party=partner).id for _ in range(8)]
            ticket_id, engineer_id = open_ticket().id, engineer.id
            db.session.remove()
            db.engine.dispose()
        results = run_concurrent_accepts(url, ticket_id, admins, engineer_id)
        assert sorted(results) == ["already taken"] * 7 + ["won"]
