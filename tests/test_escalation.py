"""Tiers that escalate: a ticket starts at L1 or L2, its holder escalates it with a reason, the
entitlement is checked then (and shown before confirming), and a holder that does not offer the
new tier there hands it on by routing, which is not push-back."""
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from partnernet.audit.measures import measure_partners
from partnernet.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from partnernet.extensions import db
from partnernet.scope import get_or_404
from partnernet.tickets import daily, service
from partnernet.tickets.models import Ticket, TicketEvent
from partnernet.timeclock import now_utc, today_in_china
from tests import factories
from tests.test_api import as_user, assert_error  # noqa: F401  (the fixture)

pytestmark = pytest.mark.usefixtures("invariants")  # checked after every scenario

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)  # 10:00 in China, a Wednesday
TODAY = date(2026, 11, 25)


def certified(party, line="workflow", today=TODAY):
    engineer = factories.engineer(party)
    factories.certification(engineer, line, issued_on=today - timedelta(days=400), expires_on=today + timedelta(days=400))
    return engineer


def xihu_network(xixi_tiers=("L1", "L2"), today=TODAY):
    """西溪, an agent for 西湖区 (L1/L2 unless told), and 恒信, a joint venture for Hangzhou with
    on-site service: an L2 ticket in 西湖区 goes to 西溪 first (the county beats the city)."""
    xixi = factories.partner(name="西溪", kind="agent", tiers=list(xixi_tiers))
    factories.coverage(xixi, "330106", tiers=list(xixi_tiers))
    hengxin = factories.partner(name="恒信", kind="joint_venture", tiers=["L1", "L2", "L3"])
    factories.coverage(hengxin, "330100", tiers=["L1", "L2", "L3"])
    return xixi, certified(xixi, today=today), hengxin, certified(hengxin, today=today)


def customer_with(value, today=TODAY):
    customer = factories.customer(region_code="330106", contact_name="王敏", contact_phone="138-0571-0001",
                                  contact_email="wangmin@example.com", address="杭州市西湖区文三路 90 号 5 楼")
    factories.contract(customer, value=Decimal(value), starts_on=today - timedelta(days=30))
    return customer


def accepted_ticket(customer, party, engineer, now=NOW, tier="L2"):
    ticket = service.intake(service.IntakeRequest(customer_id=customer.id, product_line="workflow", complexity="simple",
                                                  channel="phone", subject="表单导出乱码", tier=tier), None, now)
    assert ticket.offered_party_id == party.id, ticket.route
    admin = factories.user("partner_admin", party=party)
    service.accept(ticket, admin, engineer.id, now + timedelta(minutes=5))
    return ticket, admin


def says_billable(text: str) -> bool:
    """The API answers in the caller's language (Chinese without an Accept-Language)."""
    return "billable" in text or "收费" in text


def kinds(ticket):
    return list(db.session.execute(sa.select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket.id)
                                   .order_by(TicketEvent.id)).scalars())


# --- intake -------------------------------------------------------------------------------------------

def test_intake_starts_at_l1_by_default_whatever_the_contract(app):
    xihu_network()
    big = customer_with("80000.00")
    ticket = service.intake(service.IntakeRequest(customer_id=big.id, product_line="workflow", complexity="simple",
                                                  channel="phone", subject="表单导出乱码"), None, NOW)
    assert ticket.tier == "L1" and not ticket.billable


def test_intake_never_starts_at_l3(app):
    xihu_network()
    big = customer_with("80000.00")
    with pytest.raises(ValidationFailed) as refused:
        service.intake(service.IntakeRequest(customer_id=big.id, product_line="workflow", complexity="simple",
                                             channel="phone", subject="表单导出乱码", tier="L3"), None, NOW)
    assert "escalation" in refused.value.fields["tier"]
    assert db.session.execute(sa.select(sa.func.count(Ticket.id))).scalar() == 0


