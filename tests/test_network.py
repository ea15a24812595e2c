"""The partner network: lifecycle, coverage, engineers, the certification workflow, scope."""
import io
from datetime import date, datetime, timedelta, timezone

import pytest

from partnernet.errors import Conflict, InvalidTransition, ValidationFailed
from partnernet.extensions import db
from partnernet.network import certifications, service
from partnernet.network.models import Certification, Coverage, Engineer, Party, PartyEvent
from partnernet.timeclock import now_utc, today_in_china
from tests import factories

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)
TODAY = date(2026, 11, 25)


# --- lifecycle -----------------------------------------------------------------------------

def test_status_change_along_an_allowed_transition_is_recorded_with_actor_and_reason(app):
    partner = factories.partner(status="active")
    manager = factories.user("hq_manager")
    service.change_status(partner, "probation", "三次拒单", manager.id, NOW)
    event = db.session.execute(db.select(PartyEvent).where(PartyEvent.party_id == partner.id)).scalar_one()
    assert (partner.status, event.from_status, event.to_status, event.reason, event.actor_user_id) == \
        ("probation", "active", "probation", "三次拒单", manager.id)


@pytest.mark.parametrize("start, target", [("onboarding", "probation"), ("terminated", "active"),
                                           ("suspended", "active"), ("active", "onboarding")])
def test_illegal_status_transition_is_refused_and_changes_nothing(app, start, target):
    partner = factories.partner(status=start)
    with pytest.raises(InvalidTransition):
        service.change_status(partner, target, "because", None, NOW)
    db.session.rollback()
    assert db.session.get(Party, partner.id).status == start
    assert db.session.execute(db.select(PartyEvent)).first() is None


def test_status_change_needs_a_reason(app):
    partner = factories.partner(status="active")
    with pytest.raises(ValidationFailed):
        service.change_status(partner, "suspended", "   ", None, NOW)
    assert db.session.get(Party, partner.id).status == "active"


def test_illegal_transition_in_the_ui_shows_a_message(client, login_as, app):
    partner = factories.partner(status="onboarding")
    login_as(factories.user("hq_manager"))
    response = client.post(f"/partners/{partner.id}/status", data={"status": "suspended", "reason": "x"})
    assert response.status_code == 422
    assert len(error_messages(response.get_data(as_text=True))) == 1
    assert db.session.get(Party, partner.id).status == "onboarding"


def test_hq_agent_may_not_change_partner_status(client, login_as, app):
    partner = factories.partner(status="active")
    login_as(factories.user("hq_agent"))
    assert client.post(f"/partners/{partner.id}/status", data={"status": "probation", "reason": "x"}).status_code == 403


def test_creating_a_partner_in_the_ui_starts_it_onboarding(client, login_as, app):
    login_as(factories.user("hq_manager"))
    response = client.post("/partners/new", data={
        "name": "杭州新星软件有限公司", "kind": "agent", "province_code": "330000", "capacity": 8,
        "tiers": ["L1", "L2"], "contact_email": "ops@xinxing.cn"})
    assert response.status_code == 302
    party = db.session.execute(db.select(Party).where(Party.name == "杭州新星软件有限公司")).scalar_one()
    assert party.status == "onboarding" and party.tiers == ["L1", "L2"]


def test_invalid_partner_form_shows_errors_and_saves_nothing(client, login_as, app):
    factories.partner(name="已有公司")
    login_as(factories.user("hq_manager"))
    response = client.post("/partners/new", data={
        "name": "已有公司", "kind": "agent", "province_code": "330100", "capacity": 8, "tiers": ["L1"],
        "contract_start": "2026-01-01", "contract_end": "2025-01-01"})
    assert response.status_code == 200
    assert db.session.execute(db.select(db.func.count(Party.id)).where(Party.name == "已有公司")).scalar() == 1


# --- coverage --------------------------------------------------------------------------------

