"""Authorization matrix: every URL rule the app registers, for every role, on the caller's own
party's objects and on another party's, against the expected table below.

Outcome classes (see `classify`):
  ok     any 2xx/3xx except a redirect to the sign-in page; for a write (POST/PATCH/DELETE) also
         400/409/422: the request reached the rule and was refused on its content, which proves
         authorization passed
  login  anonymous UI request: 302 to /login
  401    anonymous (or badly authenticated) API request
  403    the role may not do this at all
  404    the object is outside the caller's scope (docs/design.md: never reveal it exists)

A rule without an entry in EXPECTED fails the test, naming the rule. Only `static` is skipped.
The OpenAPI JSON and the API reference page are public by design and are in the table as "ok"
for everyone.

Each role gets its own test, hence its own fresh database and world: an HQ user's successful
write cannot change what the next role sees. Within one role the reads run first, then the
writes; every write on a ticket gets freshly made tickets so an earlier accept/decline/return
cannot hide the next one's ticket; the caller's own sign-out runs last.
"""
import io
import os
import secrets
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from partnernet.auth.tokens import issue_token
from partnernet.audit.models import AuditFinding, AuditRun
from partnernet.extensions import db
from partnernet.timeclock import now_utc, today_in_china
from tests import factories as f

ROLES = ("anonymous", "hq_admin", "hq_manager", "hq_agent", "partner_admin", "engineer")
HQ = ("hq_admin", "hq_manager", "hq_agent")

OK, LOGIN, E401, E403, E404 = "ok", "login", "401", "403", "404"

# --------------------------------------------------------------------------------------------
# Expected table helpers. Each role's cell is either one class for both scopes or (own, other).


def _cells(anon, hq_admin, hq_manager, hq_agent, partner_admin, engineer):
    def pair(value):
        return value if isinstance(value, tuple) else (value, value)
    return {"anonymous": pair(anon), "hq_admin": pair(hq_admin), "hq_manager": pair(hq_manager),
            "hq_agent": pair(hq_agent), "partner_admin": pair(partner_admin), "engineer": pair(engineer)}


def ui(hq_admin, hq_manager, hq_agent, partner_admin, engineer):
    """A signed-in page: anonymous is sent to the sign-in page."""
    return _cells(LOGIN, hq_admin, hq_manager, hq_agent, partner_admin, engineer)


def api(hq_admin, hq_manager, hq_agent, partner_admin, engineer):
    """A bearer-token endpoint: anonymous gets 401."""
    return _cells(E401, hq_admin, hq_manager, hq_agent, partner_admin, engineer)


def public():
    return _cells(OK, OK, OK, OK, OK, OK)


def ui_any():            # any signed-in user, nothing scoped
    return ui(OK, OK, OK, OK, OK)


def ui_hq():             # HQ pages (all three HQ roles)
    return ui(OK, OK, OK, E403, E403)


def ui_manager():        # hq_admin and hq_manager only
    return ui(OK, OK, E403, E403, E403)


def ui_admin():          # hq_admin only (settings, users)
    return ui(OK, E403, E403, E403, E403)


def api_any():
    return api(OK, OK, OK, OK, OK)


def api_hq():
    return api(OK, OK, OK, E403, E403)


def api_manager():
    return api(OK, OK, E403, E403, E403)


OWN_ONLY = (OK, E404)     # a partner user on its own object vs another party's

# --------------------------------------------------------------------------------------------
# The expected table: (endpoint, method) -> {role: (own, other)}. Every endpoint by name.