def test_the_intake_form_and_the_api_refuse_l3_and_say_why(client, login_as, as_user, app):  # noqa: F811
    big = customer_with("80000.00", today_in_china())
    agent = factories.user("hq_agent")
    refused = as_user(agent).post("/api/v1/tickets", json={
        "customer_id": big.id, "product_line": "workflow", "complexity": "simple", "tier": "L3", "channel": "phone",
        "subject": "表单导出乱码"})
    said = assert_error(refused, 422, "validation_failed", ["tier"])["fields"]["tier"]
    assert "L3" in said and ("escalation" in said or "升级" in said), said
    login_as(agent)
    client.post("/language", data={"locale": "en"})
    page = client.post("/tickets/new", data={"customer_id": big.id, "product_line": "workflow", "tier": "L3",
                                             "complexity": "simple", "channel": "phone", "subject": "表单导出乱码"})
    assert page.status_code == 200  # the form again, with the reason under the tier
    assert "on-site service (L3) comes by the owner&#39;s escalation" in page.get_data(as_text=True)
    form = client.get("/tickets/new").get_data(as_text=True)
    assert 'value="L3"' not in form and '<option selected value="L1">' in form
    assert db.session.execute(sa.select(sa.func.count(Ticket.id))).scalar() == 0


# --- escalating ---------------------------------------------------------------------------------------

def test_escalation_to_l3_on_a_30000_contract_is_billable_and_refused_until_accepted(app):
    xixi, engineer, _hengxin, _engineer = xihu_network(("L1", "L2", "L3"))
    ticket, admin = accepted_ticket(customer_with("30000.00"), xixi, engineer)
    assert not ticket.billable

    preview = service.escalation_preview(ticket, admin, "L3", NOW + timedelta(minutes=20))
    assert (preview.billable, preview.billable_reason, preview.stays_with_owner) == (True, "onsite_not_included", True)
    with pytest.raises(ValidationFailed) as refused:
        service.escalate(ticket, admin, "L3", "需要上门排查打印机驱动", False, NOW + timedelta(minutes=20))
    assert "billable" in refused.value.message and "accept_billable" in refused.value.fields
    db.session.expire_all()
    assert (ticket.tier, ticket.billable) == ("L2", False)  # nothing changed

    service.escalate(ticket, admin, "L3", "需要上门排查打印机驱动", True, NOW + timedelta(minutes=20))
    assert (ticket.tier, ticket.billable, ticket.billable_reason) == ("L3", True, "onsite_not_included")
    assert (ticket.status, ticket.owner_party_id) == ("accepted", xixi.id)
    event = db.session.execute(sa.select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                                            TicketEvent.kind == "escalated")).scalar_one()
    assert event.data == {"from_tier": "L2", "to_tier": "L3", "reason": "需要上门排查打印机驱动", "billable": True,
                          "billable_reason": "onsite_not_included"}
    assert event.party_id == xixi.id and event.actor_user_id == admin.id


def test_escalation_within_the_contract_is_not_billable_and_keeps_the_sla_clocks(app):
    xixi, engineer, _hengxin, _engineer = xihu_network(("L1", "L2", "L3"))
    ticket, admin = accepted_ticket(customer_with("68000.00"), xixi, engineer, tier="L1")
    before = (ticket.response_due_at, ticket.resolution_due_at, ticket.responded_at)
    service.escalate(ticket, admin, "L2", "需要远程登录服务器", False, NOW + timedelta(minutes=20))
    service.escalate(ticket, admin, "L3", "远程无法解决，需要上门", False, NOW + timedelta(minutes=40))
    assert (ticket.tier, ticket.billable) == ("L3", False)
    assert (ticket.response_due_at, ticket.resolution_due_at, ticket.responded_at) == before
    assert kinds(ticket).count("escalated") == 2


def test_only_the_holder_escalates_to_a_higher_tier_with_a_reason(app):
    xixi, engineer, hengxin, _engineer = xihu_network(("L1", "L2", "L3"))
    ticket, admin = accepted_ticket(customer_with("68000.00"), xixi, engineer)
    later = NOW + timedelta(minutes=20)
    for outsider in (factories.user("hq_agent"), factories.user("partner_admin", party=hengxin),
                     factories.user("engineer", engineer_=factories.engineer(xixi))):  # not the assigned one
        with pytest.raises(InvalidTransition):
            service.escalate(ticket, outsider, "L3", "上门", True, later)
    with pytest.raises(ValidationFailed) as lower:
        service.escalate(ticket, admin, "L1", "降级", True, later)
    assert "tier" in lower.value.fields
    with pytest.raises(ValidationFailed) as silent:
        service.escalate(ticket, admin, "L3", "  ", True, later)
    assert "reason" in silent.value.fields
    own_engineer = factories.user("engineer", engineer_=engineer)
    service.escalate(ticket, own_engineer, "L3", "现场才能看到设备", True, later)
    assert ticket.tier == "L3"


