"""Ticket pages: intake from the form, the explanation, accepting from the page, scope (404)."""
import re
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from partnernet.extensions import db
from partnernet.tickets.models import Ticket
from partnernet.timeclock import now_utc
from tests import factories
from tests.test_tickets import NOW, certified_partner, open_ticket

pytestmark = pytest.mark.usefixtures("invariants")  # checked after every scenario


def test_hq_agent_opens_a_ticket_and_sees_where_it_went(client, login_as, app):
    partner, _engineer = certified_partner(name="杭州某某软件")
    bare = factories.partner(name="浙江分公司", kind="branch")
    factories.coverage(bare, "330000")
    factories.certification(factories.engineer(bare), "workflow", issued_on=date(2024, 1, 1),
                            expires_on=date(2026, 10, 1), status="expired")
    customer = factories.customer(region_code="330106")
    factories.contract(customer)
    login_as(factories.user("hq_agent"))
    response = client.post("/tickets/new", data={
        "customer_id": customer.id, "product_line": "workflow", "complexity": "complex", "tier": "L2",
        "channel": "phone", "subject": "审批流无法提交"})
    assert response.status_code == 302
    ticket = db.session.execute(sa.select(Ticket)).scalar_one()
    client.post("/language", data={"locale": "en"})
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "Offered to 杭州某某软件 (County coverage, Agent)." in page
    assert "Skipped 浙江分公司 (Province coverage, Branch): no valid certification for Workflow &amp; forms, expired 2026-10-01." in page
    client.post("/language", data={"locale": "zh_CN"})
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "杭州某某软件" in page and "2026-10-01" in page and "Offered to" not in page


def test_the_intake_form_starts_at_l1_unless_the_agent_chooses_l2(client, login_as, app):
    customer = factories.customer(region_code="330106")
    factories.contract(customer, value=80000)  # on-site included from 50,000, yet service starts at L1
    login_as(factories.user("hq_agent"))
    assert '<option selected value="L1">' in client.get("/tickets/new").get_data(as_text=True)
    for chosen, expected in (("", "L1"), ("L2", "L2")):
        assert client.post("/tickets/new", data={"customer_id": customer.id, "product_line": "workflow", "tier": chosen,
                                                 "complexity": "simple", "channel": "phone", "subject": "无法登录"}
                           ).status_code == 302
        newest = db.session.execute(sa.select(Ticket).order_by(Ticket.id.desc()).limit(1)).scalar_one()
        assert newest.tier == expected


def test_intake_form_errors_are_shown_and_nothing_is_written(client, login_as, app):
    login_as(factories.user("hq_agent"))
    response = client.post("/tickets/new", data={"customer_id": "", "product_line": "workflow",
                                                 "complexity": "simple", "channel": "phone", "subject": ""})
    assert response.status_code == 200
    assert db.session.execute(sa.select(sa.func.count(Ticket.id))).scalar() == 0


def test_partner_admin_accepts_from_the_ticket_page(client, login_as, app):
    partner, engineer = certified_partner()
    customer = factories.customer(region_code="330106")
    factories.contract(customer)
    login_as(factories.user("hq_agent"))
    client.post("/tickets/new", data={"customer_id": customer.id, "product_line": "workflow", "tier": "L1",
                                      "complexity": "simple", "channel": "web", "subject": "无法登录"})
    ticket = db.session.execute(sa.select(Ticket)).scalar_one()
    client.post("/logout")
    login_as(factories.user("partner_admin", party=partner))
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert f'value="{engineer.id}"' in page and "data-deadline" in page
    assert "route-explanation" not in page  # partners never see the other candidates
    assert client.post(f"/tickets/{ticket.id}/accept", data={"engineer_id": engineer.id}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).status == "accepted"
    again = client.post(f"/tickets/{ticket.id}/accept", data={"engineer_id": engineer.id}, follow_redirects=True)
    assert again.status_code == 200


def test_partner_admin_cannot_see_tickets_offered_to_or_owned_by_another_partner(client, login_as, app):
    partner, _engineer = certified_partner()
    customer = factories.customer(region_code="330106")
    factories.contract(customer)
    from tests.test_tickets import open_ticket
    ticket = open_ticket(customer)
    login_as(factories.user("partner_admin", party=factories.partner()))
    assert client.get(f"/tickets/{ticket.id}").status_code == 404
    assert client.post(f"/tickets/{ticket.id}/decline", data={"reason_code": "other", "note": "x"}).status_code == 404
    assert str(ticket.id) not in client.get("/tickets/").get_data(as_text=True).split("<tbody>")[1]


