"""The JSON API /api/v1: tokens, the contract's fields and errors, scope, idempotent intake."""
import hashlib
import re
import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from partnernet import create_app
from partnernet.auth import tokens
from partnernet.api.models import IdempotencyKey
from partnernet.auth.models import ApiToken
from partnernet.customers.models import Contract, Customer
from partnernet.extensions import db
from partnernet.network.models import Certification, Coverage, Party, PartyEvent
from partnernet.notifications.models import Notification
from partnernet.tickets import service
from partnernet.tickets.models import Ticket, TicketEvent
from partnernet.timeclock import now_utc, today_in_china
from tests import databases, factories
from tests.test_tickets import certified_partner

ISO_CHINA = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$")


def token_for(user, name="test") -> str:
    _token, secret = tokens.issue_token(user, name, now_utc())
    return secret


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def as_user(client):
    """A client calling the API with a fresh token of `user`: as_user(user).get(path)."""
    class Caller:
        def __init__(self, user):
            self.headers = bearer(token_for(user))

        def __getattr__(self, method):
            def call(path, headers=None, **kwargs):
                return getattr(client, method)(path, headers={**self.headers, **(headers or {})}, **kwargs)
            return call
    return Caller


def customer_with_contract(region_code="330106", **contract_fields):
    customer = factories.customer(region_code=region_code)
    factories.contract(customer, **{"starts_on": today_in_china() - timedelta(days=30), **contract_fields})
    return customer


def intake_body(customer, **fields):
    body = {"customer_id": customer.id, "product_line": "workflow", "complexity": "complex", "tier": "L2",
            "channel": "web", "subject": "审批流无法提交", "description": "提交按钮无响应"}
    body.update(fields)
    return body


def assert_error(response, status, code, fields=()):
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert set(fields) <= set(error["fields"]), error["fields"]
    return error


def count(model) -> int:
    db.session.expire_all()
    return db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


# --- the document and the reference ---------------------------------------------------------------

CONTRACT_PATHS = {
    ("get", "/api/v1/regions"), ("get", "/api/v1/regions/{code}"), ("get", "/api/v1/product-lines"),
    ("get", "/api/v1/partners"), ("post", "/api/v1/partners"),
    ("get", "/api/v1/partners/{partner_id}"), ("patch", "/api/v1/partners/{partner_id}"),
    ("post", "/api/v1/partners/{partner_id}/status"),
    ("get", "/api/v1/partners/{partner_id}/coverage"), ("post", "/api/v1/partners/{partner_id}/coverage"),
    ("delete", "/api/v1/coverage/{coverage_id}"),
    ("get", "/api/v1/partners/{partner_id}/engineers"), ("post", "/api/v1/partners/{partner_id}/engineers"),
    ("get", "/api/v1/engineers/{engineer_id}/certifications"),
    ("post", "/api/v1/engineers/{engineer_id}/certifications"),
    ("post", "/api/v1/certifications/{certification_id}/review"),
    ("get", "/api/v1/customers"), ("post", "/api/v1/customers"),
    ("post", "/api/v1/customers/{customer_id}/contracts"),
    ("post", "/api/v1/tickets"), ("get", "/api/v1/tickets"), ("get", "/api/v1/tickets/{ticket_id}"),
    ("post", "/api/v1/tickets/{ticket_id}/accept"), ("post", "/api/v1/tickets/{ticket_id}/decline"),
    ("post", "/api/v1/tickets/{ticket_id}/return"), ("post", "/api/v1/tickets/{ticket_id}/status"),
    ("post", "/api/v1/tickets/{ticket_id}/reroute"),
}


def test_the_openapi_document_describes_every_endpoint_of_the_contract(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    documented = {(method, path) for path, operations in document["paths"].items() for method in operations
                  if method in ("get", "post", "patch", "delete")}
    assert CONTRACT_PATHS <= documented
    assert document["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    intake = document["paths"]["/api/v1/tickets"]["post"]
    assert {"201", "400", "401", "403", "422"} <= set(intake["responses"])
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in intake["parameters"])


def test_the_document_is_generated_from_the_schemas_that_validate(client):
    """The intake schema the document shows refuses exactly what the endpoint refuses."""
    document = client.get("/api/v1/openapi.json").get_json()
    intake = document["components"]["schemas"]["IntakeIn"]
    assert set(intake["required"]) == {"customer_id", "product_line", "complexity", "subject"}
    assert intake["additionalProperties"] is False
    assert intake["properties"]["complexity"]["enum"] == ["simple", "complex"]


def test_the_interactive_reference_is_served_from_local_assets_without_inline_script(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert scripts and all('src="/static/' in attributes and not body.strip() for attributes, body in scripts)
    assert "http://" not in page and "https://" not in page
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page):
        assert client.get(asset).status_code == 200, asset
    assert 'data-spec-url="/api/v1/openapi.json"' in page


# --- tokens -----------------------------------------------------------------------------------------

def test_a_token_is_stored_hashed_and_works_at_once(app, client):
    user = factories.user("hq_agent")
    token, secret = tokens.issue_token(user, "客服网站", now_utc())
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest() and secret not in token.token_hash
    response = client.get("/api/v1/tickets", headers=bearer(secret))
    assert response.status_code == 200
    assert response.get_json() == {"items": [], "next_cursor": None}


def test_no_token_a_bad_token_and_a_revoked_token_answer_401(app, client):
    user = factories.user("hq_admin")
    token, secret = tokens.issue_token(user, "integration", now_utc())
    assert client.get("/api/v1/partners", headers=bearer(secret)).status_code == 200
    for headers in ({}, bearer("pn_not-a-token"), {"Authorization": f"Basic {secret}"}):
        response = client.get("/api/v1/partners", headers=headers)
        assert_error(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"] == "Bearer"
    tokens.revoke_token(token, now_utc())
    assert_error(client.get("/api/v1/partners", headers=bearer(secret)), 401, "unauthorized")


def test_a_deactivated_users_token_answers_401(app, client):
    user = factories.user("hq_admin")
    secret = token_for(user)
    user.active = False
    db.session.commit()
    assert_error(client.get("/api/v1/partners", headers=bearer(secret)), 401, "unauthorized")


# --- rate limits ------------------------------------------------------------------------------------
# The suite's other tests run with limits far above their pace (tests/conftest.py); these set small ones.

@pytest.fixture
def limited_app(database_url):
    """An app with the API limits given (the others as the suite's), its counts at zero."""
    from partnernet.extensions import limiter
    apps = []

    def make(**limits):
        app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True, **limits})
        context = app.app_context()
        context.push()
        apps.append(context)
        limiter.reset()
        return app
    yield make
    for context in apps:
        db.session.remove()
        db.engine.dispose()
        context.pop()