def test_two_escalations_at_once_cannot_both_win(app):
    xixi, engineer, _hengxin, _engineer = xihu_network(("L1", "L2", "L3"))
    ticket, admin = accepted_ticket(customer_with("68000.00"), xixi, engineer, tier="L1")
    # A colleague's escalation lands between this one's checks and its write.
    db.session.execute(sa.update(Ticket).where(Ticket.id == ticket.id).values(tier="L2")
                       .execution_options(synchronize_session=False))
    with pytest.raises(Conflict):
        service.escalate(ticket, admin, "L2", "需要远程", False, NOW + timedelta(minutes=20))
    assert "escalated" not in kinds(ticket)


def test_hq_holding_a_ticket_offers_every_tier(app):
    customer = customer_with("68000.00")  # nobody covers 西湖区: the HQ queue
    ticket = service.intake(service.IntakeRequest(customer_id=customer.id, product_line="workflow", complexity="simple",
                                                  channel="phone", subject="表单导出乱码"), None, NOW)
    agent = factories.user("hq_agent")
    service.take_at_hq(ticket, agent, NOW + timedelta(minutes=5))
    preview = service.escalate(ticket, agent, "L3", "需要上门", False, NOW + timedelta(minutes=20))
    assert preview.stays_with_owner and (ticket.tier, ticket.status) == ("L3", "accepted")


def test_an_escalation_the_owner_cannot_serve_moves_on_and_is_not_push_back(app):
    xixi, engineer, hengxin, hengxin_engineer = xihu_network()  # 西溪 offers L1 and L2 only
    ticket, admin = accepted_ticket(customer_with("68000.00"), xixi, engineer)
    responded = ticket.responded_at
    at = NOW + timedelta(minutes=30)

    preview = service.escalation_preview(ticket, admin, "L3", at)
    assert not preview.stays_with_owner and preview.decision.offered_party_id == hengxin.id
    assert not preview.billable
    service.escalate(ticket, admin, "L3", "需要上门检查网络设备", False, at)

    assert (ticket.status, ticket.tier, ticket.offered_party_id, ticket.owner_party_id) == ("offered", "L3", hengxin.id, None)
    assert ticket.responded_at == responded and ticket.engineer_id is None
    skipped = {c["party_id"]: c["reason"] for c in ticket.route["candidates"] if c["outcome"] == "skipped"}
    assert skipped == {xixi.id: "tier_not_offered"}
    assert kinds(ticket)[-2:] == ["escalated", "offered"]
    with pytest.raises(NotFound):  # 西溪 no longer sees it
        get_or_404(Ticket, ticket.id, admin)

    # 恒信 takes it on site and resolves it.
    hengxin_admin = factories.user("partner_admin", party=hengxin)
    service.accept(ticket, hengxin_admin, hengxin_engineer.id, at + timedelta(minutes=5))
    service.change_status(ticket, hengxin_admin, "resolved", "上门更换交换机端口", at + timedelta(minutes=50))

    # The audit's own measure: offered and accepted once, no push-back, and not a ticket 西溪 kept
    # (its resolution is 恒信's).
    measures = {m.party_id: m for m in measure_partners(TODAY, TODAY, at + timedelta(hours=2))}
    assert (measures[xixi.id].offered, measures[xixi.id].accepted) == (1, 1)
    assert measures[xixi.id].push_back == 0 and measures[xixi.id].returned == 0
    assert measures[xixi.id].sla_kept == 0 and measures[hengxin.id].sla_kept == 1
    assert measures[hengxin.id].offered == 1 and measures[hengxin.id].push_back == 0
    # The dashboard's month of offers says the same.
    assert daily.offers_by_party(TODAY)[xixi.id] == {"offered": 1, "accepted": 1}
    assert daily.offers_by_party(TODAY)[hengxin.id] == {"offered": 1, "accepted": 1}


def test_an_escalation_nobody_can_serve_goes_to_the_hq_queue_with_its_cause(app):
    xixi = factories.partner(name="西溪", tiers=["L1", "L2"])
    factories.coverage(xixi, "330106")
    engineer = certified(xixi)
    ticket, admin = accepted_ticket(customer_with("68000.00"), xixi, engineer)
    service.escalate(ticket, admin, "L3", "需要上门", False, NOW + timedelta(minutes=30))
    assert (ticket.status, ticket.hq_queue_cause, ticket.tier) == ("hq_queue", "no_coverage", "L3")
    measures = {m.party_id: m for m in measure_partners(TODAY, TODAY, NOW + timedelta(hours=1))}
    assert measures[xixi.id].push_back == 0


# --- the page and the API -----------------------------------------------------------------------------

