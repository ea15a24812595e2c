"""Property-based fuzzing of /api/v1 from its own OpenAPI document (schemathesis).

Every operation of the document gets generated requests, valid and invalid (schemathesis'
positive and negative modes), sent in-process (WSGI) to the real app on a small seeded network,
each with the tokens of four roles: HQ admin, HQ agent, a partner's admin and an engineer. Every
response must be no server error and conform to the document (a documented status, its content
type, headers and body schema), and invalid requests must be refused. Bounded: a fixed number of
examples per operation and mode, no deadline, derandomized, so a run takes the same time and
finds the same things on every machine.

schemathesis' own pytest plugin (`@schema.parametrize()`) does not work with pytest 9 yet, so
the operations are parametrized here and each is driven with its hypothesis strategy.
"""
import os
from datetime import date, timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, assume, given, seed, settings, strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance, negative_data_rejection, response_headers_conformance,
    response_schema_conformance, status_code_conformance)

from partnernet import create_app
from partnernet.auth import tokens
from partnernet.extensions import db
from partnernet.tickets import service
from partnernet.timeclock import now_utc, today_in_china
from tests import factories

ROLES = ("hq_admin", "hq_agent", "partner_admin", "engineer")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, negative_data_rejection]
# FUZZ_EXAMPLES / FUZZ_SEED: a deeper or different run by hand (CI keeps 20, derandomized).
EXAMPLES_PER_MODE = int(os.environ.get("FUZZ_EXAMPLES", "20"))
SEED = os.environ.get("FUZZ_SEED")
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def documented_operations() -> list[tuple[str, str]]:
    """(METHOD, path) of every operation in the document (read from an app without a database)."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "TESTING": True})
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    return [(method.upper(), path) for path, operations in document["paths"].items()
            for method in operations if method in HTTP_METHODS]


def seed_network() -> dict[str, str]:
    """A small network, its ids in 1..12: two partners in Hangzhou with certified engineers and a
    pending certification each, customers with contracts, tickets offered, accepted and queued.
    Returns a token per role."""
    today = today_in_china()
    partners = []
    for region in ("330106", "330100"):
        partner = factories.partner(tiers=["L1", "L2", "L3"])
        factories.coverage(partner, region, tiers=["L1", "L2", "L3"])
        engineer = factories.engineer(partner)
        factories.certification(engineer, "workflow", issued_on=today - timedelta(days=200),
                                expires_on=today + timedelta(days=500))
        factories.certification(engineer, "oa-core", status="pending", issued_on=today - timedelta(days=10),
                                expires_on=today + timedelta(days=700))
        partners.append((partner, engineer))
    (ours, our_engineer), _theirs = partners
    users = {
        "hq_admin": factories.user("hq_admin"),
        "hq_agent": factories.user("hq_agent"),
        "partner_admin": factories.user("partner_admin", party=ours),
        "engineer": factories.user("engineer", engineer_=our_engineer),
    }
    now = now_utc()
    for n in range(4):
        customer = factories.customer(region_code="330106" if n % 2 == 0 else "110101")
        factories.contract(customer, starts_on=today - timedelta(days=60))
        for line in ("workflow", "mobile"):
            service.intake(service.IntakeRequest(customer_id=customer.id, product_line=line, complexity="simple",
                                                 channel="api", subject=f"工单 {n}"), users["hq_agent"], now)
    offered = db.session.execute(db.select(factories.Ticket).where(
        factories.Ticket.status == "offered", factories.Ticket.offered_party_id == ours.id)).scalars().first()
    service.accept(offered, users["partner_admin"], our_engineer.id, now)
    return {role: tokens.issue_token(user, "fuzz", now)[1] for role, user in users.items()}


@pytest.fixture(scope="module")
def fuzzed_app(database_factory, tmp_path_factory):
    url = database_factory.clone()
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    app.instance_path = str(tmp_path_factory.mktemp("fuzz-instance"))  # whatever the fuzzer uploads
    with app.app_context():
        role_tokens = seed_network()
        db.session.remove()
    yield app, role_tokens
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    database_factory.drop(url)


def vanishes_on_the_wire(case) -> bool:
    """A generated query parameter with no value ([] or None) is not sent at all: a negative case
    built on it reaches the app as a valid request, which schemathesis would then blame."""
    return any(value is None or value == [] for value in (case.query or {}).values())


LINES = ["oa-core", "workflow", "mobile", "integration"]
# Values that name something in the seeded network: its ids lie in 1..12.
SEEDED = {
    "product_line": st.sampled_from(LINES),
    "product_lines": st.lists(st.sampled_from(LINES), min_size=1, max_size=4, unique=True),
    "region_code": st.sampled_from(["330106", "330100", "330000", "110101"]),
    "province_code": st.sampled_from(["330000", "110000"]),
}
SEEDED_ID = st.integers(min_value=1, max_value=12)


def toward_seeded_values(values):
    """Half of the generated parameters stay as they are, the other half name seeded rows and
    reference data: random ids and codes alone would reach little beyond 404 and 422."""
    if not isinstance(values, dict):
        return st.just(values)
    steered = {name: SEEDED_ID if name.endswith("_id") else SEEDED[name] for name, value in values.items()
               if (name.endswith("_id") and isinstance(value, int) and not isinstance(value, bool))
               or (name in SEEDED and value is not None)}
    if not steered:
        return st.just(values)
    return st.one_of(st.just(values),
                     st.fixed_dictionaries({**{name: st.just(value) for name, value in values.items()}, **steered}))


@pytest.fixture(scope="module")
def api_schemas(fuzzed_app):
    """The document as schemathesis reads it, per generation mode. Valid requests are steered
    toward seeded ids; invalid ones are left as generated (steering could make them valid)."""
    app, _tokens = fuzzed_app
    positive = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)

    @positive.hook
    def before_generate_path_parameters(_context, strategy):
        return strategy.flatmap(toward_seeded_values)

    @positive.hook
    def before_generate_body(_context, strategy):
        return strategy.flatmap(toward_seeded_values)

    return {GenerationMode.POSITIVE: positive,
            GenerationMode.NEGATIVE: schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)}


@pytest.mark.parametrize("method, path", documented_operations(), ids=lambda value: value)
@pytest.mark.parametrize("mode", list(GenerationMode), ids=str)
def test_every_operation_answers_every_role_within_the_document(api_schemas, fuzzed_app, method, path, mode):
    _app, role_tokens = fuzzed_app
    schema = api_schemas[mode]
    operation = schema[path][method]

    @settings(max_examples=EXAMPLES_PER_MODE, deadline=None, derandomize=SEED is None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode, hooks=schema.hooks))
    def every_role(case):
        assume(not vanishes_on_the_wire(case))
        for role in ROLES:
            response = case.call(headers={"Authorization": f"Bearer {role_tokens[role]}"})
            case.validate_response(response, checks=CHECKS)

    (seed(int(SEED))(every_role) if SEED else every_role)()