def client_at(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def assert_rate_limited(response, longest: int = 60) -> None:
    error = assert_error(response, 429, "rate_limited")
    assert error["fields"] == {}
    assert 1 <= int(response.headers["Retry-After"]) <= longest


def test_a_token_over_its_rate_limit_gets_429_with_retry_after_in_the_error_shape(limited_app):
    app = limited_app(API_RATE_LIMIT_PER_TOKEN="5 per minute")
    busy, quiet = (token_for(factories.user("hq_agent")) for _ in range(2))
    client = client_at(app, "203.0.113.7")
    assert [client.get("/api/v1/product-lines", headers=bearer(busy)).status_code for _ in range(5)] == [200] * 5
    assert_rate_limited(client.get("/api/v1/product-lines", headers=bearer(busy)))
    assert_rate_limited(client.post("/api/v1/tickets", json={}, headers=bearer(busy)))  # every endpoint counts
    assert client.get("/api/v1/product-lines", headers=bearer(quiet)).status_code == 200  # per token


def test_an_address_over_its_rate_limit_gets_429_whatever_the_token(limited_app):
    app = limited_app(API_RATE_LIMIT_PER_ADDRESS="6 per minute")
    first, second = (token_for(factories.user("hq_agent")) for _ in range(2))
    crowded, elsewhere = client_at(app, "203.0.113.7"), client_at(app, "198.51.100.20")
    answers = [crowded.get("/api/v1/product-lines", headers=bearer(secret)).status_code
               for secret in (first, second) * 3]
    assert answers == [200] * 6
    for secret in (first, second):
        assert_rate_limited(crowded.get("/api/v1/product-lines", headers=bearer(secret)))
    assert elsewhere.get("/api/v1/product-lines", headers=bearer(first)).status_code == 200


def test_bad_tokens_from_one_address_are_refused_with_429_after_the_limit(limited_app):
    """50 guesses in a row: the first 20 in a minute are told 401, the rest to wait. A valid token
    from the same address is still served, and a bad one from elsewhere is still just a 401."""
    app = limited_app(API_FAILED_TOKENS_PER_ADDRESS="20 per minute")
    secret = token_for(factories.user("hq_agent"))
    guesser = client_at(app, "203.0.113.7")
    answers = [guesser.get("/api/v1/product-lines", headers=bearer(f"pn_guess{n:03d}")) for n in range(50)]
    assert [a.status_code for a in answers] == [401] * 20 + [429] * 30
    assert_rate_limited(answers[-1])
    assert guesser.get("/api/v1/product-lines", headers=bearer(secret)).status_code == 200
    assert client_at(app, "198.51.100.20").get("/api/v1/product-lines",
                                               headers=bearer("pn_guess999")).status_code == 401


def test_the_rate_limits_have_working_defaults_and_refuse_a_value_that_is_not_a_rate(monkeypatch, tmp_path):
    from partnernet.config import ConfigError, from_environment
    for name in ("API_RATE_LIMIT_PER_TOKEN", "API_RATE_LIMIT_PER_ADDRESS", "API_FAILED_TOKENS_PER_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    config = from_environment(str(tmp_path))
    assert (config["API_RATE_LIMIT_PER_TOKEN"], config["API_RATE_LIMIT_PER_ADDRESS"],
            config["API_FAILED_TOKENS_PER_ADDRESS"]) == ("600 per minute", "1200 per minute", "20 per minute")
    monkeypatch.setenv("API_RATE_LIMIT_PER_TOKEN", "lots")
    with pytest.raises(ConfigError, match="API_RATE_LIMIT_PER_TOKEN"):
        from_environment(str(tmp_path))


def test_the_openapi_document_declares_429_with_retry_after_on_every_operation(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operations = [operation for item in document["paths"].values() for method, operation in item.items()
                  if method in ("get", "post", "patch", "delete")]
    assert operations and all("429" in operation["responses"] for operation in operations)
    declared = document["components"]["responses"]["TOO_MANY_REQUESTS"]
    assert "Retry-After" in declared["headers"]
    assert declared["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_last_use_is_noted_at_most_once_a_minute(app, client):
    user = factories.user("hq_agent")
    token, secret = tokens.issue_token(user, "reporting", now_utc())
    client.get("/api/v1/product-lines", headers=bearer(secret))
    db.session.refresh(token)
    first = token.last_used_at
    assert first is not None and now_utc() - first < timedelta(seconds=30)
    client.get("/api/v1/product-lines", headers=bearer(secret))
    db.session.refresh(token)
    assert token.last_used_at == first
    token.last_used_at = first - timedelta(minutes=2)
    db.session.commit()
    client.get("/api/v1/product-lines", headers=bearer(secret))
    db.session.refresh(token)
    assert token.last_used_at > first


def test_the_session_cookie_does_not_authenticate_the_api(app, client, login_as):
    login_as(factories.user("hq_admin"))
    assert client.get("/tickets/").status_code == 200
    assert_error(client.get("/api/v1/tickets"), 401, "unauthorized")


def test_csrf_does_not_apply_to_token_requests(database_url):
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True, "WTF_CSRF_ENABLED": True})
    with app.app_context():
        secret = token_for(factories.user("hq_admin"))
        body = {"name": "杭州新伙伴", "kind": "agent", "tiers": ["L1"], "province_code": "330000"}
        response = app.test_client().post("/api/v1/partners", json=body, headers=bearer(secret))
        assert response.status_code == 201, response.get_json()
        assert app.test_client().post("/partners/new", data={"name": "x"}).status_code in (302, 400)
        db.session.remove()
        db.engine.dispose()


# --- errors -------------------------------------------------------------------------------------------

def test_malformed_json_is_a_400_and_changes_nothing(app, as_user):
    customer = customer_with_contract()
    response = as_user(factories.user("hq_agent")).post(
        "/api/v1/tickets", data='{"customer_id": %d, "subject": ' % customer.id,
        content_type="application/json")
    assert_error(response, 400, "bad_request")
    assert count(Ticket) == 0


def test_invalid_fields_are_a_422_with_a_message_per_field(app, as_user):
    response = as_user(factories.user("hq_agent")).post("/api/v1/tickets", json={
        "customer_id": "seventeen", "complexity": "hard", "tier": "L9", "subject": "", "colour": "red"})
    error = assert_error(response, 422, "validation_failed",
                         {"customer_id", "product_line", "complexity", "tier", "subject", "colour"})
    assert all(isinstance(message, str) and message for message in error["fields"].values())
    assert count(Ticket) == 0


def test_a_rule_of_the_service_is_a_422_on_its_field_and_changes_nothing(app, as_user):
    response = as_user(factories.user("hq_agent")).post("/api/v1/tickets", json={
        "customer_id": 999999, "product_line": "nope", "complexity": "simple", "subject": "x",
        "region_code": "123456"})
    assert_error(response, 422, "validation_failed", {"customer_id", "product_line", "region_code"})
    assert count(Ticket) == 0


def test_query_parameters_are_validated_too(app, as_user):
    caller = as_user(factories.user("hq_agent"))
    assert_error(caller.get("/api/v1/tickets?limit=501"), 422, "validation_failed", {"limit"})
    assert_error(caller.get("/api/v1/tickets?status=lost"), 422, "validation_failed", {"status"})
    assert_error(caller.get("/api/v1/tickets?cursor=bm9wZQ"), 422, "validation_failed", {"cursor"})
    assert_error(caller.get("/api/v1/tickets?stauts=open"), 422, "validation_failed", {"stauts"})


def test_a_role_that_may_not_do_this_gets_403(app, as_user):
    partner, _engineer = certified_partner()
    assert_error(as_user(factories.user("partner_admin", party=partner)).post(
        "/api/v1/tickets", json=intake_body(customer_with_contract())), 403, "forbidden")
    assert_error(as_user(factories.user("hq_agent")).post("/api/v1/partners", json={
        "name": "新伙伴", "kind": "agent", "tiers": ["L1"], "province_code": "330000"}), 403, "forbidden")
    assert_error(as_user(factories.user("partner_admin", party=partner)).get("/api/v1/customers"),
                 403, "forbidden")
    assert count(Ticket) == 0 and count(Party) == 2  # HQ and the one partner


def test_unknown_ids_and_paths_are_404_in_the_error_shape(app, as_user):
    caller = as_user(factories.user("hq_admin"))
    for path in ("/api/v1/tickets/999999", "/api/v1/partners/0", "/api/v1/partners/99999999999",
                 "/api/v1/regions/12345", "/api/v1/no-such-thing"):
        assert_error(caller.get(path), 404, "not_found")


# --- scope ----------------------------------------------------------------------------------------------

def test_a_partner_sees_only_its_own_partner_engineers_and_tickets(app, as_user):
    ours, our_engineer = certified_partner("330106")
    theirs, their_engineer = certified_partner("330106")
    hq_caller = as_user(factories.user("hq_agent"))
    ticket_id = hq_caller.post("/api/v1/tickets", json=intake_body(customer_with_contract())).get_json()["id"]
    offered_to = db.session.get(Ticket, ticket_id).offered_party_id
    other = theirs if offered_to == ours.id else ours
    other_engineer = their_engineer if other is theirs else our_engineer
    mine = ours if other is theirs else theirs
    caller = as_user(factories.user("partner_admin", party=other))

    assert caller.get(f"/api/v1/tickets/{ticket_id}").status_code == 404
    assert caller.get("/api/v1/tickets").get_json()["items"] == []
    assert caller.get(f"/api/v1/partners/{mine.id}").status_code == 404
    assert caller.get(f"/api/v1/partners/{mine.id}/engineers").status_code == 404
    assert caller.get(f"/api/v1/partners/{mine.id}/coverage").status_code == 404
    my_engineer = our_engineer if mine is ours else their_engineer
    assert caller.get(f"/api/v1/engineers/{my_engineer.id}/certifications").status_code == 404
    assert caller.post(f"/api/v1/tickets/{ticket_id}/accept",
                       json={"engineer_id": other_engineer.id}).status_code == 404
    assert [p["id"] for p in caller.get("/api/v1/partners").get_json()["items"]] == [other.id]
    assert caller.get(f"/api/v1/partners/{other.id}/engineers").status_code == 200


def test_an_engineer_sees_only_their_own_record_and_tickets_assigned_to_them(app, as_user):
    partner, engineer = certified_partner()
    colleague = factories.engineer(partner)
    caller = as_user(factories.user("engineer", engineer_=engineer))
    assert caller.get(f"/api/v1/engineers/{engineer.id}/certifications").status_code == 200
    assert caller.get(f"/api/v1/engineers/{colleague.id}").status_code == 404
    assert caller.get(f"/api/v1/engineers/{colleague.id}/certifications").status_code == 404
    assert_error(caller.get(f"/api/v1/partners/{partner.id}/engineers"), 403, "forbidden")


def test_hq_sees_every_route_candidate_a_partner_only_its_own(app, as_user):
    county, _ = certified_partner("330106")
    city, _ = certified_partner("330100")
    factories.coverage(factories.partner(status="suspended"), "330106")
    ticket = as_user(factories.user("hq_agent")).post(
        "/api/v1/tickets", json=intake_body(customer_with_contract())).get_json()
    assert {c["partner_id"] for c in ticket["route"]["candidates"]} >= {county.id, city.id}
    seen = as_user(factories.user("partner_admin", party=county)).get(f"/api/v1/tickets/{ticket['id']}").get_json()
    assert [c["partner_id"] for c in seen["route"]["candidates"]] == [county.id]
    assert seen["route"]["candidates"][0]["outcome"] == "offered"


# --- intake ---------------------------------------------------------------------------------------------

def test_intake_answers_201_with_the_fields_of_api_md(app, as_user):
    partner, _engineer = certified_partner("330106")
    customer = customer_with_contract()
    response = as_user(factories.user("hq_agent")).post("/api/v1/tickets", json=intake_body(customer))
    assert response.status_code == 201, response.get_json()
    ticket = response.get_json()
    assert ticket["status"] == "offered"
    assert ticket["owner"] == {"type": "partner", "id": partner.id, "name": partner.name}
    assert ticket["offer"]["partner_id"] == partner.id and ISO_CHINA.match(ticket["offer"]["deadline"])
    assert (ticket["tier"], ticket["billable"]) == ("L2", False)
    assert ISO_CHINA.match(ticket["due"]["response"]) and ISO_CHINA.match(ticket["due"]["resolution"])
    assert ticket["route"]["cause"] is None
    assert ticket["route"]["candidates"][0] == {
        "partner_id": partner.id, "name": partner.name, "kind": "agent", "level": "county", "outcome": "offered",
        "rank": 1}
    assert "Idempotent-Replayed" not in response.headers


def test_the_intake_answer_is_what_was_stored(app, as_user):
    """Intake answers from the values it wrote, not from a read-back: the ticket read afterwards,
    on another connection, says the same, for an offer and for the HQ queue."""
    certified_partner("330106")
    caller = as_user(factories.user("hq_agent"))
    statuses = []
    for body in (intake_body(customer_with_contract()), intake_body(customer_with_contract(), region_code="540102")):
        opened = caller.post("/api/v1/tickets", json=body)
        assert opened.status_code == 201
        db.session.remove()  # nothing of the intake's session is left to answer from
        assert caller.get(f"/api/v1/tickets/{opened.get_json()['id']}").get_json() == opened.get_json()
        statuses.append(opened.get_json()["status"])
    assert statuses == ["offered", "hq_queue"]


def test_intake_nobody_can_take_goes_to_the_hq_queue_with_the_cause(app, as_user):
    ticket = as_user(factories.user("hq_agent")).post(
        "/api/v1/tickets", json=intake_body(customer_with_contract(), region_code=None, tier=None)).get_json()
    assert ticket["status"] == "hq_queue" and ticket["owner"] == {"type": "hq"} and ticket["offer"] is None
    assert ticket["route"]["cause"] == "no_coverage" and ticket["tier"] == "L1"  # where service starts


def test_ticket_detail_with_events_shows_a_partner_only_what_concerns_it(app, as_user):
    first, _ = certified_partner("330106")
    second, second_engineer = certified_partner("330106")
    hq_caller = as_user(factories.user("hq_agent"))
    ticket_id = hq_caller.post("/api/v1/tickets", json=intake_body(customer_with_contract())).get_json()["id"]
    offered = db.session.get(Ticket, ticket_id).offered_party_id
    decliner = first if offered == first.id else second
    taker = second if decliner is first else first
    response = as_user(factories.user("partner_admin", party=decliner)).post(
        f"/api/v1/tickets/{ticket_id}/decline", json={"reason_code": "no_capacity", "note": "本周满负荷"})
    assert response.status_code == 204
    hq_view = hq_caller.get(f"/api/v1/tickets/{ticket_id}?include=events").get_json()
    assert [e["kind"] for e in hq_view["events"]] == ["created", "offered", "declined", "offered"]
    assert all("data" in e for e in hq_view["events"])
    taker_view = as_user(factories.user("partner_admin", party=taker)).get(
        f"/api/v1/tickets/{ticket_id}?include=events").get_json()
    assert [e["kind"] for e in taker_view["events"]] == ["created", "offered"]
    assert all("data" not in e and e["party_id"] in (None, taker.id) for e in taker_view["events"])
    assert "events" not in hq_caller.get(f"/api/v1/tickets/{ticket_id}").get_json()


# --- idempotency ----------------------------------------------------------------------------------------

def test_a_retry_with_the_same_key_and_body_returns_the_first_ticket(app, as_user):
    caller = as_user(factories.user("hq_agent"))
    body = intake_body(customer_with_contract())
    first = caller.post("/api/v1/tickets", json=body, headers={"Idempotency-Key": "order-7781"})
    # the same body with its keys in another order is the same body
    again = caller.post("/api/v1/tickets", json=dict(reversed(list(body.items()))),
                        headers={"Idempotency-Key": "order-7781"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count(Ticket) == 1


def test_the_same_key_with_another_body_is_a_422_and_opens_nothing(app, as_user):
    caller = as_user(factories.user("hq_agent"))
    customer = customer_with_contract()
    caller.post("/api/v1/tickets", json=intake_body(customer), headers={"Idempotency-Key": "k-1"})
    response = caller.post("/api/v1/tickets", json=intake_body(customer, subject="另一个问题"),
                           headers={"Idempotency-Key": "k-1"})
    assert_error(response, 422, "idempotency_key_reused", {"Idempotency-Key"})
    assert count(Ticket) == 1


def test_keys_are_per_user_and_live_24_hours(app, as_user):
    agent = factories.user("hq_agent")
    caller = as_user(agent)
    body = intake_body(customer_with_contract())
    first_id = caller.post("/api/v1/tickets", json=body, headers={"Idempotency-Key": "k"}).get_json()["id"]
    other_id = as_user(factories.user("hq_agent")).post(
        "/api/v1/tickets", json=body, headers={"Idempotency-Key": "k"}).get_json()["id"]
    assert other_id != first_id
    record = db.session.execute(sa.select(IdempotencyKey).where(IdempotencyKey.user_id == agent.id)).scalar_one()
    record.created_at = now_utc() - timedelta(hours=24, seconds=1)
    db.session.commit()
    renewed = caller.post("/api/v1/tickets", json=body, headers={"Idempotency-Key": "k"})
    assert renewed.status_code == 201 and "Idempotent-Replayed" not in renewed.headers
    assert renewed.get_json()["id"] not in (first_id, other_id)
    assert count(Ticket) == 3 and count(IdempotencyKey) == 2


def test_a_failed_intake_does_not_use_up_its_key(app, as_user):
    caller = as_user(factories.user("hq_agent"))
    customer = customer_with_contract()
    bad = caller.post("/api/v1/tickets", json=intake_body(customer, product_line="nope"),
                      headers={"Idempotency-Key": "k-2"})
    assert bad.status_code == 422
    assert count(IdempotencyKey) == 0
    good = caller.post("/api/v1/tickets", json=intake_body(customer), headers={"Idempotency-Key": "k-2"})
    assert good.status_code == 201


def test_a_retry_answers_the_first_ticket_even_if_the_request_would_fail_now(app, as_user):
    caller = as_user(factories.user("hq_agent"))
    body = intake_body(customer_with_contract())
    first = caller.post("/api/v1/tickets", json=body, headers={"Idempotency-Key": "k-3"})
    factories.product_line(body["product_line"]).active = False  # retired since
    db.session.commit()
    again = caller.post("/api/v1/tickets", json=body, headers={"Idempotency-Key": "k-3"})
    assert (again.status_code, again.get_json()["id"]) == (201, first.get_json()["id"])
    assert again.headers["Idempotent-Replayed"] == "true"
    fresh = caller.post("/api/v1/tickets", json=body, headers={"Idempotency-Key": "k-4"})
    assert_error(fresh, 422, "validation_failed", {"product_line"})
    assert count(Ticket) == 1 and count(IdempotencyKey) == 1


def run_concurrent_intakes(app, secret: str, body: dict, key: str, threads: int = 8) -> list:
    """Eight retries of one request at the same moment, each in its own thread, app context and
    database connection."""
    barrier = threading.Barrier(threads, timeout=30)
    results = []

    def send():
        client = app.test_client()
        barrier.wait()
        response = client.post("/api/v1/tickets", json=body, headers={**bearer(secret), "Idempotency-Key": key})
        results.append((response.status_code, (response.get_json() or {}).get("id")))

    workers = [threading.Thread(target=send) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return results


def test_eight_concurrent_retries_open_one_ticket(app):
    secret = token_for(factories.user("hq_agent"))
    body = intake_body(customer_with_contract())
    db.session.commit()
    results = run_concurrent_intakes(app, secret, body, "retry-storm")
    assert [status for status, _id in results] == [201] * 8, results
    assert len({ticket_id for _status, ticket_id in results}) == 1
    assert count(Ticket) == 1 and count(IdempotencyKey) == 1


def test_eight_concurrent_retries_open_one_ticket_on_postgresql():
    with databases.postgres_database("idempotency") as url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
        with app.app_context():
            secret = token_for(factories.user("hq_agent"))
            body = intake_body(customer_with_contract())
            db.session.remove()
        results = run_concurrent_intakes(app, secret, body, "retry-storm")
        with app.app_context():
            assert [status for status, _id in results] == [201] * 8, results
            assert len({ticket_id for _status, ticket_id in results}) == 1
            assert count(Ticket) == 1 and count(IdempotencyKey) == 1
            db.session.remove()
            db.engine.dispose()


def offer_on_postgresql(url: str):
    """An app on the PostgreSQL database `url` where an hq_agent's intake of `body` is offered to a
    certified partner with an administrator: (app, the agent's token, body, partner id, its
    administrator's id)."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        partner, _engineer = certified_partner("330106")
        partner_admin = factories.user("partner_admin", party=partner)
        secret = token_for(factories.user("hq_agent"))
        body = intake_body(customer_with_contract())
        partner_id, partner_admin_id = partner.id, partner_admin.id
        db.session.commit()
        db.session.remove()
    return app, secret, body, partner_id, partner_admin_id


def test_a_keyed_offer_on_postgresql_is_written_whole_and_neither_a_refusal_nor_a_replay_adds_to_it():
    """The ticket, both its first events, the partner's notification and the key; then a refused
    request and a retry with the key write nothing more."""
    with databases.postgres_database("keyed_offer") as url:
        app, secret, body, partner_id, partner_admin_id = offer_on_postgresql(url)
        client = app.test_client()

        def post(json, key=None):
            return client.post("/api/v1/tickets", json=json,
                               headers={**bearer(secret), **({"Idempotency-Key": key} if key else {})})

        offered = post(body, key="k")
        assert offered.status_code == 201 and offered.get_json()["owner"]["id"] == partner_id
        assert post({**body, "product_line": "nope"}).status_code == 422
        replayed = post(body, key="k")
        assert replayed.headers["Idempotent-Replayed"] == "true"
        assert replayed.get_json()["id"] == offered.get_json()["id"]
        with app.app_context():
            ticket_id = offered.get_json()["id"]
            kinds = db.session.execute(sa.text("SELECT kind FROM ticket_event WHERE ticket_id = :id ORDER BY id"),
                                       {"id": ticket_id}).scalars().all()
            notified = db.session.execute(sa.text("SELECT user_id, link FROM notification")).all()
            assert kinds == ["created", "offered"]
            assert [tuple(row) for row in notified] == [(partner_admin_id, f"/tickets/{ticket_id}")]
            assert count(Ticket) == 1 and count(IdempotencyKey) == 1
            db.session.remove()
            db.engine.dispose()


def assert_an_intake_failing_at_its_last_write_leaves_nothing():
    """An offer whose key is taken (as by a concurrent retry that committed first) fails at the
    commit, after its ticket, events and notification were sent: none of them stays."""
    partner, _engineer = certified_partner("330106")
    factories.user("partner_admin", party=partner)
    agent = factories.user("hq_agent")
    customer = customer_with_contract()
    db.session.commit()
    now = now_utc()

    def key():
        return IdempotencyKey(user_id=agent.id, key="k", fingerprint="f" * 64, created_at=now)

    request = service.IntakeRequest(customer.id, "workflow", "simple", "web", "审批流无法提交", tier="L2")
    first = service.intake(request, agent, now, [key()])
    assert first.status == "offered"
    before = [count(model) for model in (Ticket, TicketEvent, Notification, IdempotencyKey)]
    with pytest.raises(sa.exc.IntegrityError):
        service.intake(request, agent, now, [key()])
    db.session.rollback()
    assert [count(model) for model in (Ticket, TicketEvent, Notification, IdempotencyKey)] == before == [1, 2, 1, 1]


def test_an_intake_failing_at_its_last_write_leaves_no_ticket_event_notification_or_key(app):
    assert_an_intake_failing_at_its_last_write_leaves_nothing()


def test_an_intake_failing_at_its_last_write_leaves_nothing_on_postgresql():
    with databases.postgres_database("all_or_nothing") as url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
        with app.app_context():
            assert_an_intake_failing_at_its_last_write_leaves_nothing()
            db.session.remove()
            db.engine.dispose()


# --- ticket actions ---------------------------------------------------------------------------------------

def offered_ticket(as_user):
    partner, engineer = certified_partner("330106")
    ticket = as_user(factories.user("hq_agent")).post(
        "/api/v1/tickets", json=intake_body(customer_with_contract())).get_json()
    return ticket, partner, engineer


def test_accept_takes_the_offer_and_a_second_accept_is_a_409(app, as_user):
    ticket, partner, engineer = offered_ticket(as_user)
    first = as_user(factories.user("partner_admin", party=partner))
    second = as_user(factories.user("partner_admin", party=partner))
    response = first.post(f"/api/v1/tickets/{ticket['id']}/accept", json={"engineer_id": engineer.id})
    assert response.status_code == 200, response.get_json()
    accepted = response.get_json()
    assert (accepted["status"], accepted["owner"]["id"], accepted["engineer_id"]) == ("accepted", partner.id, engineer.id)
    assert accepted["offer"] is None and ISO_CHINA.match(accepted["responded_at"])
    assert_error(second.post(f"/api/v1/tickets/{ticket['id']}/accept", json={"engineer_id": engineer.id}),
                 409, "conflict")


def test_accepting_with_an_engineer_not_ours_is_a_422_and_changes_nothing(app, as_user):
    ticket, partner, _engineer = offered_ticket(as_user)
    _other, stranger = certified_partner("320000")
    response = as_user(factories.user("partner_admin", party=partner)).post(
        f"/api/v1/tickets/{ticket['id']}/accept", json={"engineer_id": stranger.id})
    assert_error(response, 422, "validation_failed", {"engineer_id"})
    assert db.session.get(Ticket, ticket["id"]).status == "offered"


def test_work_steps_and_an_illegal_step_is_a_409(app, as_user):
    ticket, partner, engineer = offered_ticket(as_user)
    admin = as_user(factories.user("partner_admin", party=partner))
    admin.post(f"/api/v1/tickets/{ticket['id']}/accept", json={"engineer_id": engineer.id})
    assert_error(admin.post(f"/api/v1/tickets/{ticket['id']}/status", json={"status": "closed"}),
                 409, "invalid_transition", {"status"})
    engineer_caller = as_user(factories.user("engineer", engineer_=engineer))
    assert engineer_caller.post(f"/api/v1/tickets/{ticket['id']}/status",
                                json={"status": "in_progress"}).get_json()["status"] == "in_progress"
    assert_error(engineer_caller.post(f"/api/v1/tickets/{ticket['id']}/status", json={"status": "resolved"}),
                 422, "validation_failed", {"note"})
    resolved = engineer_caller.post(f"/api/v1/tickets/{ticket['id']}/status",
                                    json={"status": "resolved", "note": "清理了缓存"}).get_json()
    assert resolved["status"] == "resolved" and ISO_CHINA.match(resolved["resolved_at"])
    closed = admin.post(f"/api/v1/tickets/{ticket['id']}/status", json={"status": "closed"}).get_json()
    assert (closed["status"], closed["resolved_at"]) == ("closed", resolved["resolved_at"])  # closing keeps it


def test_return_to_hq_then_hq_reroutes_and_takes(app, as_user):
    ticket, partner, engineer = offered_ticket(as_user)
    admin = as_user(factories.user("partner_admin", party=partner))
    admin.post(f"/api/v1/tickets/{ticket['id']}/accept", json={"engineer_id": engineer.id})
    assert admin.post(f"/api/v1/tickets/{ticket['id']}/return",
                      json={"reason_code": "needs_hq_development", "note": "需要二次开发"}).status_code == 204
    assert admin.get(f"/api/v1/tickets/{ticket['id']}").status_code == 404
    hq_caller = as_user(factories.user("hq_agent"))
    taken = hq_caller.post(f"/api/v1/tickets/{ticket['id']}/take").get_json()
    assert taken["status"] == "accepted" and taken["owner"] == {"type": "hq"}
    assert_error(hq_caller.post(f"/api/v1/tickets/{ticket['id']}/take"), 409, "conflict")
    assert_error(hq_caller.post(f"/api/v1/tickets/{ticket['id']}/reroute"), 409, "invalid_transition")


def test_answering_an_offer_that_moved_on_is_a_409_and_changes_nothing(app, as_user):
    """The rule is "409 if no longer offered to you", also once the ticket left the partner's scope;
    a partner it was never offered to still gets 404."""
    first, first_engineer = certified_partner("330106")
    second, _second_engineer = certified_partner("330106")
    ticket_id = as_user(factories.user("hq_agent")).post(
        "/api/v1/tickets", json=intake_body(customer_with_contract())).get_json()["id"]
    decliner = first if db.session.get(Ticket, ticket_id).offered_party_id == first.id else second
    late = as_user(factories.user("partner_admin", party=decliner))
    assert late.post(f"/api/v1/tickets/{ticket_id}/decline",
                     json={"reason_code": "no_capacity", "note": "满负荷"}).status_code == 204
    moved_on = db.session.get(Ticket, ticket_id).offered_party_id
    assert moved_on not in (None, decliner.id)
    assert_error(late.post(f"/api/v1/tickets/{ticket_id}/accept", json={"engineer_id": first_engineer.id}),
                 409, "conflict")
    assert_error(late.post(f"/api/v1/tickets/{ticket_id}/decline", json={"reason_code": "other", "note": "x"}),
                 409, "conflict")
    db.session.expire_all()
    assert db.session.get(Ticket, ticket_id).offered_party_id == moved_on
    assert late.get(f"/api/v1/tickets/{ticket_id}").status_code == 404  # still outside its scope
    stranger, stranger_engineer = certified_partner("320000")
    assert_error(as_user(factories.user("partner_admin", party=stranger)).post(
        f"/api/v1/tickets/{ticket_id}/accept", json={"engineer_id": stranger_engineer.id}), 404, "not_found")


def test_returning_an_offer_not_yet_accepted_is_a_409_and_changes_nothing(app, as_user):
    ticket, partner, _engineer = offered_ticket(as_user)
    assert_error(as_user(factories.user("partner_admin", party=partner)).post(
        f"/api/v1/tickets/{ticket['id']}/return", json={"reason_code": "other", "note": "不做"}),
        409, "invalid_transition")
    assert db.session.get(Ticket, ticket["id"]).status == "offered"


def test_a_returned_ticket_says_why_it_is_at_hq_and_the_next_partner_sees_nothing_of_the_return(app, as_user):
    ticket, partner, engineer = offered_ticket(as_user)
    admin = as_user(factories.user("partner_admin", party=partner))
    admin.post(f"/api/v1/tickets/{ticket['id']}/accept", json={"engineer_id": engineer.id})
    admin.post(f"/api/v1/tickets/{ticket['id']}/status", json={"status": "in_progress", "note": "客户难沟通"})
    admin.post(f"/api/v1/tickets/{ticket['id']}/return", json={"reason_code": "capacity", "note": "人手不够"})
    hq_caller = as_user(factories.user("hq_manager"))
    queued = hq_caller.get(f"/api/v1/tickets/{ticket['id']}").get_json()
    assert (queued["status"], queued["route"]["cause"]) == ("hq_queue", "returned_by_partner")
    other, _other_engineer = certified_partner("330106")
    assert hq_caller.post(f"/api/v1/tickets/{ticket['id']}/offer",
                          json={"partner_id": other.id}).get_json()["status"] == "offered"
    seen = as_user(factories.user("partner_admin", party=other)).get(
        f"/api/v1/tickets/{ticket['id']}?include=events").get_json()["events"]
    # The SLA's response is the ticket's (its responded_at says as much); the rest was the first partner's.
    assert [e["kind"] for e in seen] == ["created", "response_met", "offered"], seen
    assert all(e["note"] is None for e in seen)


def test_suspending_a_partner_withdraws_its_offers_and_routes_them_on(app, as_user):
    ticket, partner, engineer = offered_ticket(as_user)
    next_partner, _next_engineer = certified_partner("330000")
    response = as_user(factories.user("hq_manager")).post(
        f"/api/v1/partners/{partner.id}/status", json={"status": "suspended", "reason": "审计结论"})
    assert response.status_code == 200, response.get_json()
    db.session.expire_all()
    moved = db.session.get(Ticket, ticket["id"])
    assert (moved.status, moved.offered_party_id) == ("offered", next_partner.id)
    withdrawn = db.session.execute(sa.select(TicketEvent).where(
        TicketEvent.ticket_id == ticket["id"], TicketEvent.party_id == partner.id)).scalars().all()
    # Withdrawn, not pushed back: nothing the audit counts against the partner.
    assert [(e.kind, e.reason_code) for e in withdrawn] == [("offered", None), ("rerouted", "suspended")]
    assert_error(as_user(factories.user("partner_admin", party=partner)).post(
        f"/api/v1/tickets/{ticket['id']}/accept", json={"engineer_id": engineer.id}), 409, "conflict")


def test_a_suspended_partner_cannot_accept_an_offer_still_standing(app, as_user):
    """The offer withdrawn and the accept may cross; whichever way, a suspended partner takes nothing."""
    ticket, partner, engineer = offered_ticket(as_user)
    partner.status = "suspended"  # as if the status change had committed between the two reads
    db.session.commit()
    assert_error(as_user(factories.user("partner_admin", party=partner)).post(
        f"/api/v1/tickets/{ticket['id']}/accept", json={"engineer_id": engineer.id}), 409, "conflict")
    db.session.expire_all()
    assert db.session.get(Ticket, ticket["id"]).status == "offered"


def test_offering_by_hand_to_an_unknown_partner_names_the_request_field(app, as_user):
    queued = as_user(factories.user("hq_agent")).post(
        "/api/v1/tickets", json=intake_body(customer_with_contract())).get_json()
    assert_error(as_user(factories.user("hq_agent")).post(
        f"/api/v1/tickets/{queued['id']}/offer", json={"partner_id": 999999}), 422, "validation_failed", {"partner_id"})


def test_reroute_runs_routing_again_for_a_queued_ticket(app, as_user):
    hq_caller = as_user(factories.user("hq_agent"))
    queued = hq_caller.post("/api/v1/tickets", json=intake_body(customer_with_contract())).get_json()
    assert queued["status"] == "hq_queue"
    partner, _engineer = certified_partner("330106")
    rerouted = hq_caller.post(f"/api/v1/tickets/{queued['id']}/reroute").get_json()
    assert rerouted["status"] == "offered" and rerouted["owner"]["id"] == partner.id
    assert_error(as_user(factories.user("partner_admin", party=partner)).post(
        f"/api/v1/tickets/{queued['id']}/reroute"), 403, "forbidden")


# --- lists ------------------------------------------------------------------------------------------------

def test_lists_page_with_an_opaque_cursor(app, as_user):
    for _ in range(5):
        factories.partner()
    caller = as_user(factories.user("hq_agent"))
    seen, cursor = [], None
    while True:
        page = caller.get("/api/v1/partners?limit=2" + (f"&cursor={cursor}" if cursor else "")).get_json()
        assert len(page["items"]) <= 2
        seen += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5


@pytest.mark.parametrize("query", ["", "&status=offered"], ids=["all", "offered"])
def test_walking_tickets_with_next_cursor_returns_each_exactly_once_while_tickets_are_opened(app, as_user, query):
    """Newest first, keyed on the id: a ticket opened during the walk is newer than every cursor,
    so it neither shifts the pages (no repeats, nothing skipped) nor joins the walk."""
    certified_partner("330106")
    customer = customer_with_contract()
    caller = as_user(factories.user("hq_agent"))
    before = [caller.post("/api/v1/tickets", json=intake_body(customer, subject=f"工单 {n}")).get_json()["id"]
              for n in range(7)]
    seen, cursor, opened = [], None, []
    while True:
        page = caller.get("/api/v1/tickets?limit=2" + query + (f"&cursor={cursor}" if cursor else "")).get_json()
        seen += [t["id"] for t in page["items"]]
        opened.append(caller.post("/api/v1/tickets", json=intake_body(customer, subject="walk")).get_json()["id"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(before, reverse=True)  # each exactly once, in order, none of `opened`
    assert len(opened) == 4 and min(opened) > max(before)
    first = caller.get("/api/v1/tickets?limit=2" + query).get_json()
    assert [t["id"] for t in first["items"]] == sorted(opened, reverse=True)[:2]  # a new walk starts with them


def test_region_search_and_chain(app, as_user):
    caller = as_user(factories.user("engineer", engineer_=factories.engineer(factories.partner())))
    assert [r["code"] for r in caller.get("/api/v1/regions?q=杭州").get_json()["items"]] == ["330100"]
    first = caller.get("/api/v1/regions?q=3301&limit=2").get_json()
    assert [r["code"] for r in first["items"]] == ["330100", "330102"] and first["next_cursor"]
    second = caller.get(f"/api/v1/regions?q=3301&limit=2&cursor={first['next_cursor']}").get_json()
    assert [r["code"] for r in second["items"]] == ["330105", "330106"]
    region = caller.get("/api/v1/regions/330106").get_json()
    assert [r["code"] for r in region["chain"]] == ["330106", "330100", "330000"]
    lines = caller.get("/api/v1/product-lines").get_json()["items"]
    assert {"oa-core", "workflow", "mobile", "integration"} <= {l["code"] for l in lines}


@pytest.mark.parametrize("query", ["%", "_", "%州"])
def test_region_search_takes_percent_and_underscore_as_text_not_wildcards(app, as_user, query):
    caller = as_user(factories.user("hq_agent"))
    assert caller.get("/api/v1/regions", query_string={"q": query}).get_json()["items"] == []


def test_the_breached_filter_lists_breached_tickets_or_every_other_one(app, as_user):
    caller = as_user(factories.user("hq_agent"))
    late, on_time = (caller.post("/api/v1/tickets", json=intake_body(customer_with_contract())).get_json()["id"]
                     for _ in range(2))
    db.session.get(Ticket, late).response_due_at = now_utc() - timedelta(minutes=5)
    db.session.commit()

    def listed(query):
        return {t["id"] for t in caller.get(f"/api/v1/tickets{query}").get_json()["items"]}
    assert (listed("?breached=true"), listed("?breached=false"), listed("")) == ({late}, {on_time}, {late, on_time})


# --- network and customers ------------------------------------------------------------------------------

def test_partner_create_patch_and_status_change(app, as_user):
    caller = as_user(factories.user("hq_manager"))
    created = caller.post("/api/v1/partners", json={
        "name": "温州瓯越软件", "kind": "franchisee", "tiers": ["L1", "L2"], "province_code": "330000",
        "capacity": 12, "contact_email": "ops@ouyue.example"})
    assert created.status_code == 201, created.get_json()
    partner = created.get_json()
    assert partner["status"] == "onboarding" and ISO_CHINA.match(partner["created_at"])
    for capacity in (0, 10001):  # the range of the pages and of the import: what is written exports again
        assert_error(caller.patch(f"/api/v1/partners/{partner['id']}", json={"capacity": capacity}),
                     422, "validation_failed", {"capacity"})
    patched = caller.patch(f"/api/v1/partners/{partner['id']}", json={"capacity": 30}).get_json()
    assert (patched["capacity"], patched["name"]) == (30, "温州瓯越软件")
    assert_error(caller.post(f"/api/v1/partners/{partner['id']}/status", json={"status": "probation", "reason": "x"}),
                 409, "invalid_transition")
    active = caller.post(f"/api/v1/partners/{partner['id']}/status", json={"status": "active", "reason": "考核通过"})
    assert active.get_json()["status"] == "active"
    assert_error(caller.post("/api/v1/partners", json={
        "name": "温州瓯越软件", "kind": "agent", "tiers": ["L1"], "province_code": "330100"}),
        422, "validation_failed", {"name", "province_code"})


def test_coverage_is_added_and_ended_once(app, as_user):
    partner = factories.partner()
    caller = as_user(factories.user("hq_manager"))
    response = caller.post(f"/api/v1/partners/{partner.id}/coverage",
                           json={"region_code": "330100", "product_lines": ["workflow"], "tiers": ["L1"]})
    assert response.status_code == 201, response.get_json()
    coverage = response.get_json()
    assert coverage["product_lines"] == ["workflow"] and coverage["effective_to"] is None
    all_lines = caller.post(f"/api/v1/partners/{partner.id}/coverage",
                            json={"region_code": "330000", "product_lines": None, "tiers": ["L1", "L2"],
                                  "effective_from": "2020-01-01"}).get_json()
    assert all_lines["product_lines"] is None
    assert caller.delete(f"/api/v1/coverage/{all_lines['id']}").status_code == 204
    assert db.session.get(Coverage, all_lines["id"]).effective_to is not None
    assert_error(caller.delete(f"/api/v1/coverage/{all_lines['id']}"), 409, "conflict")  # the same day again
    assert db.session.execute(sa.select(sa.func.count()).select_from(PartyEvent).where(
        PartyEvent.party_id == partner.id, PartyEvent.kind == "coverage_ended")).scalar() == 1
    assert [c["id"] for c in caller.get(f"/api/v1/partners/{partner.id}/coverage").get_json()["items"]] == \
        [coverage["id"], all_lines["id"]]
    yesterday_ended = db.session.get(Coverage, all_lines["id"])
    yesterday_ended.effective_to = today_in_china() - timedelta(days=2)
    db.session.commit()
    assert_error(caller.delete(f"/api/v1/coverage/{all_lines['id']}"), 409, "conflict")
    assert_error(caller.post(f"/api/v1/partners/{partner.id}/coverage",
                             json={"region_code": "330100", "product_lines": ["nope"], "tiers": ["L1"]}),
                 422, "validation_failed", {"product_lines"})


def test_engineer_submits_a_certification_and_hq_reviews_it_once(app, as_user):
    partner = factories.partner()
    engineer = factories.engineer(partner)
    submitted = as_user(factories.user("engineer", engineer_=engineer)).post(
        f"/api/v1/engineers/{engineer.id}/certifications",
        json={"product_line": "mobile", "level": "professional", "number": "MB-2026-0001",
              "issued_on": "2026-01-10", "expires_on": "2028-01-09"})
    assert submitted.status_code == 201, submitted.get_json()
    certification = submitted.get_json()
    assert certification["status"] == "pending"
    assert_error(as_user(factories.user("hq_agent")).post(
        f"/api/v1/certifications/{certification['id']}/review", json={"decision": "approve"}), 403, "forbidden")
    manager = as_user(factories.user("hq_manager"))
    approved = manager.post(f"/api/v1/certifications/{certification['id']}/review", json={"decision": "approve"})
    assert approved.get_json()["status"] == "valid"
    assert_error(manager.post(f"/api/v1/certifications/{certification['id']}/review",
                              json={"decision": "reject", "reason": "x"}), 409, "conflict")
    assert db.session.get(Certification, certification["id"]).status == "valid"


def test_hq_revokes_a_valid_certification_once_and_it_certifies_nobody_after(app, as_user):
    partner, engineer = certified_partner("330106")
    certification = db.session.execute(sa.select(Certification).where(
        Certification.engineer_id == engineer.id)).scalar_one()
    path = f"/api/v1/certifications/{certification.id}/revoke"
    assert_error(as_user(factories.user("hq_agent")).post(path, json={"reason": "伪造"}), 403, "forbidden")
    assert_error(as_user(factories.user("partner_admin", party=partner)).post(path, json={"reason": "x"}),
                 403, "forbidden")
    manager = as_user(factories.user("hq_manager"))
    assert_error(manager.post(path, json={}), 422, "validation_failed", {"reason"})
    revoked = manager.post(path, json={"reason": "证书编号经核实为伪造"})
    assert revoked.status_code == 200, revoked.get_json()
    assert revoked.get_json()["status"] == "revoked"
    assert_error(manager.post(path, json={"reason": "again"}), 409, "conflict")
    ticket = as_user(factories.user("hq_agent")).post("/api/v1/tickets", json=intake_body(customer_with_contract())).get_json()
    assert ticket["status"] == "hq_queue" and ticket["route"]["cause"] == "no_certified_engineer"


def test_of_two_reviews_at_once_one_wins_and_the_other_is_a_conflict(app):
    """The second reviewer's page still said pending; the first approved meanwhile."""
    from partnernet.errors import Conflict
    from partnernet.network import certifications
    _partner, engineer = certified_partner("330106")
    pending = factories.certification(engineer, "mobile", status="pending")
    reviewer = factories.user("hq_manager")
    seen = db.session.get(Certification, pending.id)
    assert seen.status == "pending"
    with db.engine.begin() as other_reviewer:
        other_reviewer.execute(sa.update(Certification).where(Certification.id == pending.id).values(status="valid"))
    with pytest.raises(Conflict):
        certifications.review(seen, "reject", "看错了", reviewer.id, now_utc(), today_in_china())
    db.session.expire_all()
    assert db.session.get(Certification, pending.id).status == "valid"


def test_the_same_certificate_number_submitted_at_once_registers_once_and_refuses_the_other(app, monkeypatch):
    """Both submissions pass the number check before either is written; the unique index decides,
    and the loser gets the same 422 as a later duplicate, not a 500."""
    from partnernet.network import certifications
    partner = factories.partner()
    admin = factories.user("partner_admin", party=partner)
    first, second = factories.engineer(partner), factories.engineer(partner)
    both_checked = threading.Barrier(2, timeout=10)
    checked = certifications.number_taken

    def number_taken_then_wait(*args):
        taken = checked(*args)
        both_checked.wait()
        return taken
    monkeypatch.setattr(certifications, "number_taken", number_taken_then_wait)
    body = {"product_line": "workflow", "level": "associate", "number": "WF-SAME-1",
            "issued_on": "2026-01-01", "expires_on": "2028-01-01"}
    answers = []

    def submit(engineer_id, secret):
        with app.test_client() as client:
            answers.append(client.post(f"/api/v1/engineers/{engineer_id}/certifications", json=body,
                                       headers=bearer(secret)))
    threads = [threading.Thread(target=submit, args=(engineer.id, token_for(admin, name)))
               for engineer, name in ((first, "a"), (second, "b"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.status_code for r in answers) == [201, 422]
    assert_error(next(r for r in answers if r.status_code == 422), 422, "validation_failed", {"number"})
    assert db.session.execute(sa.select(sa.func.count()).select_from(Certification).where(
        Certification.number == "WF-SAME-1")).scalar() == 1


def test_partner_admin_adds_an_engineer_to_its_own_partner_only(app, as_user):
    ours, theirs = factories.partner(), factories.partner()
    caller = as_user(factories.user("partner_admin", party=ours))
    created = caller.post(f"/api/v1/partners/{ours.id}/engineers", json={"name": "王工", "email": "Wang@Example.com"})
    assert created.status_code == 201 and created.get_json()["email"] == "wang@example.com"
    assert caller.post(f"/api/v1/partners/{theirs.id}/engineers", json={"name": "李工"}).status_code == 404
    assert_error(as_user(factories.user("hq_agent")).post(f"/api/v1/partners/{ours.id}/engineers",
                                                          json={"name": "李工"}), 403, "forbidden")


def test_customers_and_contracts_with_money_as_decimal_strings(app, as_user):
    partner = factories.partner()
    caller = as_user(factories.user("hq_agent"))
    customer = caller.post("/api/v1/customers", json={"name": "杭州某某集团", "region_code": "330106",
                                                      "sold_by_partner_id": partner.id}).get_json()
    assert customer["sold_by_partner_id"] == partner.id
    direct = caller.post("/api/v1/customers", json={"name": "直签客户", "region_code": "330106"}).get_json()
    assert direct["sold_by_partner_id"] is None
    response = caller.post(f"/api/v1/customers/{customer['id']}/contracts", json={
        "product_lines": ["workflow", "oa-core"], "value": "58000.00", "starts_on": "2026-03-01"})
    assert response.status_code == 201, response.get_json()
    contract = response.get_json()
    assert contract["value"] == "58000.00" and contract["sla_policy"] == "business-hours"
    assert contract["product_lines"] == ["oa-core", "workflow"] and contract["sold_by_partner_id"] == partner.id
    assert db.session.get(Contract, contract["id"]).value == Decimal("58000.00")
    assert_error(caller.post(f"/api/v1/customers/{customer['id']}/contracts", json={
        "product_lines": ["workflow"], "value": "12.345", "starts_on": "2026-03-01"}),
        422, "validation_failed", {"value"})
    assert_error(caller.post(f"/api/v1/customers/{customer['id']}/contracts", json={
        "product_lines": ["workflow"], "value": "100.00", "starts_on": "2026-03-01",
        "service_paid_until": "2025-01-01", "sla_policy": "nope"}),
        422, "validation_failed", {"service_paid_until", "sla_policy"})
    names = [c["name"] for c in caller.get("/api/v1/customers?q=集团").get_json()["items"]]
    assert names == ["杭州某某集团"] and count(Customer) == 2


# --- command line -------------------------------------------------------------------------------------------

def test_tokens_cli_creates_a_token_shown_once_and_revokes_it(app, client):
    user = factories.user("hq_admin", email="integration@hq.example")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["tokens", "create", "Integration@HQ.example", "--name", "客服网站"])
    assert result.exit_code == 0, result.output
    secret = re.search(r"\bpn_[A-Za-z0-9_-]{43}\b", result.output).group(0)
    token = db.session.execute(sa.select(ApiToken).where(ApiToken.user_id == user.id)).scalar_one()
    assert token.name == "客服网站" and token.token_hash == tokens.token_hash(secret)
    assert client.get("/api/v1/tickets", headers=bearer(secret)).status_code == 200
    listed = runner.invoke(args=["tokens", "list", "integration@hq.example"])
    assert "客服网站" in listed.output and secret not in listed.output
    assert runner.invoke(args=["tokens", "revoke", str(token.id)]).exit_code == 0
    assert client.get("/api/v1/tickets", headers=bearer(secret)).status_code == 401
    assert runner.invoke(args=["tokens", "create", "nobody@example.com"]).exit_code != 0


# --- the profile page -----------------------------------------------------------------------------------------

def test_profile_page_creates_a_token_shown_once_and_revokes_it(app, client, login_as):
    user = factories.user("partner_admin", party=factories.partner())
    login_as(user)
    page = client.get("/profile")
    assert page.status_code == 200
    created = client.post("/profile/tokens", data={"name": "内部工单系统"})
    assert created.status_code == 200
    secret = re.search(r"\bpn_[A-Za-z0-9_-]{43}\b", created.get_data(as_text=True)).group(0)
    assert client.get("/api/v1/tickets", headers=bearer(secret)).status_code == 200
    listing = client.get("/profile").get_data(as_text=True)
    assert "内部工单系统" in listing and secret not in listing
    token = db.session.execute(sa.select(ApiToken).where(ApiToken.user_id == user.id)).scalar_one()
    assert client.post(f"/profile/tokens/{token.id}/revoke").status_code == 302
    assert client.get("/api/v1/tickets", headers=bearer(secret)).status_code == 401


def test_a_user_cannot_revoke_someone_elses_token(app, client, login_as):
    victim = factories.user("hq_admin")
    token, secret = tokens.issue_token(victim, "theirs", now_utc())
    login_as(factories.user("hq_agent"))
    assert client.post(f"/profile/tokens/{token.id}/revoke").status_code == 404
    assert client.get("/api/v1/tickets", headers=bearer(secret)).status_code == 200