EXPECTED = {
    # --- JSON API (bearer token; anonymous is 401). Public by design: the OpenAPI document and
    # the reference page that renders it.
    ("api-docs.openapi_json", "GET"): public(),
    ("api_docs.reference", "GET"): public(),
    ("api_v1.accept_offer", "POST"): api(E403, E403, E403, OWN_ONLY, E403),
    ("api_v1.add_coverage", "POST"): api_manager(),
    ("api_v1.add_engineer", "POST"): api(OK, OK, E403, OWN_ONLY, (E403, E404)),
    ("api_v1.change_partner_status", "POST"): api_manager(),
    ("api_v1.change_ticket_status", "POST"): api(OK, OK, OK, OWN_ONLY, OWN_ONLY),
    ("api_v1.create_contract", "POST"): api_hq(),
    ("api_v1.create_customer", "POST"): api_hq(),
    ("api_v1.record_service_payment", "POST"): api_manager(),
    ("api_v1.create_partner", "POST"): api_manager(),
    ("api_v1.decide_finding", "POST"): api_manager(),
    ("api_v1.decline_offer", "POST"): api(E403, E403, E403, OWN_ONLY, E403),
    ("api_v1.end_coverage", "DELETE"): api_manager(),
    ("api_v1.get_customer", "GET"): api_hq(),
    ("api_v1.get_engineer", "GET"): api(OK, OK, OK, OWN_ONLY, OWN_ONLY),
    ("api_v1.get_partner", "GET"): api(OK, OK, OK, OWN_ONLY, OWN_ONLY),
    ("api_v1.get_region", "GET"): api_any(),
    # A party's group robots: its own administrator's (a partner admin's partner, the HQ admin's HQ);
    # another party's robot is a 404 even to HQ's admin (each sets only its own party's).
    ("api_v1.list_channels", "GET"): api(OK, E403, E403, OK, E403),
    ("api_v1.create_channel", "POST"): api(OK, E403, E403, OK, E403),
    ("api_v1.update_channel", "PATCH"): api(OWN_ONLY, E403, E403, OWN_ONLY, E403),
    ("api_v1.delete_channel", "DELETE"): api(OWN_ONLY, E403, E403, OWN_ONLY, E403),
    ("api_v1.send_test_message", "POST"): api(OWN_ONLY, E403, E403, OWN_ONLY, E403),
    ("api_v1.get_email_preferences", "GET"): api_any(),
    ("api_v1.set_email_preferences", "PUT"): api_any(),
    ("channels.hq_channels", "GET"): ui_admin(),
    ("channels.new_channel", "GET"): ui(OK, E403, E403, OK, E403),
    ("channels.new_channel", "POST"): ui(OK, E403, E403, OK, E403),
    ("channels.edit_channel", "GET"): ui(OWN_ONLY, E403, E403, OWN_ONLY, E403),
    ("channels.edit_channel", "POST"): ui(OWN_ONLY, E403, E403, OWN_ONLY, E403),
    ("channels.set_enabled", "POST"): ui(OWN_ONLY, E403, E403, OWN_ONLY, E403),
    ("channels.delete_channel", "POST"): ui(OWN_ONLY, E403, E403, OWN_ONLY, E403),
    ("channels.send_test", "POST"): ui(OWN_ONLY, E403, E403, OWN_ONLY, E403),
    ("notifications.email_preferences", "POST"): ui_any(),
    ("api_v1.get_ticket", "GET"): api(OK, OK, OK, OWN_ONLY, OWN_ONLY),
    ("api_v1.issue_confirmation_link", "POST"): api(OK, OK, OK, OWN_ONLY, OWN_ONLY),
    ("api_v1.ticket_feedback", "GET"): api(OK, OK, OK, OWN_ONLY, OWN_ONLY),
    ("api_v1.callback_queue", "GET"): api_hq(),
    ("api_v1.record_callback", "POST"): api_hq(),
    ("api_v1.open_ticket", "POST"): api_hq(),
    # HQ sees a partner's ticket but does not hold it: only its holder escalates (409).
    ("api_v1.preview_escalation", "GET"): api("409", "409", "409", OWN_ONLY, OWN_ONLY),
    ("api_v1.escalate_ticket", "POST"): api(OK, OK, OK, OWN_ONLY, OWN_ONLY),
    ("api_v1.list_certifications", "GET"): api(OK, OK, OK, OWN_ONLY, OWN_ONLY),
    ("api_v1.list_coverage", "GET"): api(OK, OK, OK, OWN_ONLY, OWN_ONLY),
    ("api_v1.list_customers", "GET"): api_hq(),
    ("api_v1.list_engineers", "GET"): api(OK, OK, OK, OWN_ONLY, E403),
    # One audit run holds both parties' findings, so "own" and "other" are the same run here; an
    # engineer sees no audit data at all (scope.py: AuditFinding is outside an engineer's scope).
    ("api_v1.list_audit_findings", "GET"): api(OK, OK, OK, OK, E404),
    ("api_v1.list_audits", "GET"): api_hq(),
    ("api_v1.list_scorecards", "GET"): api_hq(),
    # A partner's scorecard: HQ any, the partner's administrators their own; engineers none.
    ("api_v1.partner_scorecards", "GET"): api(OK, OK, OK, OWN_ONLY, E404),
    ("api_v1.sla_results", "GET"): api(OK, OK, OK, OK, E403),
    ("api_v1.partner_settlement", "GET"): api(OK, OK, OK, OWN_ONLY, E403),
    ("api_v1.get_audit", "GET"): api_hq(),
    ("api_v1.list_contracts", "GET"): api_hq(),
    ("api_v1.get_me", "GET"): api_any(),
    ("api_v1.list_partners", "GET"): api_any(),
    ("api_v1.list_product_lines", "GET"): api_any(),
    ("api_v1.list_regions", "GET"): api_any(),
    ("api_v1.list_tickets", "GET"): api_any(),
    ("api_v1.offer_ticket", "POST"): api_hq(),
    ("api_v1.reassign_engineer", "POST"): api(OK, OK, OK, OWN_ONLY, (E403, E404)),
    ("api_v1.reroute_ticket", "POST"): api_hq(),
    ("api_v1.return_to_hq", "POST"): api(E403, E403, E403, OWN_ONLY, E403),
    ("api_v1.review_certification", "POST"): api_manager(),
    ("api_v1.list_pending_certifications", "GET"): api_manager(),
    ("api_v1.revoke_certification", "POST"): api_manager(),
    ("api_v1.run_audit", "POST"): api_manager(),
    ("api_v1.submit_certification", "POST"): api(OK, OK, E403, OWN_ONLY, OWN_ONLY),
    ("api_v1.take_ticket", "POST"): api_hq(),
    ("api_v1.update_partner", "PATCH"): api_manager(),
    # Field work: HQ and the party holding the ticket; visits are the holder's (HQ's when HQ holds it),
    # so HQ's plan on a partner's ticket is refused on its state (409: "ok" here).
    ("api_v1.list_attachments", "GET"): api(OK, OK, OK, OWN_ONLY, OWN_ONLY),
    ("api_v1.upload_attachment", "POST"): api(OK, OK, OK, OWN_ONLY, OWN_ONLY),
    ("api_v1.download_attachment", "GET"): api(OK, OK, OK, OWN_ONLY, OWN_ONLY),
    ("api_v1.attachment_thumbnail", "GET"): api(OK, OK, OK, OWN_ONLY, OWN_ONLY),
    ("api_v1.list_visits", "GET"): api(OK, OK, OK, OWN_ONLY, OWN_ONLY),
    ("api_v1.plan_visit", "POST"): api(OK, OK, OK, OWN_ONLY, OWN_ONLY),
    ("api_v1.check_in", "POST"): api(OK, OK, OK, OWN_ONLY, OWN_ONLY),
    ("api_v1.check_out", "POST"): api(OK, OK, OK, OWN_ONLY, OWN_ONLY),
    ("api_v1.get_service_report", "GET"): api(OK, OK, OK, OWN_ONLY, OWN_ONLY),
    ("api_v1.get_service_report_pdf", "GET"): api(OK, OK, OK, OWN_ONLY, OWN_ONLY),
    # The delivery log of cards to group robots: hq_admin every party's, a partner_admin its own.
    ("api_v1.list_deliveries", "GET"): api(OK, E403, E403, OK, E403),
    ("api_v1.retry_delivery", "POST"): api(OK, E403, E403, OWN_ONLY, E403),

    # --- UI pages ---
    ("audit.decide", "POST"): ui_manager(),
    ("audit.export", "GET"): ui_hq(),
    ("audit.finding", "GET"): ui(OK, OK, OK, OWN_ONLY, E404),
    ("audit.our_findings", "GET"): ui(E403, E403, E403, OK, E403),
    ("audit.respond", "POST"): ui(E403, E403, E403, OWN_ONLY, E404),
    ("audit.runs", "GET"): ui_hq(),
    ("audit.run", "GET"): ui_hq(),
    ("audit.start_run", "POST"): ui_manager(),
    ("scorecards.ranking", "GET"): ui_hq(),
    ("scorecards.partner", "GET"): ui(OK, OK, OK, OWN_ONLY, E404),
    ("reports.tickets", "GET"): ui_any(),
    ("reports.sla", "GET"): ui(OK, OK, OK, OK, E403),
    ("reports.sla_file", "GET"): ui(OK, OK, OK, OK, E403),
    ("reports.settlement_start", "GET"): ui(OK, OK, OK, OK, E403),
    ("reports.settlement", "GET"): ui(OK, OK, OK, OWN_ONLY, E403),
    ("reports.settlement_file", "GET"): ui(OK, OK, OK, OWN_ONLY, E403),
    # Monthly reports: HQ any (and a month's ZIP), a partner's administrators their own; engineers none.
    ("reports.monthly_reports", "GET"): ui(OK, OK, OK, OK, E403),
    ("reports.monthly_report", "GET"): ui(OK, OK, OK, OWN_ONLY, E403),
    ("reports.monthly_report_pdf", "GET"): ui(OK, OK, OK, OWN_ONLY, E403),
    ("reports.monthly_archive", "GET"): ui(OK, OK, OK, E403, E403),
    ("auth.login", "GET"): public(),
    ("auth.login", "POST"): public(),
    # Signing out ends on the sign-in page for everybody, so "login" is the success here too.
    ("auth.logout", "POST"): ui(LOGIN, LOGIN, LOGIN, LOGIN, LOGIN),
    ("auth.password", "GET"): ui_any(),
    ("auth.password", "POST"): ui_any(),
    ("auth.set_language", "POST"): public(),
    ("customers.search_json", "GET"): ui_hq(),
    ("customers.index", "GET"): ui_hq(),
    ("customers.export", "GET"): ui_hq(),
    ("customers.new", "GET"): ui_hq(),
    ("customers.new", "POST"): ui_hq(),
    ("customers.detail", "GET"): ui_hq(),
    ("customers.edit", "GET"): ui_hq(),
    ("customers.edit", "POST"): ui_hq(),
    ("customers.edit_contract", "GET"): ui_hq(),
    ("customers.edit_contract", "POST"): ui_hq(),
    ("customers.add_contract", "POST"): ui_hq(),
    ("customers.record_service_payment", "POST"): ui_manager(),
    ("network.partners_json", "GET"): ui_hq(),
    ("home.engineer", "GET"): ui(E403, E403, E403, E403, OK),
    ("fieldwork.upload", "POST"): ui(OK, OK, OK, OWN_ONLY, OWN_ONLY),
    ("fieldwork.attachment_file", "GET"): ui(OK, OK, OK, OWN_ONLY, OWN_ONLY),
    ("fieldwork.thumbnail", "GET"): ui(OK, OK, OK, OWN_ONLY, OWN_ONLY),
    ("fieldwork.plan_visit", "POST"): ui(OK, OK, OK, OWN_ONLY, OWN_ONLY),
    ("fieldwork.check_in", "POST"): ui(OK, OK, OK, OWN_ONLY, OWN_ONLY),
    ("fieldwork.check_out", "POST"): ui(OK, OK, OK, OWN_ONLY, OWN_ONLY),
    ("fieldwork.report", "GET"): ui(OK, OK, OK, OWN_ONLY, OWN_ONLY),
    ("fieldwork.report_pdf", "GET"): ui(OK, OK, OK, OWN_ONLY, OWN_ONLY),
    ("home.hq", "GET"): ui_hq(),
    ("home.index", "GET"): ui_any(),
    ("home.partner", "GET"): ui(E403, E403, E403, OK, E403),
    ("network.add_coverage", "POST"): ui_manager(),
    ("network.certification_scan", "GET"): ui(OK, OK, OK, OWN_ONLY, OWN_ONLY),
    ("network.certifications_list", "GET"): ui_hq(),
    ("network.change_status", "POST"): ui_manager(),
    ("network.coverage_by_region", "GET"): ui_hq(),
    ("network.create_engineer_login", "POST"): ui(OK, OK, E403, OWN_ONLY, (E403, E404)),
    ("network.edit_engineer", "GET"): ui(OK, OK, E403, OWN_ONLY, (E403, E404)),
    ("network.edit_engineer", "POST"): ui(OK, OK, E403, OWN_ONLY, (E403, E404)),
    ("network.edit_partner", "GET"): ui_manager(),
    ("network.edit_partner", "POST"): ui_manager(),
    ("network.end_coverage", "POST"): ui_manager(),
    ("network.engineer", "GET"): ui(OK, OK, OK, OWN_ONLY, OWN_ONLY),
    ("network.new_engineer", "GET"): ui(OK, OK, E403, OWN_ONLY, (E403, E404)),
    ("network.new_engineer", "POST"): ui(OK, OK, E403, OWN_ONLY, (E403, E404)),
    ("network.new_partner", "GET"): ui_manager(),
    ("network.new_partner", "POST"): ui_manager(),
    ("network.partners", "GET"): ui_hq(),
    ("network.partner", "GET"): ui(OK, OK, OK, OWN_ONLY, OWN_ONLY),
    ("network.review_certification", "POST"): ui_manager(),
    ("network.revoke_certification", "POST"): ui_manager(),
    ("network.review_queue", "GET"): ui_manager(),
    ("network.approve_certifications", "POST"): ui_manager(),
    ("network.submit_certification", "POST"): ui(OK, OK, E403, OWN_ONLY, OWN_ONLY),
    ("notifications.index", "GET"): ui_any(),
    ("notifications.mark_read", "POST"): ui_any(),
    ("notifications.deliveries", "GET"): ui(OK, E403, E403, OK, E403),
    ("notifications.retry_delivery", "POST"): ui(OK, E403, E403, OWN_ONLY, E403),
    ("profile.create_token", "POST"): ui_any(),
    ("profile.index", "GET"): ui_any(),
    ("profile.revoke_token", "POST"): ui(OWN_ONLY, OWN_ONLY, OWN_ONLY, OWN_ONLY, OWN_ONLY),
    ("regions.detail", "GET"): ui_any(),
    ("regions.index", "GET"): ui_any(),
    ("regions.search_json", "GET"): ui_any(),
    ("settings.calendar_page", "GET"): ui_admin(),
    ("settings.changes_log", "GET"): ui_admin(),
    ("settings.general", "GET"): ui_admin(),
    ("users.index", "GET"): ui_admin(),
    ("users.new", "GET"): ui_admin(),
    ("users.new", "POST"): ui_admin(),
    ("users.edit", "GET"): ui_admin(),
    ("users.edit", "POST"): ui_admin(),
    ("users.new_password", "POST"): ui_admin(),
    ("settings.general", "POST"): ui_admin(),
    ("settings.import_calendar", "POST"): ui_admin(),
    ("settings.set_calendar_day", "POST"): ui_admin(),
    ("settings.sla_policies", "GET"): ui_admin(),
    ("settings.sla_policies", "POST"): ui_admin(),
    # The customer's confirmation page: no sign-in; a token not issued for the ticket is a 404 for all.
    ("feedback.confirm", "GET"): _cells(E404, E404, E404, E404, E404, E404),
    ("feedback.confirm", "POST"): _cells(E404, E404, E404, E404, E404, E404),
    ("feedback.issue_link", "POST"): ui(OK, OK, OK, OWN_ONLY, OWN_ONLY),
    ("feedback.callbacks", "GET"): ui_hq(),
    ("feedback.record_callback", "GET"): ui_hq(),
    ("feedback.record_callback", "POST"): ui_hq(),
    ("tickets.accept", "POST"): ui(E403, E403, E403, OWN_ONLY, E403),
    ("tickets.change_status", "POST"): ui(OK, OK, OK, OWN_ONLY, OWN_ONLY),
    ("tickets.escalate", "POST"): ui(OK, OK, OK, OWN_ONLY, OWN_ONLY),
    ("tickets.decline", "POST"): ui(E403, E403, E403, OWN_ONLY, E403),
    ("tickets.detail", "GET"): ui(OK, OK, OK, OWN_ONLY, OWN_ONLY),
    ("tickets.index", "GET"): ui_any(),
    ("tickets.new", "GET"): ui_hq(),
    ("tickets.new", "POST"): ui_hq(),
    ("tickets.offer_by_hand", "POST"): ui_hq(),
    ("tickets.queue", "GET"): ui_hq(),
    ("tickets.reassign", "POST"): ui(OK, OK, OK, OWN_ONLY, (E403, E404)),
    ("tickets.reroute", "POST"): ui_hq(),
    ("tickets.return_to_hq", "POST"): ui(E403, E403, E403, OWN_ONLY, E403),
    ("tickets.take", "POST"): ui_hq(),
    ("transfer.confirm", "POST"): ui_manager(),
    ("transfer.export", "GET"): ui_manager(),
    ("transfer.history", "GET"): ui_manager(),
    ("transfer.import_record", "GET"): ui_manager(),
    ("transfer.import_page", "GET"): ui_manager(),
    ("transfer.preview", "GET"): ui_manager(),
    ("transfer.template", "GET"): ui_manager(),
    ("transfer.upload", "POST"): ui_manager(),
}