def offered_to_one_of_two():
    """A ticket offered to one of two certified partners: (ticket, offered one, the other one)."""
    first, _ = certified_partner()
    second, _ = certified_partner()
    ticket = open_ticket(factories.customer(region_code="330106"))
    ticket.offer_deadline = now_utc() + timedelta(minutes=15)  # opened at the tests' fixed NOW
    db.session.commit()
    offered = first if ticket.offered_party_id == first.id else second
    return ticket, offered, second if offered is first else first


def test_an_offer_due_on_a_later_day_shows_its_date_not_just_a_time(client, login_as, app):
    """A night's offer waits for the working morning: "09:15" alone would read as today's."""
    ticket, offered, _other = offered_to_one_of_two()
    login_as(factories.user("partner_admin", party=offered))
    soon = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert re.search(r'data-deadline="[^"]+"[^>]*>\d\d:\d\d</span>', soon)
    ticket.offer_deadline = datetime(2099, 3, 2, 1, 15, tzinfo=timezone.utc)
    db.session.commit()
    later = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert re.search(r'data-deadline="[^"]+"[^>]*>2099-03-02 09:15</span>', later)


def test_a_partner_declines_from_the_page_and_lands_on_its_list_not_a_404(client, login_as, app):
    ticket, offered, _other = offered_to_one_of_two()
    login_as(factories.user("partner_admin", party=offered))
    response = client.post(f"/tickets/{ticket.id}/decline", data={"reason_code": "no_capacity", "note": "本周满负荷"})
    assert (response.status_code, response.location) == (302, "/tickets/")
    assert client.get("/tickets/").status_code == 200


def test_a_late_accept_from_the_page_is_told_the_offer_moved_on(client, login_as, app):
    ticket, offered, other = offered_to_one_of_two()
    admin = factories.user("partner_admin", party=offered)
    engineer = factories.engineer(offered)
    login_as(admin)
    client.post(f"/tickets/{ticket.id}/decline", data={"reason_code": "no_capacity", "note": "本周满负荷"})
    client.post("/language", data={"locale": "en"})
    response = client.post(f"/tickets/{ticket.id}/accept", data={"engineer_id": engineer.id}, follow_redirects=True)
    assert response.status_code == 200 and "no longer offered to you" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).offered_party_id == other.id


def test_the_ticket_page_shows_a_partner_nothing_another_partner_did_with_the_ticket(client, login_as, app):
    ticket, offered, other = offered_to_one_of_two()
    decliner = factories.user("partner_admin", party=offered, name="第一家的管理员")
    login_as(decliner)
    client.post(f"/tickets/{ticket.id}/decline", data={"reason_code": "other", "note": "只告诉总部的原因"})
    client.post("/logout")
    login_as(factories.user("partner_admin", party=other))
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "只告诉总部的原因" not in page and "第一家的管理员" not in page
    client.post("/logout")
    login_as(factories.user("hq_agent"))
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "只告诉总部的原因" in page and "第一家的管理员" in page


def test_ticket_list_filters_by_status_and_region(client, login_as, app):
    from tests.test_tickets import open_ticket
    open_ticket(factories.customer(region_code="330106"))
    open_ticket(factories.customer(region_code="110101"))
    login_as(factories.user("hq_agent"))
    page = client.get("/tickets/", query_string={"region": "330000", "status": "hq_queue"}).get_data(as_text=True)
    assert "西湖区" in page and "东城区" not in page
    assert client.get("/tickets/queue").status_code == 200


def test_the_list_counts_up_to_its_cap_and_its_pages_hold_every_ticket_once(app, client, login_as, monkeypatch):
    from partnernet.tickets import queries
    manager = factories.user("hq_manager")
    opened = [open_ticket().id for _ in range(5)]
    monkeypatch.setattr(queries, "COUNT_CAP", 3)
    filters = queries.TicketFilters()
    statement = queries.ticket_list_statement(manager, filters, NOW)
    first = queries.list_page(statement, filters, per_page=2)
    assert (first.total, first.more) == (3, True)
    second = queries.list_page(statement, filters, after=first.next_cursor, per_page=2)
    third = queries.list_page(statement, filters, after=second.next_cursor, per_page=2)
    assert (second.total, second.more) == (3, True)  # every page counts the whole list
    seen = [t.id for page in (first, second, third) for t in page.items]
    assert seen == sorted(opened, reverse=True) and third.next_cursor is None  # newest first, each once
    login_as(manager)
    assert '<span class="text-muted fs-6">3+</span>' in client.get("/tickets/").get_data(as_text=True)


