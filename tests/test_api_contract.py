"""The API's document as an integrator's tools read it, and the conventions every answer keeps:
nested objects a validator checks, enums declared from the code's own constants, what is always
there required, the error shape on every /api/v1 path, messages in the language asked for."""
import pytest
from openapi_spec_validator import validate

from partnernet.api import blueprint
from partnernet.api.idempotency import KeyReused
from partnernet.audit.measures import FLAG_REASONS
from partnernet.audit.models import RUN_TRIGGERS
from partnernet.errors import ERROR_CODES, DomainError
from partnernet.network.models import CERTIFICATION_STATUSES, PARTNER_KINDS
from partnernet.tickets.models import BILLABLE_REASONS, TICKET_STATUSES
from tests import factories
from tests.test_api import ISO_CHINA, as_user, assert_error, customer_with_contract, intake_body  # noqa: F401 (fixture)
from tests.test_tickets import certified_partner

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
def document(client):
    return client.get("/api/v1/openapi.json").get_json()


def schema_of(document, name):
    return document["components"]["schemas"][name]


def walk(node):
    """Every schema object in the document, nested ones included."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def test_the_document_is_valid_openapi(document):
    assert document["openapi"] == "3.0.3"
    validate(document)  # raises on any violation


@pytest.mark.parametrize("schema, field, target", [
    ("Ticket", "offer", "Offer"), ("Ticket", "route", "Route"), ("AuditFinding", "decision", "AuditDecision")])
def test_a_nested_object_that_may_be_null_is_a_nullable_reference_to_its_schema(document, schema, field, target):
    """Not `anyOf: [{type: object, nullable: true}, {$ref}]`, whose first branch any object matches."""
    assert schema_of(document, schema)["properties"][field] == {
        "allOf": [{"$ref": f"#/components/schemas/{target}"}], "nullable": True}


def test_no_object_anywhere_is_declared_as_any_object(document):
    loose = [node for node in walk(document["components"]["schemas"])
             if node.get("type") == "object" and node.get("nullable") and "properties" not in node
             and "additionalProperties" not in node]
    assert loose == []


@pytest.mark.parametrize("schema, field, values", [
    ("Certification", "status", CERTIFICATION_STATUSES),
    ("Candidate", "kind", PARTNER_KINDS),
    ("Ticket", "billable_reason", BILLABLE_REASONS),
    ("TicketEvent", "from_status", TICKET_STATUSES),
    ("TicketEvent", "to_status", TICKET_STATUSES),
    ("AuditRun", "triggered_by", RUN_TRIGGERS),
    ("ErrorDetail", "code", ERROR_CODES),
])
def test_a_field_of_fixed_values_declares_them_from_the_codes_constant(document, schema, field, values):
    assert enum_of(document, schema_of(document, schema)["properties"][field]) == list(values)


def enum_of(document, field):
    """A field's values, declared inline or by a named enum it refers to."""
    if "allOf" in field:
        return schema_of(document, field["allOf"][0]["$ref"].rpartition("/")[2])["enum"]
    return field["enum"]


def test_event_reasons_and_flag_reasons_are_declared_enums(document):
    reasons = enum_of(document, schema_of(document, "TicketEvent")["properties"]["reason_code"])
    assert {"no_capacity", "beyond_our_skills", "no_coverage", "returned_by_partner", "suspended"} <= set(reasons)
    flag_reasons = schema_of(document, "AuditFinding")["properties"]["flag_reasons"]
    assert flag_reasons["items"]["enum"] == list(FLAG_REASONS) and flag_reasons["nullable"] is True


def test_a_nullable_enum_is_declared_one_way_a_nullable_reference_to_its_named_values(document):
    """Not `null` among the values and `nullable` besides, which generators read as three enums."""
    assert [node for node in walk(document) if None in (node.get("enum") or ())] == []
    assert [node for node in walk(document) if "enum" in node and node.get("nullable")] == []
    for schema, field, name in (("IntakeIn", "tier", "Tier"), ("Route", "cause", "HqQueueCause"),
                                ("Ticket", "hq_queue_cause", "HqQueueCause")):
        declared = schema_of(document, schema)["properties"][field]
        assert declared["allOf"] == [{"$ref": f"#/components/schemas/{name}"}] and declared["nullable"] is True
    assert schema_of(document, "Tier") == {"type": "string", "enum": ["L1", "L2", "L3"]}


def test_every_error_code_the_api_answers_with_is_declared():
    codes = {cls.code for cls in (DomainError, *all_subclasses(DomainError))} | set(blueprint.CODES.values())
    assert codes | {KeyReused.code, "rate_limited"} <= set(ERROR_CODES)


def all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from all_subclasses(sub)


def test_what_is_always_there_is_required(document):
    assert {"partner_id", "name", "kind", "level", "outcome"} <= set(schema_of(document, "Candidate")["required"])
    assert set(schema_of(document, "PartnerOwner")["required"]) == {"type", "id", "name"}
    assert set(schema_of(document, "HqOwner")["required"]) == {"type"}


