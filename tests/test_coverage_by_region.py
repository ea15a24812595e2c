"""Coverage by region: which county units have an eligible partner for a product line, and why not."""
from datetime import timedelta

from partnernet.extensions import db
from partnernet.network import certifications, coverage_map
from partnernet.regions import service as regions
from partnernet.regions.models import Region
from partnernet.timeclock import now_utc, today_in_china
from tests import factories

XIHU, HANGZHOU, ZHEJIANG = "330106", "330100", "330000"


def workflow_id() -> int:
    return factories.product_line("workflow").id


def certified_partner(**fields):
    partner = factories.partner(**fields)
    factories.certification(factories.engineer(partner), "workflow")
    return partner


def county(code: str, region_code: str = HANGZHOU) -> coverage_map.CountyCoverage:
    counties = coverage_map.county_coverage(workflow_id(), region_code, today_in_china())
    return next(c for c in counties if c.code == code)


def test_province_coverage_covers_every_county_in_the_province(app):
    partner = certified_partner()
    factories.coverage(partner, ZHEJIANG)
    counties = coverage_map.county_coverage(workflow_id(), ZHEJIANG, today_in_china())
    assert len(counties) == regions.count_counties(db.session.get(Region, ZHEJIANG))
    assert all(not c.is_gap and [p.party_id for p in c.partners] == [partner.id] for c in counties)
    assert {p.level for c in counties for p in c.partners} == {"province"}
    assert all(c.gap_reason == "no_coverage" for c in coverage_map.county_coverage(workflow_id(), "320000", today_in_china()))


def test_county_with_coverage_but_no_certified_engineer_is_a_gap(app):
    partner = factories.partner()
    factories.engineer(partner)
    factories.coverage(partner, XIHU)
    xihu = county(XIHU)
    assert xihu.gap_reason == "no_certified_engineer"
    assert [(p.name, p.level, p.certified) for p in xihu.partners] == [(partner.name, "county", False)]


def test_county_covered_only_by_a_suspended_partner_is_a_gap_only_inactive(app):
    factories.coverage(certified_partner(status="suspended"), XIHU)
    factories.coverage(certified_partner(status="onboarding"), HANGZHOU)
    assert county(XIHU).gap_reason == "only_inactive"


def test_partner_on_probation_still_closes_the_gap(app):
    factories.coverage(certified_partner(status="probation"), HANGZHOU)
    assert not county(XIHU).is_gap


def test_ended_coverage_does_not_count(app):
    factories.coverage(certified_partner(), XIHU, effective_to=today_in_china() - timedelta(days=1))
    assert county(XIHU).gap_reason == "no_coverage"


def test_coverage_for_another_product_line_does_not_count(app):
    factories.coverage(certified_partner(), XIHU, all_product_lines=False,
                       product_lines=[factories.product_line("mobile")])
    assert county(XIHU).gap_reason == "no_coverage"


def test_county_gap_closes_once_an_engineers_certification_is_approved(app):
    today = today_in_china()
    agent = factories.partner(kind="agent", status="active")
    factories.coverage(agent, XIHU)
    engineer = factories.engineer(agent)
    certification = certifications.submit(engineer, "workflow", "professional", "WF-2026-0001",
                                          today - timedelta(days=10), today + timedelta(days=700), now_utc())
    assert county(XIHU).gap_reason == "no_certified_engineer"  # pending does not count yet
    manager = factories.user("hq_manager")
    certifications.review(certification, "approve", "", manager.id, now_utc(), today)
    assert not county(XIHU).is_gap
    assert XIHU not in {c.code for c in coverage_map.gaps(workflow_id(), ZHEJIANG, today)}


def test_province_summary_counts_county_units_per_city(app):
    factories.coverage(certified_partner(), XIHU)
    result = coverage_map.coverage_map(workflow_id(), ZHEJIANG, today_in_china())
    rows = {r.code: r for r in result.rows}
    hangzhou = regions.count_counties(db.session.get(Region, HANGZHOU))
    assert (rows[HANGZHOU].county_units, rows[HANGZHOU].covered, rows[HANGZHOU].gaps) == (hangzhou, 1, hangzhou - 1)
    assert result.total.county_units == regions.count_counties(db.session.get(Region, ZHEJIANG))
    assert len(result.gaps) == result.total.county_units - 1