# --- forms after a refusal: what was chosen stays chosen, each error is said once ----------------

def error_messages(page: str) -> list[str]:
    """Every error the page shows: banners and the messages under fields."""
    found = re.findall(r'<div class="(?:alert alert-danger|invalid-feedback[^"]*)"[^>]*>(.*?)</div>', page, re.S)
    return [re.sub(r"\s+", " ", text).strip() for text in found]


def selected(page: str, name: str) -> list[str]:
    """The options chosen in the select named `name`."""
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S)
    assert select, f"no select {name} on the page"
    return re.findall(r'<option selected value="([^"]*)"', select.group(1))


@pytest.fixture
def worked(app):
    """A ticket in progress at a partner, and the partner's admin."""
    from partnernet.tickets import service
    partner, engineer = certified_partner()
    admin = factories.user("partner_admin", party=partner)
    ticket = service.accept(open_ticket(), admin, engineer.id, NOW)
    service.change_status(ticket, admin, "in_progress", "", NOW)
    return ticket, admin


def test_resolving_without_a_note_keeps_resolved_chosen_and_says_once_what_is_missing(client, login_as, worked):
    """Saving again after the error must resolve, not record the list's first step (waiting on customer)."""
    ticket, admin = worked
    login_as(admin)
    client.post("/language", data={"locale": "en"})
    response = client.post(f"/tickets/{ticket.id}/status", data={"status": "resolved", "note": " "})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert selected(page, "status") == ["resolved"]
    assert error_messages(page) == ["A resolution note is required."]
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).status == "in_progress"


def test_a_refused_status_change_keeps_the_note_typed(client, login_as, worked):
    ticket, admin = worked
    login_as(admin)
    page = client.post(f"/tickets/{ticket.id}/status", data={"status": "resolved", "note": "x" * 5001}).get_data(as_text=True)
    assert selected(page, "status") == ["resolved"] and "x" * 5001 in page
    assert len(error_messages(page)) == 1


def test_a_refused_decline_keeps_the_reason_chosen(client, login_as, app):
    ticket, offered, _other = offered_to_one_of_two()
    login_as(factories.user("partner_admin", party=offered))
    response = client.post(f"/tickets/{ticket.id}/decline", data={"reason_code": "customer_unreachable", "note": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert selected(page, "reason_code") == ["customer_unreachable"]
    assert len(error_messages(page)) == 1
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).offered_party_id == offered.id


def test_a_refused_return_keeps_the_reason_chosen(client, login_as, worked):
    ticket, admin = worked
    login_as(admin)
    response = client.post(f"/tickets/{ticket.id}/return", data={"reason_code": "customer_request", "note": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert selected(page, "reason_code") == ["customer_request"]
    assert len(error_messages(page)) == 1
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).status == "in_progress"


def test_a_refused_offer_by_hand_keeps_the_partner_and_says_why_once(client, login_as, app):
    ticket = open_ticket(factories.customer(region_code="330106"))  # nobody covers it: the HQ queue
    assert ticket.status == "hq_queue"
    uncertified = factories.partner(name="无认证工程师的伙伴")
    login_as(factories.user("hq_agent"))
    client.post("/language", data={"locale": "en"})
    response = client.post(f"/tickets/{ticket.id}/offer", data={"party_id": uncertified.id, "override_reason": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(rf'<input[^>]*name="party_id"[^>]*value="{uncertified.id}"', page)
    assert error_messages(page) == ["Give a reason to offer it anyway."]


def test_a_refused_intake_keeps_the_region_chosen_and_names_it(client, login_as, app):
    customer = factories.customer(region_code="330106")
    factories.contract(customer)
    login_as(factories.user("hq_agent"))
    page = client.post("/tickets/new", data={"customer_id": customer.id, "region_code": "330102", "product_line": "workflow",
                                             "complexity": "simple", "channel": "web", "subject": ""}).get_data(as_text=True)
    assert re.search(r'<input[^>]*id="region-search"[^>]*value="上城区', page)
    assert re.search(r'<input[^>]*name="region_code"[^>]*value="330102"', page)
    assert selected(page, "channel") == ["web"] and len(error_messages(page)) == 1