def test_ending_coverage_keeps_its_history(app):
    partner = factories.partner(tiers=["L1", "L2"])
    coverage = service.add_coverage(partner, "330100", True, [], ["L1"], date(2025, 1, 1), None, None, NOW)
    service.end_coverage(coverage, None, NOW, TODAY)
    kept = db.session.get(Coverage, coverage.id)
    assert kept.effective_to == TODAY and not kept.is_effective(TODAY + timedelta(days=1))
    kinds = [e.kind for e in db.session.execute(db.select(PartyEvent).order_by(PartyEvent.id)).scalars()]
    assert kinds == ["coverage_added", "coverage_ended"]


def test_coverage_with_unknown_region_or_tier_not_offered_is_refused(app):
    partner = factories.partner(tiers=["L1"])
    with pytest.raises(ValidationFailed) as error:
        service.add_coverage(partner, "999999", True, [], ["L3"], date(2025, 1, 1), None, None, NOW)
    assert set(error.value.fields) == {"region_code", "tiers"}


def test_overlaps_with_other_partners_are_shown_not_forbidden(app):
    province_partner, county_partner = factories.partner(), factories.partner()
    province = factories.coverage(province_partner, "330000")
    county = factories.coverage(county_partner, "330106")
    factories.coverage(factories.partner(), "320000")  # another province: no overlap
    assert [c.id for c in service.overlapping_coverage(county, TODAY)] == [province.id]
    assert [c.id for c in service.overlapping_coverage(province, TODAY)] == [county.id]


def test_partner_page_shows_how_many_counties_a_coverage_reaches(client, login_as, app):
    partner = factories.partner()
    factories.coverage(partner, "330100")
    login_as(factories.user("hq_manager"))
    page = client.get(f"/partners/{partner.id}").get_data(as_text=True)
    assert ">13</td>" in page  # Hangzhou has 13 county-level divisions


def test_region_picker_finds_hangzhou_three_ways(client, login_as, app):
    login_as(factories.user("hq_manager"))
    for query in ("杭州", "Hangzhou", "3301"):
        assert client.get("/regions/search.json", query_string={"q": query}).json[0]["code"] == "330100"


# --- certified before serving ------------------------------------------------------------------

@pytest.fixture
def engineer(app):
    return factories.engineer(factories.partner())


def test_certified_through_the_expiry_day_and_not_after(app, engineer):
    cert = factories.certification(engineer, issued_on=date(2025, 10, 1), expires_on=date(2026, 10, 1))
    line = cert.product_line_id
    assert service.is_certified(engineer.id, line, date(2026, 10, 1))
    assert not service.is_certified(engineer.id, line, date(2026, 10, 2))
    assert not service.is_certified(engineer.id, line, date(2025, 9, 30))  # before issue
    assert not service.is_certified(engineer.id, factories.product_line("mobile").id, date(2026, 1, 1))


@pytest.mark.parametrize("status", ["pending", "rejected", "revoked", "expired"])
def test_only_a_valid_certification_counts(app, engineer, status):
    cert = factories.certification(engineer, status=status)
    assert not service.is_certified(engineer.id, cert.product_line_id, today_in_china())


def test_an_inactive_engineer_is_not_certified(app, engineer):
    cert = factories.certification(engineer)
    engineer.active = False
    db.session.commit()
    assert not service.is_certified(engineer.id, cert.product_line_id, today_in_china())


def test_submission_is_pending_until_approved(app, engineer):
    cert = certifications.submit(engineer, "workflow", "associate", "WF-1", date(2026, 1, 1), date(2028, 1, 1), NOW)
    assert cert.status == "pending" and not service.is_certified(engineer.id, cert.product_line_id, TODAY)
    reviewer = factories.user("hq_manager")
    certifications.review(cert, "approve", "", reviewer.id, NOW, TODAY)
    assert service.is_certified(engineer.id, cert.product_line_id, TODAY)
    assert cert.reviewed_by_id == reviewer.id


