"""The partner page shows each role only what its scope allows (docs/design.md, roles): an engineer
their own record, certifications and assigned tickets; a partner's admin their own partner's data,
never another partner's; HQ everything."""
from datetime import date, datetime, timezone

from partnernet.extensions import db
from partnernet.network import service
from tests import factories

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)


def page_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def engineers_section(page: str) -> str:
    return page.split('id="engineers"')[1].split("</table>")[0]


def test_engineer_sees_own_certification_but_not_a_colleagues(client, login_as, app):
    partner = factories.partner()
    me, colleague = factories.engineer(partner), factories.engineer(partner)
    colleague.name = "同事甲"
    db.session.commit()
    factories.certification(me, "workflow", number="CERT-MINE-1", expires_on=date(2030, 2, 2))
    factories.certification(colleague, "mobile", number="CERT-THEIRS-1", expires_on=date(2031, 3, 3))
    login_as(factories.user("engineer", engineer_=me))

    page = page_of(client.get(f"/partners/{partner.id}"))

    engineers = engineers_section(page)
    assert me.name in engineers and "流程与表单" in engineers and "2030-02-02" in engineers
    assert "同事甲" not in page and "2031-03-03" not in page and "CERT-THEIRS-1" not in page
    assert "mobile" not in engineers


def test_engineer_sees_only_the_open_tickets_assigned_to_them(client, login_as, app):
    partner = factories.partner()
    me, colleague = factories.engineer(partner), factories.engineer(partner)
    customer = factories.customer()
    factories.ticket(customer, subject="派给我的工单", status="accepted", owner_party_id=partner.id, engineer_id=me.id)
    factories.ticket(customer, subject="派给同事的工单", status="accepted", owner_party_id=partner.id,
                     engineer_id=colleague.id)
    factories.ticket(customer, subject="尚未派工的工单", status="accepted", owner_party_id=partner.id)
    login_as(factories.user("engineer", engineer_=me))

    page = page_of(client.get(f"/partners/{partner.id}"))

    assert "派给我的工单" in page
    assert "派给同事的工单" not in page and "尚未派工的工单" not in page


def test_engineer_sees_neither_status_history_nor_coverage_but_the_partner_admin_sees_the_history(
        client, login_as, app):
    partner = factories.partner(status="active")
    factories.coverage(partner, "330106")
    service.change_status(partner, "probation", "总部内部考核理由", factories.user("hq_manager").id, NOW)
    engineer_user = factories.user("engineer", engineer_=factories.engineer(partner))
    admin = factories.user("partner_admin", party=partner)

    login_as(engineer_user)
    engineer_page = page_of(client.get(f"/partners/{partner.id}"))
    client.post("/logout")
    login_as(admin)
    admin_page = page_of(client.get(f"/partners/{partner.id}"))

    assert "总部内部考核理由" not in engineer_page and "330106" not in engineer_page
    assert "总部内部考核理由" in admin_page and "330106" in admin_page


def test_partner_admin_does_not_see_who_else_covers_their_region_but_hq_does(client, login_as, app):
    ours, theirs = factories.partner(), factories.partner(name="别家服务商")
    factories.coverage(ours, "330000")
    factories.coverage(theirs, "330106")

    login_as(factories.user("partner_admin", party=ours))
    admin_page = page_of(client.get(f"/partners/{ours.id}"))
    client.post("/logout")
    login_as(factories.user("hq_manager"))
    hq_page = page_of(client.get(f"/partners/{ours.id}"))

    assert "330000" in admin_page  # their own coverage is still listed
    assert "别家服务商" not in admin_page and "西湖区" not in admin_page  # neither who nor where
    assert "别家服务商" in hq_page and "西湖区" in hq_page and f"/partners/{theirs.id}" in hq_page
