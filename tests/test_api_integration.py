"""An integration written only from the OpenAPI document: it knows operationIds, not paths.

The network (a certified partner, a customer under contract, users and their tokens, a week of
offers for the audit) is set up directly; from there every step is an operation looked up by its
operationId in /api/v1/openapi.json, its request built from the document's parameters, and its
response checked against the document (status, content type, headers, body schema). It opens a
ticket, follows it to resolution and reads the audit findings, as docs/api.md promises an integrator.
"""
import importlib
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import attrs
import httpx
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_headers_conformance, response_schema_conformance,
    status_code_conformance)

from partnernet import create_app
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


# --- a client generated from the document ---------------------------------------------------------

@pytest.fixture(scope="module")
def generated_client(tmp_path_factory):
    """The Python package openapi-python-client generates from /api/v1/openapi.json (as an
    integrator would, offline), importable as `partnernet_client`. Generated once per module."""
    directory = tmp_path_factory.mktemp("generated-client")
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "TESTING": True})
    (directory / "openapi.json").write_text(app.test_client().get("/api/v1/openapi.json").get_data(as_text=True))
    # Files (attachments, thumbnails, the service report's PDF) come as bytes: the generator reads
    # only application/octet-stream so, and is told which of the document's types are files.
    overrides = "".join(f"  {kind}: application/octet-stream\n" for kind in (
        "application/pdf", "image/png", "image/jpeg", "image/webp", "image/gif"))
    (directory / "config.yml").write_text("post_hooks: []\npackage_name_override: partnernet_client\n"
                                          "content_type_overrides:\n" + overrides)
    generator = shutil.which("openapi-python-client", path=str(Path(sys.executable).parent)) \
        or shutil.which("openapi-python-client")
    result = subprocess.run([generator, "generate", "--path", "openapi.json", "--config", "config.yml",
                             "--meta", "none"], cwd=directory, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(directory))
    try:
        yield importlib.import_module("partnernet_client")
    finally:
        sys.path.remove(str(directory))
        for name in [name for name in sys.modules if name.partition(".")[0] == "partnernet_client"]:
            del sys.modules[name]


def assert_typed(value, maps=("ErrorDetailFields",)):
    """Every object the client parsed is a model of the document with nothing left over in
    `additional_properties` (only `maps`, declared as maps, hold their entries there)."""
    if isinstance(value, list):
        for item in value:
            assert_typed(item, maps)
    elif attrs.has(type(value)):
        if type(value).__name__ not in maps:
            assert not getattr(value, "additional_properties", None), (type(value).__name__, value)
            for field in attrs.fields(type(value)):
                assert_typed(getattr(value, field.name), maps)
    return value