def test_an_expired_certificate_cannot_be_approved(app, engineer):
    cert = certifications.submit(engineer, "workflow", "associate", "WF-2", date(2024, 1, 1), date(2026, 11, 24), NOW)
    with pytest.raises(ValidationFailed):
        certifications.review(cert, "approve", "", None, NOW, TODAY)
    assert db.session.get(Certification, cert.id).status == "pending"


def test_rejecting_needs_a_reason_and_reviewing_twice_is_a_conflict(app, engineer):
    cert = certifications.submit(engineer, "workflow", "associate", "WF-3", date(2026, 1, 1), date(2028, 1, 1), NOW)
    with pytest.raises(ValidationFailed):
        certifications.review(cert, "reject", "", None, NOW, TODAY)
    certifications.review(cert, "reject", "证书编号无法核实", None, NOW, TODAY)
    with pytest.raises(Conflict):
        certifications.review(cert, "approve", "", None, NOW, TODAY)


def test_a_renewal_leaves_the_current_certificate_valid_until_approved(app, engineer):
    current = factories.certification(engineer, issued_on=date(2024, 12, 1), expires_on=date(2026, 12, 1))
    renewal = certifications.submit(engineer, "workflow", "expert", "WF-NEW", date(2026, 11, 20), date(2029, 11, 20), NOW)
    assert renewal.renews_id == current.id
    assert db.session.get(Certification, current.id).status == "valid"
    assert service.is_certified(engineer.id, current.product_line_id, TODAY)
    certifications.review(renewal, "approve", "", None, NOW, TODAY)
    assert service.is_certified(engineer.id, current.product_line_id, date(2027, 6, 1))


def test_certificate_number_is_unique_per_product_line(app, engineer):
    certifications.submit(engineer, "workflow", "associate", "N-1", date(2026, 1, 1), date(2028, 1, 1), NOW)
    with pytest.raises(ValidationFailed) as error:
        certifications.submit(engineer, "workflow", "associate", "N-1", date(2026, 1, 1), date(2028, 1, 1), NOW)
    assert "number" in error.value.fields
    certifications.submit(engineer, "mobile", "associate", "N-1", date(2026, 1, 1), date(2028, 1, 1), NOW)


def test_expiry_must_follow_issue(app, engineer):
    with pytest.raises(ValidationFailed) as error:
        certifications.submit(engineer, "workflow", "associate", "N-2", date(2026, 1, 1), date(2026, 1, 1), NOW)
    assert "expires_on" in error.value.fields


def test_scan_must_be_a_pdf_or_image(app, engineer):
    with pytest.raises(ValidationFailed):
        certifications.submit(engineer, "workflow", "associate", "N-3", date(2026, 1, 1), date(2028, 1, 1), NOW,
                              certifications.Scan("evil.pdf", b"<html><script>alert(1)</script>"))
    assert db.session.execute(db.select(Certification).where(Certification.number == "N-3")).first() is None


def test_scan_is_downloaded_as_an_attachment(client, login_as, app, engineer):
    cert = certifications.submit(engineer, "workflow", "associate", "N-4", date(2026, 1, 1), date(2028, 1, 1), NOW,
                                 certifications.Scan("证书.pdf", b"%PDF-1.4 fake"))
    login_as(factories.user("hq_manager"))
    response = client.get(f"/certifications/{cert.id}/scan")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment")


# --- who may do what -------------------------------------------------------------------------

def test_partner_admin_cannot_see_or_change_another_partners_engineers(client, login_as, app):
    own, other = factories.partner(), factories.partner()
    foreign = factories.engineer(other)
    cert = factories.certification(foreign)
    login_as(factories.user("partner_admin", party=own))
    assert client.get(f"/engineers/{foreign.id}").status_code == 404
    assert client.post(f"/engineers/{foreign.id}/edit", data={"name": "改名"}).status_code == 404
    assert client.post(f"/engineers/{foreign.id}/certifications", data={}).status_code == 404
    assert client.get(f"/certifications/{cert.id}/scan").status_code == 404
    assert client.get(f"/partners/{other.id}/engineers/new").status_code == 404