def test_country_summary_has_one_row_per_province(app):
    factories.coverage(certified_partner(), ZHEJIANG)
    rows = {r.code: r for r in coverage_map.region_summaries(workflow_id(), None, today_in_china())}
    assert len(rows) == len(regions.children(None))
    assert rows[ZHEJIANG].gaps == 0 and rows["320000"].covered == 0


def test_county_directly_under_a_province_is_its_own_row(app):
    factories.coverage(certified_partner(), "429004")  # 仙桃 lies directly under 湖北
    rows = {r.code: r for r in coverage_map.region_summaries(workflow_id(), "420000", today_in_china())}
    assert rows["429004"].county is not None and not rows["429004"].county.is_gap
    assert rows["420100"].county is None


def test_partner_admin_may_not_see_coverage_by_region(client, login_as, app):
    partner = factories.partner()
    login_as(factories.user("partner_admin", party=partner))
    assert client.get("/coverage").status_code == 403


def test_page_renders_at_country_province_and_city_level(client, login_as, app):
    partner = certified_partner(name="杭州云帆软件有限公司")
    factories.coverage(partner, XIHU)
    login_as(factories.user("hq_manager"))
    assert client.get("/coverage?product_line=workflow").status_code == 200
    province = client.get(f"/coverage?product_line=workflow&region={ZHEJIANG}")
    assert province.status_code == 200 and "杭州市" in province.text
    city = client.get(f"/coverage?product_line=workflow&region={HANGZHOU}")
    assert city.status_code == 200 and "杭州云帆软件有限公司" in city.text and f"/partners/{partner.id}" in city.text


def test_gaps_download_as_csv(client, login_as, app):
    factories.coverage(certified_partner(), XIHU)
    login_as(factories.user("hq_agent"))
    response = client.get(f"/coverage?product_line=workflow&region={HANGZHOU}&format=csv")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    assert "330102" in response.text and XIHU not in response.text


def test_a_countys_partners_are_listed_eligible_first_then_the_most_specific_coverage(app):
    uncertified_county_agent = factories.partner(kind="agent")
    factories.coverage(uncertified_county_agent, XIHU)
    province_branch = certified_partner(kind="branch")
    factories.coverage(province_branch, ZHEJIANG)
    city_agent = certified_partner(kind="agent")
    factories.coverage(city_agent, HANGZHOU)
    names = [p.party_id for p in county(XIHU).partners]
    assert names == [city_agent.id, province_branch.id, uncertified_county_agent.id]


def test_the_country_view_lists_a_gaps_partners_in_the_same_order(app):
    agent = certified_partner(status="suspended", kind="agent")
    factories.coverage(agent, XIHU)  # covering first, listed last: a branch goes before an agent
    branch = certified_partner(status="suspended", kind="branch")
    factories.coverage(branch, XIHU)
    china = coverage_map.coverage_map(workflow_id(), None, today_in_china())
    xihu = next(c for c in china.gaps if c.code == XIHU)
    assert [p.party_id for p in xihu.partners] == [branch.id, agent.id]


def test_regions_without_county_units_show_a_dash_not_a_zero_share(client, login_as, app):
    """台湾, 香港 and 澳门 have no county units in the data: no share is known, so none is drawn."""
    factories.coverage(certified_partner(), ZHEJIANG)
    login_as(factories.user("hq_manager"))
    page = client.get("/coverage?product_line=workflow").text
    for code in ("710000", "810000", "820000"):
        row = page[page.index(f'region={code}">'):]
        row = row[:row.index("</tr>")]
        assert "<progress" not in row and "0%" not in row and "—" in row, code
        values = page[page.index(f'<tr data-region-code="{code}"'):]
        assert "None" not in values[:values.index("</tr>")], code
    zhejiang = page[page.index(f'region={ZHEJIANG}">'):]
    assert "<progress" in zhejiang[:zhejiang.index("</tr>")] and "100%" in zhejiang[:zhejiang.index("</tr>")]
