"""Regions of China: chains up to the province, children, search by name, pinyin or code."""
from partnernet.extensions import db
from partnernet.regions import service
from partnernet.regions.models import Region


def codes(regions):
    return [r.code for r in regions]


def test_county_chain_runs_through_city_to_province(app):
    assert codes(service.chain("330106")) == ["330106", "330100", "330000"]


def test_municipality_district_chain_goes_straight_to_the_municipality(app):
    for district, municipality in [("110101", "110000"), ("310115", "310000"),
                                   ("120101", "120000"), ("500101", "500000")]:
        assert codes(service.chain(district)) == [district, municipality]


def test_directly_administered_county_level_city_hangs_under_its_province(app):
    assert codes(service.chain("429004")) == ["429004", "420000"]  # 仙桃市, Hubei
    assert codes(service.chain("419001")) == ["419001", "410000"]  # 济源市, Henan


def test_every_region_has_a_parent_of_the_right_level(app):
    rows = db.session.execute(db.select(Region)).scalars().all()
    by_code = {r.code: r for r in rows}
    provinces = [r for r in rows if r.level == "province"]
    assert len(provinces) == 34
    assert 330 <= sum(r.level == "city" for r in rows) <= 345
    assert 2800 <= sum(r.level == "county" for r in rows) <= 2900
    for region in rows:
        if region.level == "city":
            assert by_code[region.parent_code].level == "province"
        elif region.level == "county":
            assert by_code[region.parent_code].level in ("city", "province")


def test_children_of_a_city_are_its_counties(app):
    hangzhou = service.children("330100")
    assert "330106" in codes(hangzhou)
    assert all(r.level == "county" and r.parent_code == "330100" for r in hangzhou)
    assert len(service.children(None)) == 34


def test_search_finds_hangzhou_by_chinese_pinyin_and_code(app):
    for query in ("杭州", "Hangzhou", "hangzhou", "3301"):
        assert service.search(query)[0].code == "330100", query


def test_search_by_full_code_puts_the_exact_region_first(app):
    assert service.search("330106")[0].name == "西湖区"


def test_search_for_nothing_finds_nothing(app):
    assert service.search("   ") == []
    assert service.search("不存在的地方") == []


def test_loading_the_regions_again_changes_nothing(app):
    with db.engine.begin() as connection:
        counts = service.load_regions(connection)
    assert counts["inserted"] == 0 and counts["updated"] == 0
    assert counts["total"] == db.session.scalar(db.select(db.func.count(Region.code)))


def test_region_pages_show_the_chain(client, login_as, app):
    from tests import factories
    login_as(factories.user("hq_agent"))
    page = client.get("/regions/330106").get_data(as_text=True)
    assert "浙江省" in page and "杭州市" in page and "西湖区" in page
    assert client.get("/regions/?q=hangzhou").status_code == 200
    assert client.get("/regions/999999").status_code == 404


def test_province_pickers_list_provinces_by_pinyin_for_chinese_readers_and_by_code_otherwise(client, login_as, app):
    from tests import factories
    login_as(factories.user("hq_manager"))
    page = client.get("/partners/").get_data(as_text=True)
    assert page.index(">安徽省<") < page.index(">澳门特别行政区<") < page.index(">北京市<") < page.index(">浙江省<")
    client.post("/logout")
    login_as(factories.user("hq_manager", locale="en"))
    page = client.get("/partners/").get_data(as_text=True)
    assert page.index(">北京市<") < page.index(">浙江省<") < page.index(">安徽省<")