def test_partner_admin_manages_own_engineers(client, login_as, app):
    own = factories.partner()
    login_as(factories.user("partner_admin", party=own))
    response = client.post(f"/partners/{own.id}/engineers/new", data={"name": "王工", "active": "y"})
    assert response.status_code == 302
    assert [e.name for e in db.session.get(Party, own.id).engineers] == ["王工"]


def test_engineer_submits_only_own_certifications_and_cannot_approve(client, login_as, app):
    partner = factories.partner()
    me, colleague = factories.engineer(partner), factories.engineer(partner)
    login_as(factories.user("engineer", engineer_=me))
    data = {"product_line": "workflow", "level": "associate", "number": "E-1",
            "issued_on": "2026-01-01", "expires_on": "2028-01-01"}
    assert client.post(f"/engineers/{me.id}/certifications", data=data).status_code == 302
    assert client.post(f"/engineers/{colleague.id}/certifications", data=dict(data, number="E-2")).status_code == 404
    mine = db.session.execute(db.select(Certification).where(Certification.number == "E-1")).scalar_one()
    assert mine.status == "pending"
    assert client.post(f"/certifications/{mine.id}/review", data={"decision": "approve"}).status_code == 403
    assert client.get("/certifications/review").status_code == 403
    assert db.session.get(Certification, mine.id).status == "pending"


def test_manager_approves_from_the_review_queue(client, login_as, app, engineer):
    cert = certifications.submit(engineer, "workflow", "associate", "Q-1", date(2026, 1, 1), today_in_china() + timedelta(days=700), NOW)
    login_as(factories.user("hq_manager"))
    queue = client.get("/certifications/review").get_data(as_text=True)
    assert "Q-1" in queue
    client.post(f"/certifications/{cert.id}/review", data={"decision": "approve"})
    assert db.session.get(Certification, cert.id).status == "valid"


# --- the partner list ------------------------------------------------------------------------

def test_partner_list_filters_partners_without_a_certified_engineer_for_a_line(client, login_as, app):
    certified, uncertified = factories.partner(name="有证伙伴"), factories.partner(name="无证伙伴")
    for partner in (certified, uncertified):
        factories.coverage(partner, "330106")
    factories.certification(factories.engineer(certified), "workflow")
    factories.certification(factories.engineer(uncertified), "mobile")
    login_as(factories.user("hq_agent"))
    page = client.get("/partners/", query_string={"product_line": "workflow", "uncertified": "1"}).get_data(as_text=True)
    assert "无证伙伴" in page and "有证伙伴" not in page


def test_partner_list_searches_and_filters_by_kind(client, login_as, app):
    factories.partner(name="浙江分公司", kind="branch")
    factories.partner(name="宁波代理", kind="agent")
    login_as(factories.user("hq_agent"))
    page = client.get("/partners/", query_string={"kind": "branch"}).get_data(as_text=True)
    assert "浙江分公司" in page and "宁波代理" not in page
    page = client.get("/partners/", query_string={"q": "宁波", "sort": "capacity", "order": "desc"}).get_data(as_text=True)
    assert "宁波代理" in page and "浙江分公司" not in page


def test_partner_users_cannot_list_partners(client, login_as, app):
    login_as(factories.user("partner_admin", party=factories.partner()))
    assert client.get("/partners/").status_code == 403


def test_partner_admin_gives_own_engineer_a_login(client, login_as, app):
    own = factories.partner()
    engineer = factories.engineer(own)
    login_as(factories.user("partner_admin", party=own))
    response = client.post(f"/engineers/{engineer.id}/login",
                           data={"email": "Wang@Own.cn", "password": "a long enough secret"})
    assert response.status_code == 302
    from partnernet.auth.service import authenticate
    user = authenticate("wang@own.cn", "a long enough secret")
    assert (user.role, user.engineer_id, user.party_id) == ("engineer", engineer.id, own.id)