# --------------------------------------------------------------------------------------------
# Product bugs this matrix found: (endpoint, method, role, scope) -> what actually happens.
# The table above holds the CORRECT expectation; these cells are tolerated so that the suite
# stays green while the gap stays visible. Remove an entry once the bug is fixed (an entry that
# no longer mismatches fails the test, so the list cannot go stale).
KNOWN_BUGS = {}  # none at the moment; an entry pins a wrong answer while it is being fixed


# --------------------------------------------------------------------------------------------
# The world.

NOW = now_utc()


class World:
    pass


def build_world(app):
    w = World()
    w.hq = f.hq()
    w.a = f.partner(name="甲伙伴")
    w.b = f.partner(name="乙伙伴")
    w.cov_a = f.coverage(w.a, region_code="330106", tiers=["L1", "L2", "L3"])
    w.cov_b = f.coverage(w.b, region_code="330203", tiers=["L1", "L2", "L3"])
    w.eng_a = f.engineer(w.a)
    w.eng_b = f.engineer(w.b)
    from partnernet.network import certifications
    os.makedirs(certifications.scan_directory(), exist_ok=True)
    w.scan_files = []
    for name in ("cert_a", "cert_b"):
        scan = f"matrix-{secrets.token_hex(8)}.pdf"
        with open(os.path.join(certifications.scan_directory(), scan), "wb") as handle:
            handle.write(b"%PDF-1.4 matrix")
        w.scan_files.append(os.path.join(certifications.scan_directory(), scan))
        setattr(w, name, f.certification(w.eng_a if name == "cert_a" else w.eng_b, scan_path=scan,
                                         scan_filename="scan.pdf", scan_content_type="application/pdf"))
    w.cust_a = f.customer(sold_by=w.a, region_code="330106")
    w.cust_b = f.customer(sold_by=w.b, region_code="330203")
    w.con_a = f.contract(w.cust_a)
    w.con_b = f.contract(w.cust_b)
    w.users = {
        "hq_admin": f.user("hq_admin"),
        "hq_manager": f.user("hq_manager"),
        "hq_agent": f.user("hq_agent"),
        "partner_admin": f.user("partner_admin", party=w.a),
        "engineer": f.user("engineer", engineer_=w.eng_a),
    }
    w.admin_b = f.user("partner_admin", party=w.b)
    w.eng_b_user = f.user("engineer", engineer_=w.eng_b)
    w.tokens, w.spare_token_ids = {}, {}
    for role, user in w.users.items():
        w.tokens[role] = issue_token(user, "matrix", NOW)[1]
        w.spare_token_ids[role] = issue_token(user, "spare", NOW)[0].id  # "own" token to revoke
    w.other_token_id = issue_token(w.admin_b, "theirs", NOW)[0].id
    w.run = f.save(AuditRun(period_start=today_in_china() - timedelta(days=30), period_end=today_in_china(),
                            threshold=Decimal("0.5"), min_offers=1, sold_not_served_threshold=Decimal("0.5"),
                            triggered_by="ui", created_by_id=w.users["hq_admin"].id))
    w.finding_a = f.save(AuditFinding(run_id=w.run.id, party_id=w.a.id, offered=4, accepted=1, declined=3,
                                      flagged=True, flag_reasons=["push_back"]))
    w.finding_b = f.save(AuditFinding(run_id=w.run.id, party_id=w.b.id, offered=4, accepted=1, declined=3,
                                      flagged=True, flag_reasons=["push_back"]))
    from partnernet.network.transfer_views import store_upload
    w.upload_token = store_upload("name,kind\n".encode("utf-8"), "csv")
    from partnernet.network.models import ImportRecord
    w.import_record = f.save(ImportRecord(at=NOW, kind="partners", filename="matrix.csv", created=0, updated=0))
    w.spare_user = f.user("hq_agent")  # the user an hq_admin's user pages act on
    w.ticket_a, w.ticket_b = fresh_tickets(w)
    field_work(w)
    w.card_a, w.card_b = (failed_card(party, key) for party, key in ((w.a, "matrix-a-key"), (w.b, "matrix-b-key")))
    w.report_a, w.report_b = (monthly_report(party) for party in (w.a, w.b))
    return w


