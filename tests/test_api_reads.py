"""What an integrator can find out in one call: who the token is, which engineers may serve which
product line, what a customer's contracts include today, which audits have run."""
from datetime import timedelta
from decimal import Decimal

from partnernet.timeclock import today_in_china
from tests import factories
from tests.test_api import as_user, assert_error, customer_with_contract, intake_body  # noqa: F401 (fixture)
from tests.test_audit import WEEK, offer_history
from tests.test_tickets import certified_partner


def test_me_says_who_the_token_acts_as(as_user):
    partner = factories.partner(name="杭州云服")
    admin = factories.user("partner_admin", party=partner, locale="en")
    me = as_user(admin).get("/api/v1/me").get_json()
    assert me == {"id": admin.id, "email": admin.email, "name": admin.name, "role": "partner_admin",
                  "party": {"type": "partner", "id": partner.id, "name": "杭州云服"}, "engineer_id": None,
                  "language": "en"}
    hq = as_user(factories.user("hq_agent")).get("/api/v1/me").get_json()
    assert hq["party"] == {"type": "hq"} and hq["role"] == "hq_agent"


def test_an_engineer_lists_the_certifications_that_let_them_serve_today(as_user):
    partner = factories.partner()
    engineer = factories.engineer(partner)
    today = today_in_china()
    valid = factories.certification(engineer, "workflow", issued_on=today - timedelta(days=300),
                                    expires_on=today + timedelta(days=60))
    factories.certification(engineer, "oa-core", status="pending", issued_on=today - timedelta(days=3),
                            expires_on=today + timedelta(days=700))
    factories.certification(engineer, "mobile", issued_on=today - timedelta(days=800),
                            expires_on=today - timedelta(days=1))  # lapsed yesterday, not yet marked expired
    admin = as_user(factories.user("partner_admin", party=partner))

    listed = admin.get(f"/api/v1/partners/{partner.id}/engineers").get_json()["items"]
    one = admin.get(f"/api/v1/engineers/{engineer.id}").get_json()

    summary = [{"id": valid.id, "product_line": "workflow", "level": valid.level,
                "expires_on": (today + timedelta(days=60)).isoformat()}]
    assert [e["valid_certifications"] for e in listed] == [summary]
    assert one["valid_certifications"] == summary


def test_a_customers_contracts_say_what_intake_would_apply_today(as_user):
    customer = customer_with_contract("330106", value=Decimal("20000.00"))  # below the on-site threshold
    today = today_in_china()
    factories.contract(customer, value=Decimal("80000.00"), starts_on=today - timedelta(days=800),
                       service_paid_until=today - timedelta(days=10))
    agent = as_user(factories.user("hq_agent"))

    contracts = agent.get(f"/api/v1/customers/{customer.id}/contracts").get_json()["items"]

    small, lapsed = (c["entitlement"] for c in contracts)
    assert small["service"] == "free" and small["onsite_included"] is False and small["default_tier"] == "L1"
    assert small["billable_tiers"] == {"L1": None, "L2": None, "L3": "onsite_not_included"}
    assert small["annual_fee"] == "3600.00"  # 18 % of the value
    assert lapsed["service"] == "unpaid" and lapsed["onsite_included"] is True and lapsed["default_tier"] == "L1"
    assert lapsed["covered_until"] == (today - timedelta(days=10)).isoformat()
    assert set(lapsed["billable_tiers"].values()) == {"service_unpaid"}


def test_contracts_say_what_intake_then_does(as_user):
    customer = customer_with_contract("330106", value=Decimal("20000.00"))
    agent = as_user(factories.user("hq_agent"))
    said = agent.get(f"/api/v1/customers/{customer.id}/contracts").get_json()["items"][0]["entitlement"]
    for tier in ("L1", "L2"):  # L3 (on-site) is reached by escalation: tests/test_escalation.py
        ticket = agent.post("/api/v1/tickets", json=intake_body(customer, tier=tier)).get_json()
        assert ticket["billable_reason"] == said["billable_tiers"][tier]
    assert agent.post("/api/v1/tickets", json=intake_body(customer, tier=None)).get_json()["tier"] == \
        said["default_tier"]


def test_a_customers_contracts_are_hqs(as_user):
    customer = customer_with_contract("330106")
    partner = factories.partner()
    assert_error(as_user(factories.user("partner_admin", party=partner)).get(
        f"/api/v1/customers/{customer.id}/contracts"), 403, "forbidden")
    assert_error(as_user(factories.user("hq_agent")).get("/api/v1/customers/999999/contracts"), 404, "not_found")


def test_customers_filter_by_region_at_or_under_it(as_user):
    xihu = factories.customer(region_code="330106")
    factories.customer(region_code="110101")
    agent = as_user(factories.user("hq_agent"))
    for region in ("330106", "330100", "330000"):
        found = agent.get(f"/api/v1/customers?region={region}").get_json()["items"]
        assert [c["id"] for c in found] == [xihu.id], region
    assert agent.get("/api/v1/customers?region=440000").get_json()["items"] == []


def test_audit_runs_are_listed_newest_first_and_read_one_by_one(as_user):
    partner, _engineer = certified_partner("330106")
    offer_history(partner, offered=40, declined=30)
    manager = as_user(factories.user("hq_manager"))
    period = {"period_start": WEEK[0].isoformat(), "period_end": WEEK[1].isoformat()}
    first = manager.post("/api/v1/audits", json=period).get_json()
    second = manager.post("/api/v1/audits", json={**period, "threshold": 0.9}).get_json()

    runs = manager.get("/api/v1/audits?limit=1").get_json()
    rest = manager.get(f"/api/v1/audits?limit=1&cursor={runs['next_cursor']}").get_json()
    one = manager.get(f"/api/v1/audits/{first['id']}").get_json()

    assert [r["id"] for r in runs["items"] + rest["items"]] == [second["id"], first["id"]]
    assert rest["next_cursor"] is None
    assert one == first
    assert (one["partners"], one["flagged"], one["decided"], one["triggered_by"]) == (1, 1, 0, "api")
    assert (second["flagged"], second["threshold"]) == (0, 0.9)


def test_audit_runs_are_hqs(as_user):
    partner = factories.partner()
    admin = as_user(factories.user("partner_admin", party=partner))
    assert_error(admin.get("/api/v1/audits"), 403, "forbidden")
    assert_error(admin.get("/api/v1/audits/1"), 403, "forbidden")
    assert_error(as_user(factories.user("hq_agent")).get("/api/v1/audits/999999"), 404, "not_found")