def test_an_engineer_gets_one_login_a_second_is_a_form_error(client, login_as, app):
    """Two tabs, or a double click: the second login for the same engineer is refused on the form."""
    own = factories.partner()
    engineer = factories.engineer(own)
    login_as(factories.user("partner_admin", party=own))
    first, second = (client.post(f"/engineers/{engineer.id}/login",
                                 data={"email": email, "password": "a long enough secret"})
                     for email in ("first@own.cn", "second@own.cn"))
    assert (first.status_code, second.status_code) == (302, 422)
    from partnernet.auth.service import find_user
    assert find_user("first@own.cn") is not None and find_user("second@own.cn") is None


def test_an_engineer_set_inactive_can_no_longer_sign_in_until_set_active_again_and_their_tokens_stay_revoked(client, login_as, app):
    from partnernet.auth.tokens import issue_token
    own = factories.partner()
    engineer = factories.engineer(own)
    user = factories.user("engineer", engineer_=engineer)
    _token, secret = issue_token(user, "phone", now_utc())
    admin = factories.user("partner_admin", party=own)

    def set_active(active):
        login_as(admin)
        data = {"name": engineer.name, **({"active": "y"} if active else {})}
        assert client.post(f"/engineers/{engineer.id}/edit", data=data).status_code == 302
        client.post("/logout")

    def can_sign_in():
        answer = client.post("/login", data={"email": user.email, "password": factories.PASSWORD}).status_code == 302
        client.post("/logout")
        return answer
    set_active(False)
    token_answer = client.get("/api/v1/product-lines", headers={"Authorization": f"Bearer {secret}"}).status_code
    assert (can_sign_in(), token_answer) == (False, 401)
    set_active(True)
    assert can_sign_in()
    # Their old token stays revoked: it was revoked when the record was set inactive.
    assert client.get("/api/v1/product-lines", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    from partnernet.settings.models import ChangeEvent
    assert db.session.execute(db.select(ChangeEvent.actor_user_id).where(
        ChangeEvent.kind == "token_revoked", ChangeEvent.user_id == user.id)).scalars().all() == [admin.id]


def test_engineer_login_with_a_weak_password_is_refused(client, login_as, app):
    own = factories.partner()
    engineer = factories.engineer(own)
    login_as(factories.user("partner_admin", party=own))
    from partnernet.auth.service import find_user
    for weak in ("short", "1234567890", "aaaaaaaaaa"):
        response = client.post(f"/engineers/{engineer.id}/login", data={"email": "w@own.cn", "password": weak})
        assert response.status_code == 422
        assert find_user("w@own.cn") is None


# --- forms after a refusal: what was entered stays, each error is said once ---------------------

from tests.test_ticket_pages import error_messages, selected  # noqa: E402 (the pages' readers, shared)


def test_a_status_change_without_a_reason_keeps_the_status_chosen_and_says_so_once(client, login_as, app):
    partner = factories.partner(status="active")
    login_as(factories.user("hq_manager"))
    client.post("/language", data={"locale": "en"})
    response = client.post(f"/partners/{partner.id}/status", data={"status": "suspended", "reason": " "})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert selected(page, "status") == ["suspended"]
    assert len(error_messages(page)) == 1
    assert db.session.get(Party, partner.id).status == "active"


def test_a_refused_coverage_keeps_what_was_entered(client, login_as, app):
    partner = factories.partner(status="active", tiers=["L1", "L2"])
    login_as(factories.user("hq_manager"))
    client.post("/language", data={"locale": "en"})
    response = client.post(f"/partners/{partner.id}/coverage", data={
        "region_code": "330106", "all_product_lines": "y", "tiers": ["L3"], "effective_from": "2026-12-01"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_messages(page) == ["The partner does not offer L3."]
    assert 'value="330106"' in page and 'value="2026-12-01"' in page and "西湖区" in page
    assert db.session.execute(db.select(Coverage).where(Coverage.party_id == partner.id)).first() is None


def test_rejecting_without_a_reason_is_said_once_beside_that_certification(client, login_as, app, engineer):
    cert = certifications.submit(engineer, "workflow", "associate", "R-1", date(2026, 1, 1), date(2099, 1, 1), NOW)
    login_as(factories.user("hq_manager"))
    client.post("/language", data={"locale": "en"})
    response = client.post(f"/certifications/{cert.id}/review", data={"decision": "reject", "reason": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_messages(page) == ["A reason is required."]
    assert "R-1" in page and db.session.get(Certification, cert.id).status == "pending"


def test_revoking_without_a_reason_is_said_once(client, login_as, app, engineer):
    cert = factories.certification(engineer, "workflow", issued_on=date(2026, 1, 1), expires_on=date(2099, 1, 1))
    login_as(factories.user("hq_manager"))
    response = client.post(f"/certifications/{cert.id}/revoke", data={"reason": " "})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert len(error_messages(page)) == 1
    assert db.session.get(Certification, cert.id).status == "valid"


def test_a_bad_scan_is_said_once_under_the_field_and_the_form_keeps_its_values(client, login_as, app, engineer):
    login_as(factories.user("hq_manager"))
    client.post("/language", data={"locale": "en"})
    response = client.post(f"/engineers/{engineer.id}/certifications", content_type="multipart/form-data", data={
        "product_line": "integration", "level": "associate", "number": "S-1", "issued_on": "2026-01-01",
        "expires_on": "2028-01-01", "scan": (io.BytesIO(b"<html>not a scan</html>"), "scan.pdf")})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_messages(page) == ["Only PDF, PNG or JPEG."]
    assert selected(page, "product_line") == ["integration"] and 'value="S-1"' in page
# --- product lines by name, in the reader's language ----------------------------------------------

@pytest.mark.parametrize("locale, workflow, oa_core", [("zh_CN", "流程与表单", "OA 核心平台"),
                                                       ("en", "Workflow &amp; forms", "OA core platform")])
def test_partner_page_names_the_engineers_product_lines_in_the_readers_language(client, login_as, app,
                                                                                 locale, workflow, oa_core):
    partner = factories.partner()
    engineer = factories.engineer(partner)
    factories.certification(engineer, "workflow")
    factories.certification(engineer, "oa-core")
    login_as(factories.user("hq_manager", locale=locale))
    page = client.get(f"/partners/{partner.id}").get_data(as_text=True)
    engineers_table = page[page.index(engineer.name):]
    assert workflow in engineers_table and oa_core in engineers_table
    assert ">workflow <" not in page and ">oa-core <" not in page


def test_accepting_with_an_uncertified_engineer_names_the_product_line(app):
    from partnernet.tickets import service as tickets
    partner = factories.partner()
    engineer = factories.engineer(partner)
    ticket = factories.ticket(factories.customer())
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        with pytest.raises(ValidationFailed) as refused:
            tickets.check_engineer(ticket, partner.id, engineer.id, TODAY)
    assert refused.value.fields["engineer_id"] == "未获得 流程与表单 认证。"


# --- the engineer's home: certificates to renew first ---------------------------------------------

def test_engineers_home_shows_expiring_and_expired_certificates_first_with_days_left_and_a_renew_button(
        client, login_as, app):
    from partnernet.timeclock import today_in_china
    today = today_in_china()
    engineer = factories.engineer(factories.partner())
    lasting = factories.certification(engineer, "oa-core", number="OA-LASTING", issued_on=today - timedelta(days=100),
                                      expires_on=today + timedelta(days=200))
    expiring = factories.certification(engineer, "workflow", level="expert", number="WF-EXPIRING",
                                       issued_on=today - timedelta(days=700), expires_on=today + timedelta(days=3))
    expired = factories.certification(engineer, "mobile", number="MO-EXPIRED", status="expired",
                                      issued_on=today - timedelta(days=800), expires_on=today - timedelta(days=10))
    # Expiring too, but its renewal is already with HQ: nothing to do.
    renewing = factories.certification(engineer, "integration", number="IN-OLD", issued_on=today - timedelta(days=700),
                                       expires_on=today + timedelta(days=5))
    factories.certification(engineer, "integration", number="IN-NEW", status="pending", issued_on=today,
                            expires_on=today + timedelta(days=1100))
    login_as(factories.user("engineer", engineer_=engineer))

    home = client.get("/me").get_data(as_text=True)
    order = [home.index(number) for number in ("MO-EXPIRED", "WF-EXPIRING", "OA-LASTING")]
    assert order == sorted(order), "what needs renewing comes first, the most urgent first"
    assert "还剩 3 天" in home and "已过期 10 天" in home
    renew_links = [f'href="/engineers/{engineer.id}?renew={cert.id}#submit-certification"' for cert in
                   (expiring, expired, lasting, renewing)]
    assert [link in home for link in renew_links] == [True, True, False, False]
    assert home.count("续证</a>") == 2

    form = client.get(f"/engineers/{engineer.id}?renew={expiring.id}").get_data(as_text=True)
    assert '<option selected value="workflow">' in form and '<option selected value="expert">' in form
    assert "WF-EXPIRING" in form[form.index('id="submit-certification"'):]


def test_the_expiring_window_follows_the_certificate_reminder_setting(client, login_as, app):
    from partnernet.settings.service import save_settings
    from partnernet.timeclock import today_in_china
    today = today_in_china()
    engineer = factories.engineer(factories.partner())
    cert = factories.certification(engineer, issued_on=today - timedelta(days=300), expires_on=today + timedelta(days=40))
    login_as(factories.user("engineer", engineer_=engineer))
    assert f"?renew={cert.id}" not in client.get("/me").get_data(as_text=True)  # 30 days by default
    save_settings({"certification_reminder_days": 45}, None, NOW)
    assert f"?renew={cert.id}" in client.get("/me").get_data(as_text=True)


def test_a_renewal_link_for_someone_elses_certificate_is_a_404(client, login_as, app):
    mine, theirs = factories.engineer(factories.partner()), factories.engineer(factories.partner())
    cert = factories.certification(theirs)
    login_as(factories.user("engineer", engineer_=mine))
    assert client.get(f"/engineers/{mine.id}?renew={cert.id}").status_code == 404


# --- Chinese names in pinyin order for Chinese readers ---------------------------------------------

def names_in(page: str, names) -> list:
    return sorted(names, key=page.index)


@pytest.mark.parametrize("locale, expected", [("zh_CN", ["丽水同创", "临沂锐达", "上海博远"]),
                                              ("en", ["上海博远", "临沂锐达", "丽水同创"])])
def test_the_partner_list_sorts_names_by_pinyin_for_chinese_readers_and_as_written_for_english(
        client, login_as, app, locale, expected):
    for name in ("上海博远", "临沂锐达", "丽水同创"):
        factories.partner(name=name)
    login_as(factories.user("hq_manager", locale=locale))
    assert names_in(client.get("/partners/").get_data(as_text=True), expected) == expected
    descending = client.get("/partners/?sort=name&order=desc").get_data(as_text=True)
    assert names_in(descending, expected) == expected[::-1]
    found = client.get("/partners/search.json", query_string={"q": "有"}).json  # none match: no error
    assert found == []


def test_the_partner_picker_lists_matches_in_pinyin_order(client, login_as, app):
    for name in ("上海博远软件", "临沂锐达软件", "丽水同创软件"):
        factories.partner(name=name)
    login_as(factories.user("hq_manager"))
    found = client.get("/partners/search.json", query_string={"q": "软件"}).json
    assert [p["name"] for p in found] == ["丽水同创软件", "临沂锐达软件", "上海博远软件"]


def test_a_partner_written_in_bulk_or_renamed_keeps_its_pinyin_sort_key(app):
    import sqlalchemy as sa
    db.session.execute(sa.insert(Party), [{"kind": "agent", "name": "重庆长安", "status": "active", "tier_l1": True}])
    inserted = db.session.execute(sa.select(Party).where(Party.name == "重庆长安")).scalar_one()
    assert inserted.name_sort == "chong2qing4chang2an1"
    partner = factories.partner(name="上海博远")
    partner.name = "Acme 丽水"
    db.session.commit()
    assert db.session.get(Party, partner.id).name_sort == "acmeli2shui3"


def test_a_partners_engineers_are_listed_by_pinyin_for_chinese_readers(client, login_as, app):
    partner = factories.partner()
    for name in ("周敏", "安然", "李雷"):
        factories.save(Engineer(party_id=partner.id, name=name))
    login_as(factories.user("hq_manager"))
    page = client.get(f"/partners/{partner.id}").get_data(as_text=True)
    assert names_in(page, ["周敏", "安然", "李雷"]) == ["安然", "李雷", "周敏"]


INVISIBLE = "\u202e\u200d\ufeff"  # right-to-left override, zero-width joiner, byte-order mark


def test_partner_and_engineer_names_of_invisible_characters_are_refused_on_the_pages_and_in_the_api(
        client, login_as, app):
    from tests.test_api import assert_error, bearer, token_for
    manager = factories.user("hq_manager")
    own = factories.partner(name="已有公司")
    login_as(manager)
    headers = bearer(token_for(manager))
    partner = {"name": "杭州新星软件有限公司", "kind": "agent", "province_code": "330000", "capacity": 8,
               "tiers": ["L1"]}
    for field in ("name", "name_en", "contact_name"):
        page = client.post("/partners/new", data={**partner, field: INVISIBLE})
        assert page.status_code != 302 and "invalid-feedback" in page.get_data(as_text=True), field
        api = client.post("/api/v1/partners", json={**partner, field: INVISIBLE}, headers=headers)
        assert_error(api, 422, "validation_failed", [field])
        patch = client.patch(f"/api/v1/partners/{own.id}", json={field: INVISIBLE}, headers=headers)
        assert_error(patch, 422, "validation_failed", [field])
    page = client.post(f"/partners/{own.id}/engineers/new", data={"name": INVISIBLE, "active": "y"})
    assert page.status_code == 422 and "invalid-feedback" in page.get_data(as_text=True)
    api = client.post(f"/api/v1/partners/{own.id}/engineers", json={"name": " \u3164\u200b"}, headers=headers)
    assert_error(api, 422, "validation_failed", ["name"])
    db.session.expire_all()
    assert db.session.execute(db.select(db.func.count(Party.id))).scalar() == 2  # HQ and 已有公司
    assert db.session.get(Party, own.id).name == "已有公司" and not db.session.get(Party, own.id).engineers


def test_a_partner_name_is_stored_in_nfkc_so_a_fullwidth_twin_is_the_same_name(client, login_as, app):
    login_as(factories.user("hq_manager"))
    partner = {"kind": "agent", "province_code": "330000", "capacity": 8, "tiers": ["L1"]}
    assert client.post("/partners/new", data={**partner, "name": "\ufeffＡＢＣ科技\u200d"}).status_code == 302
    assert db.session.execute(db.select(Party.name).where(Party.name == "ABC科技")).scalar_one()
    twin = client.post("/partners/new", data={**partner, "name": "ABC科技"})
    assert twin.status_code != 302 and "invalid-feedback" in twin.get_data(as_text=True)