def monthly_report(party):
    """Last month's report of the party, its figures as made (the PDF's bytes a stand-in)."""
    from partnernet.reports.models import MonthlyReport
    from partnernet.reports.partner_month import partner_month
    from partnernet.scorecards.service import add_months, month_of
    month = add_months(month_of(today_in_china()), -1)
    return f.save(MonthlyReport(party_id=party.id, month=month, made_at=NOW, figures=partner_month(party, month, NOW),
                                pdf=b"%PDF-1.4 matrix", pdf_size=15)).id


def failed_card(party, key):
    """A card to the party's group robot that failed: the delivery log's row, to retry."""
    from partnernet.notifications.models import ChannelMessage, NotificationChannel
    channel = f.save(NotificationChannel(party_id=party.id, provider="wecom", name="矩阵群",
                                         webhook_url=f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={key}"))
    return f.save(ChannelMessage(channel_id=channel.id, kind="test", dedup_key="test:matrix", title="矩阵",
                                 status="failed", attempts=5, last_error="93000 invalid webhook url")).id


def field_work(w):
    """A photo and a visit on A's ticket and on B's, each made by the holder."""
    from partnernet.fieldwork import attachments, visits
    from partnernet.tickets.models import Ticket
    from tests.test_fieldwork import png
    w.attachment_files = []
    for name, ticket_id, party, engineer in (("a", w.ticket_a, w.a, w.eng_a), ("b", w.ticket_b, w.b, w.eng_b)):
        f.certification(engineer)
        ticket, admin = db.session.get(Ticket, ticket_id), w.admin_b if name == "b" else w.users["partner_admin"]
        attachment = attachments.attach(ticket, admin, attachments.Upload("photo.png", png(64, 48)), NOW)
        w.attachment_files += [attachments.stored_path(attachment.stored_name),
                               attachments.stored_path(attachment.thumbnail_name)]
        setattr(w, f"attachment_{name}", attachment.id)
        setattr(w, f"visit_{name}", visits.plan(ticket, admin, engineer.id, NOW + timedelta(hours=1),
                                                 NOW + timedelta(hours=3), NOW).id)


def fresh_tickets(w):
    """A's ticket: offered to and accepted by A, with A's engineer; B's likewise for B."""
    def one(party, customer, engineer):
        return f.ticket(customer, status="accepted", owner_party_id=party.id, offered_party_id=party.id,
                        engineer_id=engineer.id, tier="L1").id
    return one(w.a, w.cust_a, w.eng_a), one(w.b, w.cust_b, w.eng_b)


def group_robot(party) -> int:
    from partnernet.notifications.models import NotificationChannel
    channel = NotificationChannel(party_id=party.id, provider="wecom", name="矩阵",
                                  webhook_url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key="
                                  + secrets.token_hex(16), created_at=NOW, updated_at=NOW)
    db.session.add(channel)
    db.session.commit()
    return channel.id


def url_values(w, rule, role, scope):
    """The URL variables of `rule` for the caller's own objects or another party's."""
    own = scope == "own"
    values = {}
    for name in rule.arguments:
        if name == "party_id" or name == "partner_id":
            values[name] = (w.a if own else w.b).id
        elif name == "ticket_id":
            values[name] = w.ticket_a if own else w.ticket_b
        elif name == "engineer_id":
            values[name] = (w.eng_a if own else w.eng_b).id
        elif name == "certification_id":
            values[name] = (w.cert_a if own else w.cert_b).id
        elif name == "coverage_id":
            values[name] = (w.cov_a if own else w.cov_b).id
        elif name == "customer_id":
            values[name] = (w.cust_a if own else w.cust_b).id
        elif name == "contract_id":
            values[name] = (w.con_a if own else w.con_b).id
        elif name == "run_id":
            values[name] = w.run.id
        elif name == "attachment_id":
            values[name] = w.attachment_a if own else w.attachment_b
        elif name == "visit_id":
            values[name] = w.visit_a if own else w.visit_b
        elif name == "message_id":
            values[name] = w.card_a if own else w.card_b
        elif name == "report_id":
            values[name] = w.report_a if own else w.report_b
        elif name == "finding_id":
            values[name] = (w.finding_a if own else w.finding_b).id
        elif name == "channel_id":  # a fresh one each time: a deletion hides nothing from the next request
            values[name] = group_robot(w.hq if own and role in HQ else w.a if own else w.b)
        elif name == "code":
            values[name] = "330106" if own else "330203"
        elif name == "token_id":
            values[name] = w.spare_token_ids.get(role, w.other_token_id) if own else w.other_token_id
        elif name == "token":
            values[name] = w.upload_token
        elif name == "import_id":
            values[name] = w.import_record.id
        elif name == "user_id":
            values[name] = w.spare_user.id
        elif name in ("kind", "table"):
            values[name] = "partners"
        elif name == "format":
            values[name] = "csv"
        elif name == "filename":
            values[name] = "x"
        else:
            raise AssertionError(f"{rule.endpoint}: no world value for URL variable {name!r}; "
                                 "teach url_values() about it")
    return values


def api_body(w, endpoint, scope):
    """A minimal VALID body, so that the request gets past schema validation to the authorization
    checks (with `{}` every write answers 422 before any role or scope check, which would prove
    nothing)."""
    own = scope == "own"
    eng = (w.eng_a if own else w.eng_b).id
    party = (w.a if own else w.b).id
    today = today_in_china().isoformat()
    later = (today_in_china() + timedelta(days=365)).isoformat()
    bodies = {
        "api_v1.run_audit": {"period_start": (today_in_china() - timedelta(days=7)).isoformat(), "period_end": today},
        "api_v1.decide_finding": {"decision": "warning", "note": "matrix"},
        "api_v1.create_customer": {"name": "矩阵客户", "region_code": "330106"},
        "api_v1.create_contract": {"product_lines": ["workflow"], "value": "1000.00", "starts_on": today},
        "api_v1.record_service_payment": {"paid_until": (today_in_china() + timedelta(days=800)).isoformat()},
        "api_v1.create_partner": {"name": "矩阵伙伴", "kind": "agent", "tiers": ["L1"], "province_code": "330000"},
        "api_v1.update_partner": {"name": "甲伙伴" if own else "乙伙伴", "kind": "agent", "tiers": ["L1", "L2"],
                                  "province_code": "330000"},
        "api_v1.change_partner_status": {"status": "active", "reason": "matrix"},
        "api_v1.add_coverage": {"region_code": "330102", "tiers": ["L1"]},
        "api_v1.add_engineer": {"name": "矩阵工程师"},
        "api_v1.submit_certification": {"product_line": "workflow", "level": "associate", "number": f"M-{scope}",
                                        "issued_on": today, "expires_on": later},
        "api_v1.review_certification": {"decision": "approve"},
        "api_v1.revoke_certification": {"reason": "matrix"},
        "api_v1.open_ticket": {"customer_id": (w.cust_a if own else w.cust_b).id, "product_line": "workflow",
                          "complexity": "simple", "subject": "矩阵"},
        "api_v1.accept_offer": {"engineer_id": eng},
        "api_v1.reassign_engineer": {"engineer_id": eng},
        "api_v1.decline_offer": {"reason_code": "no_capacity", "note": "matrix"},
        "api_v1.return_to_hq": {"reason_code": "beyond_our_skills", "note": "matrix"},
        "api_v1.change_ticket_status": {"status": "in_progress"},
        "api_v1.escalate_ticket": {"tier": "L2", "reason": "matrix"},
        "api_v1.offer_ticket": {"partner_id": party},
        "api_v1.take_ticket": {},
        "api_v1.reroute_ticket": {},
        "api_v1.plan_visit": {"planned_start": (NOW + timedelta(hours=1)).isoformat(),
                              "planned_end": (NOW + timedelta(hours=2)).isoformat()},
        "api_v1.check_out": {"work_done": "matrix"},
        "api_v1.record_callback": {"solved": True, "rating": 4},
        "api_v1.create_channel": {"provider": "wecom", "webhook_url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
                                  "?key=" + secrets.token_hex(16)},
        "api_v1.update_channel": {"enabled": True},
        "api_v1.set_email_preferences": {"by_email": ["offer"]},
    }
    return bodies.get(endpoint, {})


def is_api(endpoint):
    return endpoint.startswith(("api_v1.", "api_docs.", "api-docs."))


def classify(response, method):
    code = response.status_code
    if code in (301, 302, 303, 307, 308):
        location = response.headers.get("Location", "")
        path = location.split("?", 1)[0]
        return LOGIN if path.endswith("/login") else OK
    if 200 <= code < 300:
        return OK
    if method != "GET" and code in (400, 409, 422):
        return OK
    return str(code)


# Requests that change the caller's own session run after everything else, in this order.
LAST = [("profile.revoke_token", "POST"), ("auth.logout", "POST")]


def requests_for(app):
    rows = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            rows.append((rule, method))

    def order(row):
        rule, method = row
        key = (rule.endpoint, method)
        return (2 + LAST.index(key) if key in LAST else (0 if method == "GET" else 1), rule.rule, method)
    return sorted(rows, key=order)


@pytest.mark.parametrize("role", ROLES)
def test_authorization_matrix(app, role, login_as, tmp_path):
    app.instance_path = str(tmp_path)  # the files the writes upload (attachments) go with the test
    w = build_world(app)
    rows = requests_for(app)
    missing = sorted({f"{r.endpoint} {m} ({r.rule})" for r, m in rows if (r.endpoint, m) not in EXPECTED})

    ui_client = app.test_client()
    if role != "anonymous":
        ui_client = login_as(w.users[role])
    api_client = app.test_client()  # no session cookie: the API must stand on the token alone
    headers = {"Authorization": f"Bearer {w.tokens[role]}"} if role != "anonymous" else {}

    actual, mismatches, checked = {}, [], 0
    try:
        for rule, method in rows:
            for scope in ("own", "other"):
                if method != "GET" and "ticket_id" in rule.arguments:
                    w.ticket_a, w.ticket_b = fresh_tickets(w)
                url = app.url_map.bind("localhost").build(rule.endpoint, url_values(w, rule, role, scope),
                                                            method=method)
                if is_api(rule.endpoint):
                    kwargs = {"headers": headers}
                    if rule.endpoint == "api_v1.upload_attachment":  # a file, as multipart/form-data
                        from tests.test_fieldwork import png
                        kwargs.update(data={"file": (io.BytesIO(png(64, 48)), "photo.png")},
                                      content_type="multipart/form-data")
                    elif method != "GET":
                        kwargs["json"] = api_body(w, rule.endpoint, scope)
                    response = api_client.open(url, method=method, **kwargs)
                else:
                    response = ui_client.open(url, method=method, data={} if method != "GET" else None)
                db.session.rollback()
                got = classify(response, method)
                actual[(rule.endpoint, method, scope)] = (got, response.status_code) + (
                    (response.get_data(as_text=True)[:300],) if response.status_code >= 500 else ())
                response.close()  # a streamed download pops its request context now, not when collected
                checked += 1
                expected = EXPECTED.get((rule.endpoint, method), {}).get(role)
                if expected is None:
                    continue
                want = expected[0 if scope == "own" else 1]
                bug = KNOWN_BUGS.get((rule.endpoint, method, role, scope))
                if bug is not None:
                    if got == want:
                        mismatches.append(f"FIXED? {rule.endpoint} {method} {scope}: now {got}; "
                                          "remove it from KNOWN_BUGS")
                    elif got != bug:
                        mismatches.append(f"{rule.endpoint} {method} {scope}: expected {want} (known bug: "
                                          f"{bug}), got {got} [{response.status_code}] {url}")
                elif got != want:
                    mismatches.append(f"{rule.endpoint} {method} {scope}: expected {want}, got {got} "
                                      f"[{response.status_code}] {url}")
    finally:
        for path in [os.path.join(app.instance_path, "imports", w.upload_token)] + w.scan_files + w.attachment_files:
            if os.path.exists(path):
                os.remove(path)
        if os.environ.get("MATRIX_DUMP"):
            import json
            with open(os.environ["MATRIX_DUMP"] + f".{role}.json", "w") as out:
                json.dump({f"{e}|{m}|{s}": v for (e, m, s), v in actual.items()}, out, indent=0)

    problems = []
    if missing:
        problems.append("rules without an entry in EXPECTED:\n  " + "\n  ".join(missing))
    if mismatches:
        problems.append(f"{len(mismatches)} of {checked} checks for role {role} differ:\n  "
                        + "\n  ".join(mismatches))
    assert not problems, "\n".join(problems)