def test_a_generated_client_runs_the_whole_flow_with_typed_attributes_only(app, generated_client):
    """An integrator's code: no hand-written HTTP, no dict access; every answer a typed model,
    the errors included."""
    pc = generated_client
    from partnernet_client.api.audits import decide_finding, get_audit, list_audit_findings, list_audits, run_audit
    from partnernet_client.api.customers import list_contracts, list_customers
    from partnernet_client.api.engineers_and_certifications import list_engineers
    from partnernet_client.api.reference import get_me, list_product_lines
    from partnernet_client.api.tickets import accept_offer, change_ticket_status, get_ticket, list_tickets, open_ticket
    from partnernet_client import models as m

    partner, _engineer = certified_partner("330106")
    uncertified = factories.partner(name="西湖无证")  # covers Xihu, no certified engineer: skipped
    factories.coverage(uncertified, "330106", tiers=["L1", "L2"])
    customer = customer_with_contract("330106")
    offer_history(partner, offered=40, declined=30)

    def client_of(user=None, secret=None):
        return pc.AuthenticatedClient(base_url="http://partnernet.test", token=secret or token(user),
                                      raise_on_unexpected_status=True,
                                      httpx_args={"transport": httpx.WSGITransport(app=app)})

    def call(operation, expected, **kwargs):
        response = operation.sync_detailed(**kwargs)
        assert response.status_code == expected, (operation.__name__, response.status_code, response.content)
        return assert_typed(response.parsed)

    agent, manager = client_of(factories.user("hq_agent")), client_of(factories.user("hq_manager"))
    admin = client_of(factories.user("partner_admin", party=partner))
    engineer_user = client_of(factories.user("engineer", engineer_=_engineer))

    # Who am I; the reference; the customer, its contract and what intake will apply.
    me = call(get_me, 200, client=admin)
    assert isinstance(me.party, m.PartnerOwner) and me.party.id == partner.id and me.role == m.MeRole.PARTNER_ADMIN
    assert "workflow" in [line.code for line in call(list_product_lines, 200, client=agent).items]
    assert customer.id in [c.id for c in call(list_customers, 200, client=agent, region="330100").items]
    assert call(list_customers, 200, client=agent, region="110000").items == []
    contract = call(list_contracts, 200, client=agent, customer_id=customer.id).items[0]
    assert contract.entitlement.billable_tiers.l2 is None and contract.entitlement.service == m.EntitlementService.FREE

    # Intake with a retry key: the same ticket twice; the key with another body is a typed 422.
    body = m.IntakeIn(customer_id=customer.id, product_line="workflow", complexity=m.IntakeInComplexity.COMPLEX,
                      tier=m.Tier.L2, channel=m.IntakeInChannel.API, subject="审批流无法提交",
                      description="提交按钮无响应")
    ticket = call(open_ticket, 201, client=agent, body=body, idempotency_key="crm-4711")
    again = open_ticket.sync_detailed(client=agent, body=body, idempotency_key="crm-4711")
    assert again.parsed.id == ticket.id and again.headers["Idempotent-Replayed"] == "true"
    body.subject = "另一个问题"
    reused = call(open_ticket, 422, client=agent, body=body, idempotency_key="crm-4711")
    assert reused.error.code == m.ErrorDetailCode.IDEMPOTENCY_KEY_REUSED

    # The route explanation, typed: who was offered it and why the other was skipped.
    assert ticket.status == m.TicketStatus.OFFERED and ticket.offer.partner_id == partner.id
    assert isinstance(ticket.owner, m.PartnerOwner) and ticket.billable_reason is None
    by_partner = {c.partner_id: c for c in ticket.route.candidates}
    assert by_partner[partner.id].outcome == m.CandidateOutcome.OFFERED and by_partner[partner.id].rank == 1
    skipped = by_partner[uncertified.id]
    assert (skipped.outcome, skipped.reason, skipped.kind) == (
        m.CandidateOutcome.SKIPPED, m.CandidateReason.NO_VALID_CERTIFICATION, m.CandidateKind(uncertified.kind))
    assert ticket.offer.deadline.utcoffset() == timedelta(hours=8)

    # The partner: its offers, an engineer certified for the line, accept; a second accept is 409.
    offers = call(list_tickets, 200, client=admin, status=m.ListTicketsStatus.OFFERED).items
    assert [t.id for t in offers] == [ticket.id]
    engineers = call(list_engineers, 200, client=admin, partner_id=partner.id).items
    certified = [e for e in engineers if "workflow" in [c.product_line for c in e.valid_certifications]]
    accepted = call(accept_offer, 200, client=admin, ticket_id=ticket.id, body=m.AcceptIn(engineer_id=certified[0].id))
    assert accepted.status == m.TicketStatus.ACCEPTED and accepted.owner.id == partner.id and accepted.offer is None
    conflict = call(accept_offer, 409, client=admin, ticket_id=ticket.id, body=m.AcceptIn(engineer_id=certified[0].id))
    assert conflict.error.code in (m.ErrorDetailCode.CONFLICT, m.ErrorDetailCode.INVALID_TRANSITION)

    # The engineer works it to resolution; reopening it is not the owner's step (409).
    change_status = m.TicketStatusIn
    call(change_ticket_status, 200, client=engineer_user, ticket_id=ticket.id,
         body=change_status(status=m.TicketStatusInStatus.IN_PROGRESS))
    resolved = call(change_ticket_status, 200, client=engineer_user, ticket_id=ticket.id,
                    body=change_status(status=m.TicketStatusInStatus.RESOLVED, note="清理了缓存"))
    assert resolved.status == m.TicketStatus.RESOLVED and resolved.resolved_at is not None
    reopened = call(change_ticket_status, 409, client=engineer_user, ticket_id=ticket.id,
                    body=change_status(status=m.TicketStatusInStatus.IN_PROGRESS))
    assert reopened.error.code == m.ErrorDetailCode.INVALID_TRANSITION

    # The errors an integrator meets on purpose, each a typed Error.
    assert call(get_me, 401, client=client_of(secret="not-a-token")).error.code == m.ErrorDetailCode.UNAUTHORIZED
    assert call(open_ticket, 403, client=admin, body=body).error.code == m.ErrorDetailCode.FORBIDDEN
    assert call(get_ticket, 404, client=admin, ticket_id=999999).error.code == m.ErrorDetailCode.NOT_FOUND
    body.product_line = "no-such-line"
    invalid = call(open_ticket, 422, client=agent, body=body, accept_language="en")
    assert invalid.error.code == m.ErrorDetailCode.VALIDATION_FAILED and "product_line" in invalid.error.fields

    # HQ follows the ticket's history: typed details, times in China.
    history = call(get_ticket, 200, client=agent, ticket_id=ticket.id, include=m.GetTicketInclude.EVENTS).events
    kinds = [event.kind for event in history]
    assert kinds[:3] == [m.TicketEventKind.CREATED, m.TicketEventKind.OFFERED, m.TicketEventKind.ACCEPTED]
    offered = history[1].data
    assert offered.deadline == ticket.offer.deadline and offered.route.candidates[0].partner_id in by_partner
    assert history[2].data.engineer_id == certified[0].id and history[2].to_status == m.TicketStatus.ACCEPTED

    # The channel manager audits last week, finds the run again, walks its findings and decides.
    run = call(run_audit, 201, client=manager, body=m.AuditRunIn(period_start=WEEK[0], period_end=WEEK[1]))
    assert run.triggered_by == m.AuditRunTriggeredBy.API and run.flagged == 1
    assert [r.id for r in call(list_audits, 200, client=manager).items] == [run.id]
    assert call(get_audit, 200, client=manager, run_id=run.id) == run and run.partners == 2
    findings = call(list_audit_findings, 200, client=manager, run_id=run.id).items
    flagged = [f for f in findings if f.flagged]
    assert [f.partner_id for f in flagged] == [partner.id] and flagged[0].decision is None
    assert flagged[0].flag_reasons == [m.AuditFindingFlagReasonsType0Item.PUSH_BACK]
    decided = call(decide_finding, 201, client=manager, finding_id=flagged[0].id,
                   body=m.FindingDecisionIn(decision=m.FindingDecisionInDecision.WARNING, note="书面警告"))
    assert decided.decision.decision == m.AuditDecisionDecision.WARNING and decided.decision.note == "书面警告"
    own = call(list_audit_findings, 200, client=admin, run_id=run.id).items
    assert [(f.id, f.decision.decision) for f in own] == [(flagged[0].id, m.AuditDecisionDecision.WARNING)]
    assert call(list_audits, 403, client=admin).error.code == m.ErrorDetailCode.FORBIDDEN
