"""An integration written only from the OpenAPI document: it knows operationIds, not paths.

The network (a certified partner, a customer under contract, users and their tokens, a week of
offers for the audit) is set up directly; from there every step is an operation looked up by its
operationId in /api/v1/openapi.json, its request built from the document's parameters, and its
response checked against the document (status, content type, headers, body schema). It opens a
ticket, follows it to resolution and reads the audit findings, as docs/api.md promises an integrator.
"""
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_headers_conformance, response_schema_conformance,
    status_code_conformance)

from partnernet.auth import tokens
from partnernet.timeclock import now_utc
from tests import factories
from tests.test_api import customer_with_contract
from tests.test_audit import WEEK, offer_history
from tests.test_tickets import certified_partner

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


@pytest.fixture
def document_client(app):
    """call(operationId, token, expected status, path=…, query=…, body=…, headers=…) → the JSON."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)

    def call(operation_id, token, status, path=None, query=None, body=None, headers=None):
        case = schema.find_operation_by_id(operation_id).Case(
            path_parameters=path, query=query, **({"body": body} if body is not None else {}),
            headers=headers, media_type="application/json" if body is not None else None)
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        case.validate_response(response, checks=CHECKS)
        assert response.status_code == status, (operation_id, response.status_code, response.text)
        return response.json() if response.content else None

    return call


def token(user) -> str:
    return tokens.issue_token(user, "integration", now_utc())[1]


def test_every_operation_has_a_unique_operation_id(client):
    document = client.get("/api/v1/openapi.json").get_json()
    ids = [operation.get("operationId") for operations in document["paths"].values()
           for method, operation in operations.items() if method in ("get", "post", "put", "patch", "delete")]
    assert None not in ids and len(ids) == len(set(ids))
    assert {"openTicket", "acceptOffer", "changeTicketStatus", "getTicket", "runAudit",
            "listAuditFindings"} <= set(ids)


def test_an_integration_opens_a_ticket_follows_it_to_resolution_and_reads_the_findings(app, document_client):
    call = document_client
    partner, engineer = certified_partner("330106")
    customer = customer_with_contract("330106")
    offer_history(partner, offered=40, declined=30)  # last week: a partner that pushed work back
    agent, manager = token(factories.user("hq_agent")), token(factories.user("hq_manager"))
    partner_admin = token(factories.user("partner_admin", party=partner))
    engineer_user = token(factories.user("engineer", engineer_=engineer))

    # HQ's integration: a product line from the reference data, then the ticket, with a retry key.
    lines = [line["code"] for line in call("listProductLines", agent, 200)["items"]]
    body = {"customer_id": customer.id, "product_line": "workflow", "complexity": "complex", "tier": "L2",
            "channel": "api", "subject": "审批流无法提交", "description": "提交按钮无响应"}
    assert body["product_line"] in lines
    opened = call("openTicket", agent, 201, body=body, headers={"Idempotency-Key": "crm-4711"})
    assert opened["status"] == "offered" and opened["offer"]["partner_id"] == partner.id
    replayed = call("openTicket", agent, 201, body=body, headers={"Idempotency-Key": "crm-4711"})
    assert replayed["id"] == opened["id"]

    # The partner's system: its offers, one of its certified engineers, accept.
    offers = call("listTickets", partner_admin, 200, query={"status": "offered"})["items"]
    assert [t["id"] for t in offers] == [opened["id"]]
    engineers = call("listEngineers", partner_admin, 200, path={"partner_id": partner.id})["items"]
    accepted = call("acceptOffer", partner_admin, 200, path={"ticket_id": opened["id"]},
                    body={"engineer_id": engineers[0]["id"]})
    assert (accepted["status"], accepted["owner"]["id"]) == ("accepted", partner.id)

    # The engineer works it and resolves it.
    call("changeTicketStatus", engineer_user, 200, path={"ticket_id": opened["id"]}, body={"status": "in_progress"})
    resolved = call("changeTicketStatus", engineer_user, 200, path={"ticket_id": opened["id"]},
                    body={"status": "resolved", "note": "清理了缓存"})
    assert resolved["status"] == "resolved" and resolved["resolved_at"]

    # HQ follows it: the ticket with its history.
    followed = call("getTicket", agent, 200, path={"ticket_id": opened["id"]}, query={"include": "events"})
    assert [e["kind"] for e in followed["events"]][:3] == ["created", "offered", "accepted"]
    assert followed["status"] == "resolved"

    # The channel manager audits last week; the partner reads its own finding.
    run = call("runAudit", manager, 201, body={"period_start": WEEK[0].isoformat(),
                                                 "period_end": WEEK[1].isoformat()})
    findings = call("listAuditFindings", manager, 200, path={"run_id": run["id"]})["items"]
    assert [(f["partner_id"], f["flagged"], f["declined"]) for f in findings] == [(partner.id, True, 30)]
    own = call("listAuditFindings", partner_admin, 200, path={"run_id": run["id"]})["items"]
    assert [f["id"] for f in own] == [findings[0]["id"]]