def test_the_owner_is_a_union_tagged_by_its_type(document):
    owner = schema_of(document, "Ticket")["properties"]["owner"]
    assert owner["oneOf"] == [{"$ref": "#/components/schemas/HqOwner"}, {"$ref": "#/components/schemas/PartnerOwner"}]
    assert owner["discriminator"] == {"propertyName": "type", "mapping": {
        "hq": "#/components/schemas/HqOwner", "partner": "#/components/schemas/PartnerOwner"}}


def test_only_what_the_api_uses_is_declared(document):
    assert "PaginationMetadata" not in document["components"]["schemas"]


def test_every_operation_declares_accept_language(document):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method in HTTP_METHODS:
                headers = [p for p in operation["parameters"] if p["in"] == "header"]
                assert "Accept-Language" in [p["name"] for p in headers], (method, path)


@pytest.mark.parametrize("path", ["/api/v1/regions/abc", "/api/v1/nothing-here", "/api/v1/tickets/abc",
                                  "/api/v1/tickets/1/nothing"])
def test_every_api_path_answers_in_the_error_shape_in_the_language_asked_for(client, path):
    english = assert_error(client.get(path, headers={"Accept-Language": "en"}), 404, "not_found")
    assert english["message"] == "Not found."
    chinese = assert_error(client.get(path, headers={"Accept-Language": "zh-CN"}), 404, "not_found")
    assert chinese["message"] != english["message"]


def test_a_method_no_api_path_takes_answers_in_the_error_shape(client):
    error = assert_error(client.delete("/api/v1/regions", headers={"Accept-Language": "en"}), 405,
                         "method_not_allowed")
    assert "DELETE" in error["message"]


def test_accept_language_chooses_the_language_of_messages_over_the_users_own(as_user):
    caller = as_user(factories.user("hq_agent", locale="zh_CN"))
    english = assert_error(caller.get("/api/v1/tickets/999999", headers={"Accept-Language": "en"}), 404, "not_found")
    assert english["message"] == "Not found."
    own = assert_error(caller.get("/api/v1/tickets/999999"), 404, "not_found")
    assert own["message"] != "Not found."


def test_an_events_details_are_typed_in_the_apis_conventions(as_user):
    partner, engineer = certified_partner("330106")
    customer = customer_with_contract("330106")
    agent = as_user(factories.user("hq_agent"))
    opened = agent.post("/api/v1/tickets", json=intake_body(customer)).get_json()
    as_user(factories.user("partner_admin", party=partner)).post(
        f"/api/v1/tickets/{opened['id']}/accept", json={"engineer_id": engineer.id})
    events = {e["kind"]: e for e in agent.get(f"/api/v1/tickets/{opened['id']}?include=events").get_json()["events"]}

    assert events["created"]["data"] == {"tier": "L2", "billable": False, "billable_reason": None}
    offered = events["offered"]["data"]
    assert ISO_CHINA.match(offered["deadline"]) and offered["deadline"] == opened["offer"]["deadline"]
    assert [c["partner_id"] for c in offered["route"]["candidates"]] == [partner.id]
    assert "party_id" not in offered["route"]["candidates"][0]
    assert events["accepted"]["data"] == {"engineer_id": engineer.id}
    response = events["response_met"]["data"]
    assert ISO_CHINA.match(response["due"]) and ISO_CHINA.match(response["done_at"])
    assert events["response_met"]["reason_code"] is None and events["accepted"]["from_status"] == "offered"


def test_the_owner_cannot_reopen_a_resolved_ticket(as_user):
    """DESIGN: a resolved ticket closes; reopening is the customer's answer to the resolution, not
    a step of its owner (whose resolution target was recorded once). 409, and nothing changes."""
    partner, engineer = certified_partner("330106")
    customer = customer_with_contract("330106")
    opened = as_user(factories.user("hq_agent")).post("/api/v1/tickets", json=intake_body(customer)).get_json()
    admin = as_user(factories.user("partner_admin", party=partner))
    admin.post(f"/api/v1/tickets/{opened['id']}/accept", json={"engineer_id": engineer.id})
    resolved = admin.post(f"/api/v1/tickets/{opened['id']}/status", json={"status": "resolved", "note": "已修复"})
    assert resolved.get_json()["status"] == "resolved"

    reopened = admin.post(f"/api/v1/tickets/{opened['id']}/status", json={"status": "in_progress"})

    assert_error(reopened, 409, "invalid_transition", fields=["status"])
    after = admin.get(f"/api/v1/tickets/{opened['id']}?include=events").get_json()
    assert after["status"] == "resolved" and after["resolved_at"] == resolved.get_json()["resolved_at"]
    assert [e["to_status"] for e in after["events"] if e["kind"] == "status_changed"] == ["resolved"]
    closed = admin.post(f"/api/v1/tickets/{opened['id']}/status", json={"status": "closed"})
    assert closed.get_json()["status"] == "closed"