def test_the_page_shows_that_l3_is_billable_before_confirming(client, login_as, app):
    today = today_in_china()
    xixi, engineer, _hengxin, _engineer = xihu_network(("L1", "L2", "L3"), today)
    ticket, admin = accepted_ticket(customer_with("30000.00", today), xixi, engineer, now_utc())
    login_as(admin)
    client.post("/language", data={"locale": "en"})
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert 'data-testid="escalate"' in page and '<option value="L3">' in page and '<option value="L1">' not in page

    preview = client.post(f"/tickets/{ticket.id}/escalate", data={"tier": "L3", "reason": "需要上门排查"})
    shown = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "At L3 this ticket is billable: on-site service is not included in this customer&#39;s contract." in shown
    assert "the ticket stays with you" in shown
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).tier == "L2"  # a preview writes nothing

    unaccepted = client.post(f"/tickets/{ticket.id}/escalate", data={"tier": "L3", "reason": "需要上门排查",
                                                                     "confirm": "1"})
    assert unaccepted.status_code == 422 and "Accept that the ticket becomes billable" in unaccepted.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).tier == "L2"

    done = client.post(f"/tickets/{ticket.id}/escalate", data={"tier": "L3", "reason": "需要上门排查", "confirm": "1",
                                                              "accept_billable": "y"}, follow_redirects=True)
    assert done.status_code == 200 and "Escalated to L3." in done.get_data(as_text=True)
    db.session.expire_all()
    assert (db.session.get(Ticket, ticket.id).tier, db.session.get(Ticket, ticket.id).billable) == ("L3", True)


def test_the_api_previews_and_refuses_a_billable_escalation_without_acceptance(as_user, app):  # noqa: F811
    today = today_in_china()
    xixi, engineer, _hengxin, _engineer = xihu_network(("L1", "L2", "L3"), today)
    ticket, admin = accepted_ticket(customer_with("30000.00", today), xixi, engineer, now_utc())
    caller = as_user(admin)
    preview = caller.get(f"/api/v1/tickets/{ticket.id}/escalation-preview?tier=L3").get_json()
    assert preview["billable"] is True and preview["billable_reason"] == "onsite_not_included"
    assert says_billable(preview["billable_message"]) and preview["destination"] == "stays"

    refused = caller.post(f"/api/v1/tickets/{ticket.id}/escalations", json={"tier": "L3", "reason": "需要上门"})
    error = assert_error(refused, 422, "validation_failed", ["accept_billable"])
    assert says_billable(error["message"])
    done = caller.post(f"/api/v1/tickets/{ticket.id}/escalations",
                       json={"tier": "L3", "reason": "需要上门", "accept_billable": True})
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert body["ticket"]["tier"] == "L3" and body["ticket"]["billable"] is True
    assert_error(caller.get(f"/api/v1/tickets/{ticket.id}/escalation-preview?tier=L2"), 422, "validation_failed")
    outsider = as_user(factories.user("partner_admin", party=factories.partner()))
    assert_error(outsider.get(f"/api/v1/tickets/{ticket.id}/escalation-preview?tier=L3"), 404, "not_found")


def test_the_api_says_where_an_escalation_goes_and_the_ticket_leaves(as_user, app):  # noqa: F811
    today = today_in_china()
    xixi, engineer, hengxin, _engineer = xihu_network(today=today)
    ticket, admin = accepted_ticket(customer_with("68000.00", today), xixi, engineer, now_utc())
    caller = as_user(admin)
    preview = caller.get(f"/api/v1/tickets/{ticket.id}/escalation-preview?tier=L3").get_json()
    assert preview["destination"] == "partner" and preview["billable"] is False
    assert [c["partner_id"] for c in preview["route"]["candidates"]] == [xixi.id]  # its own entry only
    done = caller.post(f"/api/v1/tickets/{ticket.id}/escalations", json={"tier": "L3", "reason": "需要上门"})
    assert done.status_code == 200 and done.get_json()["ticket"] is None
    assert_error(caller.get(f"/api/v1/tickets/{ticket.id}"), 404, "not_found")
    hq = as_user(factories.user("hq_agent")).get(f"/api/v1/tickets/{ticket.id}?include=events").get_json()
    assert hq["owner"] == {"type": "partner", "id": hengxin.id, "name": "恒信"} and hq["status"] == "offered"
    escalated = next(e for e in hq["events"] if e["kind"] == "escalated")
    assert escalated["data"]["from_tier"] == "L2" and escalated["data"]["to_tier"] == "L3"
