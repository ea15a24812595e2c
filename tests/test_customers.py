"""Customers on HQ's pages: a caller not yet known is added and served, contracts, and the annual
service fees that keep a customer entitled after its free year."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from partnernet.customers import service
from partnernet.customers.models import Contract, Customer
from partnernet.extensions import db
from partnernet.settings.models import ChangeEvent
from partnernet.settings.service import load_settings
from partnernet.tickets.models import Ticket
from partnernet.timeclock import today_in_china
from tests import factories
from tests.test_api import assert_error, bearer, token_for
from tests.test_tickets import certified_partner

pytestmark = pytest.mark.usefixtures("invariants")  # checked after every scenario


def count(model) -> int:
    db.session.expire_all()
    return db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def logged(kind):
    return [(e.actor_user_id, e.target, e.data) for e in db.session.execute(
        sa.select(ChangeEvent).where(ChangeEvent.kind == kind).order_by(ChangeEvent.id)).scalars()]


def test_an_agent_adds_a_first_caller_as_a_customer_and_opens_their_ticket(client, login_as, app):
    certified_partner()
    agent = factories.user("hq_agent")
    login_as(agent)
    before = count(Customer)
    for bad, field in (({"region_code": ""}, "region_code"), ({"region_code": "999999"}, "region_code"),
                       ({"name": ""}, "name"), ({"sold_by_partner_id": "abc"}, "sold_by_partner_id"),
                       ({"sold_by_partner_id": str(2**40)}, "sold_by_partner_id")):
        response = client.post("/customers/new", data={"name": "西湖文旅集团", "region_code": "330106", **bad})
        assert response.status_code == 422 and "invalid-feedback" in response.get_data(as_text=True), bad
    assert count(Customer) == before  # a refused form adds nothing

    response = client.post("/customers/new", data={"name": "西湖文旅集团", "region_code": "330106",
                                                   "contact_phone": "0571-8888 0000"})
    assert response.status_code == 302
    customer = db.session.execute(sa.select(Customer).where(Customer.name == "西湖文旅集团")).scalar_one()
    assert customer.sold_by.is_hq and customer.contact_phone == "0571-8888 0000"
    assert response.location == f"/customers/{customer.id}"
    assert logged("customer_created") == [(agent.id, "西湖文旅集团", {
        "customer_id": customer.id, "region_code": "330106", "sold_by_party_id": customer.sold_by_party_id})]

    # From the customer's page to the intake form, with the customer already chosen.
    page = client.get(f"/tickets/new?customer={customer.id}").get_data(as_text=True)
    assert f'value="{customer.id}"' in page and "西湖文旅集团 · " in page
    response = client.post("/tickets/new", data={"customer_id": customer.id, "product_line": "workflow",
                                                 "complexity": "simple", "channel": "phone", "subject": "首次来电"})
    assert response.status_code == 302
    ticket = db.session.execute(sa.select(Ticket).where(Ticket.customer_id == customer.id)).scalar_one()
    assert ticket.billable and ticket.billable_reason == "no_contract"  # served, and billed
    assert "首次来电" in client.get(f"/customers/{customer.id}").get_data(as_text=True)


def test_a_customer_sold_by_a_partner_is_chosen_with_the_partner_picker(client, login_as, app):
    seller = factories.partner(name="杭州恒信科技")
    login_as(factories.user("hq_manager"))
    found = client.get("/partners/search.json", query_string={"q": "恒信"}).get_json()
    assert [p["id"] for p in found] == [seller.id]
    assert client.get("/partners/search.json", query_string={"q": "总部"}).get_json() == []  # never HQ
    assert client.post("/customers/new", data={"name": "滨江制造", "region_code": "330108",
                                               "sold_by_partner_id": str(seller.id)}).status_code == 302
    customer = db.session.execute(sa.select(Customer).where(Customer.name == "滨江制造")).scalar_one()
    assert customer.sold_by_party_id == seller.id


def test_a_contract_added_on_the_page_makes_the_first_year_free(client, login_as, app):
    today = today_in_china()
    certified_partner()
    customer = factories.customer(region_code="330106")
    agent = factories.user("hq_agent")
    login_as(agent)
    form = {"value": "68000", "starts_on": (today - timedelta(days=10)).isoformat(), "product_lines": ["workflow"],
            "sla_policy": "business-hours"}
    for bad in ({"value": "NaN"}, {"value": "0"}, {"value": "abc"}, {"product_lines": []},
                {"service_paid_until": (today - timedelta(days=20)).isoformat()}, {"sla_policy": "gold"}):
        response = client.post(f"/customers/{customer.id}/contracts", data={**form, **bad})
        assert response.status_code == 422, bad
    assert count(Contract) == 0
    assert client.post(f"/customers/{customer.id}/contracts", data=form).status_code == 302
    contract = db.session.execute(sa.select(Contract).where(Contract.customer_id == customer.id)).scalar_one()
    assert (contract.value, contract.sla_policy.code) == (Decimal("68000.00"), "business-hours")
    assert [(actor, data["customer_id"], data["value"]) for actor, _number, data in logged("contract_created")] == \
        [(agent.id, customer.id, "68000.00")]
    page = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert contract.number in page and "12,240.00" in page  # the annual fee: 18% of the value
    from tests.test_tickets import open_ticket
    assert not open_ticket(customer).billable


def test_fees_received_keep_a_customer_entitled_after_the_free_year_and_are_logged(client, login_as, app):
    today = today_in_china()
    certified_partner()
    customer = factories.customer(region_code="330106")
    contract = factories.contract(customer, value=Decimal("50000.00"), starts_on=today - timedelta(days=800),
                                  service_paid_until=None)
    from tests.test_tickets import open_ticket
    assert open_ticket(customer).billable_reason == "service_unpaid"
    settings = load_settings()
    assert service.service_status(contract, today, settings).state == "unpaid"
    proposed = service.next_paid_until(contract, today, settings)
    assert proposed == service.add_years(today, 1) - timedelta(days=1)  # a lapsed service restarts today

    login_as(factories.user("hq_agent"))
    assert client.post(f"/customers/contracts/{contract.id}/service-payment",
                       data={"paid_until": proposed.isoformat()}).status_code == 403  # not an agent's to record
    client.post("/logout")
    manager = factories.user("hq_manager")
    login_as(manager)
    page = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert f'value="{proposed.isoformat()}"' in page  # the form proposes a year on
    covered = service.service_status(contract, today, settings).covered_until
    for bad in (covered.isoformat(), "", service.add_years(today, 11).isoformat()):
        response = client.post(f"/customers/contracts/{contract.id}/service-payment", data={"paid_until": bad})
        assert response.status_code == 422, bad
    db.session.refresh(contract)
    assert contract.service_paid_until is None and logged("service_paid") == []

    response = client.post(f"/customers/contracts/{contract.id}/service-payment",
                           data={"paid_until": proposed.isoformat()})
    assert response.status_code == 302
    db.session.refresh(contract)
    assert contract.service_paid_until == proposed
    assert service.service_status(contract, today, settings).state == "paid"
    assert logged("service_paid") == [(manager.id, contract.number, {
        "customer_id": customer.id, "from": None, "to": proposed.isoformat(), "annual_fee": "9000.00"})]
    assert not open_ticket(customer).billable


def test_the_service_status_follows_the_free_period_and_the_fees_paid(app):
    customer = factories.customer()
    contract = factories.contract(customer, starts_on=date(2026, 3, 15), service_paid_until=None,
                                  value=Decimal("100000.00"))
    settings = load_settings()
    assert service.service_status(contract, date(2027, 3, 14), settings) == \
        service.ServiceStatus("free", date(2027, 3, 14), Decimal("18000.00"))
    assert service.service_status(contract, date(2027, 3, 15), settings).state == "unpaid"
    # Paid before the free year ends: the next year follows on from it.
    assert service.next_paid_until(contract, date(2027, 1, 10), settings) == date(2028, 3, 14)
    contract.service_paid_until = date(2028, 3, 14)
    assert service.service_status(contract, date(2028, 3, 14), settings).state == "paid"
    assert service.service_status(contract, date(2028, 3, 15), settings).state == "unpaid"
    assert service.next_paid_until(contract, date(2027, 6, 1), settings) == date(2029, 3, 14)


def test_the_api_records_fees_received_for_managers_and_refuses_a_day_already_covered(app, client):
    today = today_in_china()
    customer = factories.customer()
    contract = factories.contract(customer, starts_on=today - timedelta(days=30), service_paid_until=None)
    headers = bearer(token_for(factories.user("hq_manager")))
    path = f"/api/v1/contracts/{contract.id}/service-payments"
    assert_error(client.post(path, json={"paid_until": today.isoformat()}, headers=headers),
                 422, "validation_failed", ["paid_until"])
    assert_error(client.post(path, json={}, headers=headers), 422, "validation_failed", ["paid_until"])
    later = service.add_years(today, 2)
    response = client.post(path, json={"paid_until": later.isoformat()}, headers=headers)
    assert response.status_code == 200 and response.get_json()["service_paid_until"] == later.isoformat()
    assert client.post(f"/api/v1/contracts/{2**31 - 1}/service-payments", json={"paid_until": later.isoformat()},
                       headers=headers).status_code == 404


def test_hq_corrects_a_customer_and_a_contract_and_the_log_says_what_changed(client, login_as, app):
    today = today_in_china()
    seller = factories.partner(name="宁波海曙科技")
    customer = factories.customer(region_code="330106", contact_phone="0571-1")
    contract = factories.contract(customer, number="HT-2026-1", value=Decimal("30000.00"),
                                  starts_on=today - timedelta(days=400), service_paid_until=today + timedelta(days=30),
                                  product_lines=[factories.product_line("workflow")])
    factories.contract(factories.customer(), number="HT-2026-2")
    agent = factories.user("hq_agent")
    login_as(agent)
    page = client.get(f"/customers/{customer.id}/edit").get_data(as_text=True)
    assert 'value="0571-1"' in page and 'value="330106"' in page
    form = {"name": customer.name, "region_code": "330203", "sold_by_partner_id": str(seller.id),
            "contact_phone": "0574-2"}
    assert client.post(f"/customers/{customer.id}/edit", data={**form, "region_code": "999999"}).status_code == 422
    assert client.post(f"/customers/{customer.id}/edit", data=form).status_code == 302
    db.session.refresh(customer)
    assert (customer.region_code, customer.sold_by_party_id, customer.contact_phone) == ("330203", seller.id, "0574-2")
    assert client.post(f"/customers/{customer.id}/edit", data=form).status_code == 302  # nothing changes

    edit_form = {"number": "HT-2026-1", "value": "80000", "starts_on": contract.starts_on.isoformat(),
                 "product_lines": ["workflow", "mobile"], "sla_policy": "24x7"}
    page = client.get(f"/customers/contracts/{contract.id}/edit").get_data(as_text=True)
    assert 'value="HT-2026-1"' in page and 'name="service_paid_until"' not in page
    for bad in ({"number": "HT-2026-2"}, {"starts_on": (today + timedelta(days=60)).isoformat()}, {"value": "-5"}):
        assert client.post(f"/customers/contracts/{contract.id}/edit", data={**edit_form, **bad}).status_code == 422, bad
    assert client.post(f"/customers/contracts/{contract.id}/edit", data=edit_form).status_code == 302
    db.session.refresh(contract)
    assert (contract.value, contract.sla_policy.code, sorted(line.code for line in contract.product_lines)) == \
        (Decimal("80000.00"), "24x7", ["mobile", "workflow"])
    assert client.post(f"/customers/contracts/{contract.id}/edit", data=edit_form).status_code == 302

    assert logged("customer_changed") == [(agent.id, customer.name, {
        "customer_id": customer.id, "region_code": ["330106", "330203"], "sold_by": ["总部", "宁波海曙科技"],
        "contact_phone": ["0571-1", "0574-2"]})]
    assert logged("contract_changed") == [(agent.id, "HT-2026-1", {
        "customer_id": customer.id, "value": ["30000.00", "80000.00"], "sla_policy": ["business-hours", "24x7"],
        "product_lines": [["workflow"], ["workflow", "mobile"]]})]
    client.post("/logout")
    login_as(factories.user("hq_admin"))
    log = client.get("/settings/changes").get_data(as_text=True)
    assert "宁波海曙科技" in log and "24x7" in log and "流程与表单, 移动办公" in log


def test_customers_are_listed_in_pinyin_order_for_chinese_readers_across_pages(client, login_as, app):
    import re
    cities = ("上海", "临沂", "丽水")  # in code-point order; in pinyin: 丽水 li2, 临沂 lin2, 上海 shang4
    for n in range(51):
        factories.customer(name=f"{cities[n % 3]}客户{n:02d}")
    login_as(factories.user("hq_agent"))
    listed, path = [], "/customers/"
    while path:  # page by page, following Next
        html = client.get(path).get_data(as_text=True)
        listed += re.findall(r">((?:上海|临沂|丽水)客户\d\d)<", html)
        following = re.search(r'rel="next" href="([^"]+)"', html)
        path = following.group(1).replace("&amp;", "&") if following else None
    expected = [f"{city}客户{n:02d}" for city in ("丽水", "临沂", "上海") for n in range(51) if cities[n % 3] == city]
    assert listed == expected
    picked = client.get("/customers/search.json", query_string={"q": "客户0"}).json
    assert [c["name"][:2] for c in picked] == ["丽水"] * 3 + ["临沂"] * 3 + ["上海"] * 4



INVISIBLE = "\u202e\u200d\ufeff"  # right-to-left override, zero-width joiner, byte-order mark


@pytest.mark.parametrize("bad, field", [({"name": INVISIBLE}, "name"), ({"name": " \u200b\u3164\u2060 "}, "name"),
                                        ({"contact_name": INVISIBLE}, "contact_name")])
def test_a_customer_or_contact_named_only_of_invisible_characters_is_refused_on_the_page_and_in_the_api(
        client, login_as, app, bad, field):
    agent = factories.user("hq_agent")
    login_as(agent)
    before = count(Customer)
    page = client.post("/customers/new", data={"name": "西湖文旅集团", "region_code": "330106", **bad})
    assert page.status_code == 422 and "invalid-feedback" in page.get_data(as_text=True)
    api = client.post("/api/v1/customers", json={"name": "西湖文旅集团", "region_code": "330106", **bad},
                      headers=bearer(token_for(agent)))
    assert assert_error(api, 422, "validation_failed", [field])["fields"][field]
    customer = factories.customer(name="滨江制造")
    edit = client.post(f"/customers/{customer.id}/edit", data={"name": "滨江制造", "region_code": "330106", **bad})
    assert edit.status_code == 422
    assert count(Customer) == before + 1
    assert db.session.get(Customer, customer.id).name == "滨江制造"


def test_a_customer_name_is_kept_in_nfkc_without_invisible_characters_at_its_ends(client, app):
    agent = factories.user("hq_agent")
    response = client.post("/api/v1/customers", headers=bearer(token_for(agent)), json={
        "name": "\ufeff ＡＢＣ软件\u200d ", "region_code": "330106", "contact_name": "\u202e王经理"})
    assert response.status_code == 201, response.get_json()
    assert (response.get_json()["name"], response.get_json()["contact_name"]) == ("ABC软件", "王经理")
