"""The owner reaches the customer: while a party holds a ticket its users see the customer's
contacts and address (page and API); an offered partner sees only what it needs to decide; a
party the ticket left sees nothing of it (404)."""
from datetime import timedelta

import pytest

from partnernet.customers.models import Customer
from partnernet.errors import NotFound
from partnernet.scope import get_or_404
from partnernet.tickets import service
from partnernet.timeclock import now_utc, today_in_china
from tests import factories
from tests.test_api import as_user, assert_error  # noqa: F401  (the fixture)
from tests.test_escalation import customer_with, xihu_network

pytestmark = pytest.mark.usefixtures("invariants")  # checked after every scenario

PHONE, ADDRESS = "138-0571-0001", "杭州市西湖区文三路 90 号 5 楼"


def offered_ticket():
    today, now = today_in_china(), now_utc()
    xixi, engineer, _hengxin, _engineer = xihu_network(today=today)
    customer = customer_with("68000.00", today)
    customer.location_notes = "东门进，访客车位在 B2"
    ticket = service.intake(service.IntakeRequest(customer_id=customer.id, product_line="workflow", complexity="simple",
                                                  channel="phone", subject="表单导出乱码", tier="L2"), None, now)
    assert ticket.offered_party_id == xixi.id
    return ticket, customer, factories.user("partner_admin", party=xixi), engineer


def test_an_offered_partner_sees_enough_to_decide_but_no_contact(client, login_as, as_user, app):  # noqa: F811
    ticket, customer, admin, _engineer = offered_ticket()
    login_as(admin)
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert customer.name in page and "西湖区" in page and "表单导出乱码" in page and "L2" in page
    assert PHONE not in page and ADDRESS not in page and "wangmin@example.com" not in page and "tel:" not in page
    assert "王敏" not in page and "B2" not in page

    caller = as_user(admin)
    body = caller.get(f"/api/v1/tickets/{ticket.id}").get_json()
    assert body["customer_name"] == customer.name and body["customer"] is None
    listed = caller.get("/api/v1/tickets").get_json()["items"]
    assert [t["customer"] for t in listed] == [None]
    refused = caller.get(f"/api/v1/customers/{customer.id}")
    assert refused.status_code in (403, 404) and PHONE not in refused.get_data(as_text=True)
    with pytest.raises(NotFound):  # the scope itself: an offer is not holding
        get_or_404(Customer, customer.id, admin)


def test_the_owner_reaches_the_customer_and_loses_it_when_the_ticket_leaves(client, login_as, as_user, app):  # noqa: F811
    ticket, customer, admin, engineer = offered_ticket()
    service.accept(ticket, admin, engineer.id, now_utc())
    login_as(admin)
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert 'href="tel:13805710001"' in page and PHONE in page
    assert 'href="mailto:wangmin@example.com"' in page and ADDRESS in page and "东门进，访客车位在 B2" in page
    body = as_user(admin).get(f"/api/v1/tickets/{ticket.id}").get_json()
    assert body["customer"] == {"id": customer.id, "name": customer.name, "contact_name": "王敏",
                                "contact_phone": PHONE, "contact_email": "wangmin@example.com",
                                "address": ADDRESS, "location_notes": "东门进，访客车位在 B2"}
    assert get_or_404(Customer, customer.id, admin) is customer
    engineer_user = factories.user("engineer", engineer_=engineer)
    assert as_user(engineer_user).get(f"/api/v1/tickets/{ticket.id}").get_json()["customer"]["address"] == ADDRESS

    service.return_to_hq(ticket, admin, "customer_request", "客户要求总部处理", now_utc() + timedelta(minutes=1))
    assert client.get(f"/tickets/{ticket.id}").status_code == 404
    assert_error(as_user(admin).get(f"/api/v1/tickets/{ticket.id}"), 404, "not_found")
    for user in (admin, engineer_user):
        with pytest.raises(NotFound):
            get_or_404(Customer, customer.id, user)
    # HQ, now holding it in its queue, sees the customer as always.
    hq = as_user(factories.user("hq_agent")).get(f"/api/v1/tickets/{ticket.id}").get_json()
    assert hq["customer"]["contact_phone"] == PHONE


def test_hq_edits_the_customers_address_and_location_notes(client, login_as, as_user, app):  # noqa: F811
    customer = factories.customer(region_code="330106")
    login_as(factories.user("hq_agent"))
    response = client.post(f"/customers/{customer.id}/edit", data={
        "name": customer.name, "region_code": "330106", "address": "  杭州市西湖区天目山路 1 号 ",
        "location_notes": "3 号楼 2 楼机房"})
    assert response.status_code == 302
    assert (customer.address, customer.location_notes) == ("杭州市西湖区天目山路 1 号", "3 号楼 2 楼机房")
    assert "3 号楼 2 楼机房" in client.get(f"/customers/{customer.id}").get_data(as_text=True)
    too_long = client.post(f"/customers/{customer.id}/edit", data={
        "name": customer.name, "region_code": "330106", "address": "路" * 256})
    assert too_long.status_code == 422
    created = as_user(factories.user("hq_agent")).post("/api/v1/customers", json={
        "name": "杭州文三集团", "region_code": "330106", "address": ADDRESS, "location_notes": "前台登记"})
    assert created.status_code == 201
    assert (created.get_json()["address"], created.get_json()["location_notes"]) == (ADDRESS, "前台登记")


# --- import and export ---------------------------------------------------------------------------

def test_customers_export_and_import_carry_the_address_and_location_notes(client, login_as, app, tmp_path):
    xixi = factories.partner(name="西溪")
    kept = factories.customer(name="杭州文三集团", region_code="330106", sold_by=xixi, contact_phone=PHONE,
                              address=ADDRESS, location_notes="东门进")
    login_as(factories.user("hq_agent"))
    exported = client.get("/customers/export.csv")
    assert exported.status_code == 200
    lines = exported.get_data().decode("utf-8-sig").splitlines()
    assert lines[0] == "name,region_code,sold_by,contact_name,contact_phone,contact_email,address,location_notes"
    assert f"杭州文三集团,330106,西溪,,{PHONE},,{ADDRESS},东门进" in lines

    path = tmp_path / "customers.csv"
    path.write_text("name,region_code,sold_by,address,location_notes\n"
                    "杭州文三集团,330106,西溪,杭州市西湖区天目山路 1 号,\n"
                    "杭州新客户有限公司,330106,,杭州市西湖区学院路 2 号,前台登记\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["customers", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 to create, 1 to update" in result.output
    db_customer = get_or_404(Customer, kept.id, factories.user("hq_agent"))
    assert (db_customer.address, db_customer.location_notes, db_customer.contact_phone) == (
        "杭州市西湖区天目山路 1 号", None, PHONE)  # a column the file lacks keeps its value

    bad = tmp_path / "bad.csv"
    bad.write_text("name,region_code,sold_by,address\n新客户甲,999999,无名伙伴," + "路" * 256 + "\n", encoding="utf-8")
    refused = app.test_cli_runner().invoke(args=["customers", "import", str(bad)])
    assert refused.exit_code == 1 and "nothing written" in refused.output
    assert "row 2, region_code" in refused.output and "row 2, sold_by" in refused.output
    assert "row 2, address" in refused.output
