"""The audit endpoints of /api/v1: run the audit, read findings (HQ all, a partner its own),
decide on a flagged finding once."""
from partnernet.audit.models import AuditDecision
from partnernet.extensions import db
from partnernet.network.models import Party
from tests import factories
from tests.test_api import as_user, assert_error, count  # noqa: F401  (fixture)
from tests.test_audit import WEEK, offer_history

PERIOD = {"period_start": WEEK[0].isoformat(), "period_end": WEEK[1].isoformat()}


def test_a_channel_manager_runs_the_audit_and_a_partner_sees_only_its_own_finding(app, as_user):
    pusher, steady = factories.partner(), factories.partner()
    offer_history(pusher, offered=40, declined=30)
    offer_history(steady, offered=40)
    assert_error(as_user(factories.user("hq_agent")).post("/api/v1/audits", json=PERIOD), 403, "forbidden")
    response = as_user(factories.user("hq_manager")).post("/api/v1/audits", json={**PERIOD, "threshold": 0.25})
    assert response.status_code == 201, response.get_json()
    run = response.get_json()
    assert (run["partners"], run["flagged"], run["threshold"], run["triggered_by"]) == (2, 1, 0.25, "api")

    findings = as_user(factories.user("hq_agent")).get(f"/api/v1/audits/{run['id']}/findings").get_json()["items"]
    assert [(f["partner_id"], f["flagged"]) for f in findings] == [(pusher.id, True), (steady.id, False)]
    assert findings[0]["declined"] == 30 and findings[0]["flag_reasons"] == ["push_back"]

    own = as_user(factories.user("partner_admin", party=steady)).get(f"/api/v1/audits/{run['id']}/findings")
    assert [f["partner_id"] for f in own.get_json()["items"]] == [steady.id]
    outsider = as_user(factories.user("partner_admin", party=factories.partner()))
    assert_error(outsider.get(f"/api/v1/audits/{run['id']}/findings"), 404, "not_found")


def test_an_unfinished_period_is_a_422(app, as_user):
    response = as_user(factories.user("hq_admin")).post("/api/v1/audits", json={
        "period_start": "2026-11-01", "period_end": "2099-01-01", "threshold": 1.5})
    assert_error(response, 422, "validation_failed", {"threshold"})
    response = as_user(factories.user("hq_admin")).post("/api/v1/audits", json={
        "period_start": "2026-11-01", "period_end": "2099-01-01"})
    assert_error(response, 422, "validation_failed", {"period_end"})


def test_a_decision_is_recorded_once_and_probation_changes_the_partner(app, as_user):
    pusher = factories.partner()
    offer_history(pusher, offered=40, declined=30)
    manager = as_user(factories.user("hq_manager"))
    run = manager.post("/api/v1/audits", json=PERIOD).get_json()
    finding = manager.get(f"/api/v1/audits/{run['id']}/findings").get_json()["items"][0]
    path = f"/api/v1/findings/{finding['id']}/decision"
    assert_error(as_user(factories.user("partner_admin", party=pusher)).post(
        path, json={"decision": "dismiss", "note": "x"}), 403, "forbidden")
    assert_error(manager.post(path, json={"decision": "probation", "note": " "}), 422, "validation_failed", {"note"})
    decided = manager.post(path, json={"decision": "probation", "note": "拒单率过高，观察一个月"})
    assert decided.status_code == 201, decided.get_json()
    assert decided.get_json()["decision"]["decision"] == "probation"
    assert db.session.get(Party, pusher.id).status == "probation"
    assert_error(manager.post(path, json={"decision": "warning", "note": "again"}), 409, "conflict")
    assert count(AuditDecision) == 1
