"""Import in Chinese: column headers by their Chinese names, values by their labels in Chinese or
English (as the pages show them), product lines and regions by name; an ambiguous region name is
refused with the regions it could be."""
import csv
import io

import pytest
import sqlalchemy as sa

from partnernet.extensions import db
from partnernet.network import transfer
from partnernet.network.models import Coverage, ImportRecord
from tests import factories
from tests.test_transfer import KINDS, NOW, empty_database, errors_of, export_all, partners_count, upload

ENGLISH = {
    "partners": [
        {"name": "丽水同创", "kind": "agent", "status": "active", "province_code": "330000", "capacity": "12",
         "tiers": "L1|L2|L3", "contact_name": "王经理", "contact_email": "wang@tongchuang.cn",
         "contract_start": "2025-01-01", "contract_end": "2027-12-31"},
        {"name": "北京朝阳服务", "kind": "joint_venture", "status": "onboarding", "province_code": "110000",
         "capacity": "", "tiers": "L1", "contact_name": "", "contact_email": "", "contract_start": "",
         "contract_end": ""},
    ],
    "coverage": [
        {"partner": "丽水同创", "region_code": "331102", "product_lines": "oa-core|workflow", "tiers": "L1|L2",
         "effective_from": "2026-01-01", "effective_to": ""},
        {"partner": "丽水同创", "region_code": "330106", "product_lines": "all", "tiers": "L3",
         "effective_from": "2026-01-01", "effective_to": "2026-12-31"},
        {"partner": "北京朝阳服务", "region_code": "110105", "product_lines": "workflow", "tiers": "L1",
         "effective_from": "2026-02-01", "effective_to": ""},
        {"partner": "北京朝阳服务", "region_code": "110000", "product_lines": "all", "tiers": "L1",
         "effective_from": "2026-02-01", "effective_to": ""},
    ],
    "engineers": [
        {"partner": "丽水同创", "name": "张工", "email": "zhang@tongchuang.cn", "phone": "13800000001", "active": "yes"},
        {"partner": "北京朝阳服务", "name": "李工", "email": "", "phone": "", "active": "no"},
    ],
    "certifications": [
        {"partner": "丽水同创", "engineer": "张工", "engineer_email": "zhang@tongchuang.cn", "product_line": "workflow",
         "level": "professional", "number": "WF-2026-1", "issued_on": "2026-01-05", "expires_on": "2028-01-04",
         "status": "valid"},
        {"partner": "北京朝阳服务", "engineer": "李工", "engineer_email": "", "product_line": "oa-core",
         "level": "associate", "number": "OA-2026-7", "issued_on": "2026-03-01", "expires_on": "2027-03-01",
         "status": ""},
    ],
}
# The same rows as a channel manager writes them: Chinese headers, labels and names for the codes.
IN_CHINESE = {
    "partners": {"kind": {"agent": "代理商", "joint_venture": "联营公司"}, "status": {"active": "正常",
                                                                             "onboarding": "入驻中"},
                 "province_code": {"330000": "浙江省", "110000": "北京市"}},
    "coverage": {"region_code": {"331102": "莲都区", "330106": "杭州市西湖区", "110105": "北京市朝阳区",
                                 "110000": "北京市"},
                 "product_lines": {"oa-core|workflow": "OA 核心平台、流程与表单", "all": "全部", "workflow": "流程与表单"}},
    "engineers": {"active": {"yes": "是", "no": "否"}},
    "certifications": {"product_line": {"workflow": "流程与表单", "oa-core": "OA 核心平台"},
                       "level": {"professional": "专业级", "associate": "助理级"}, "status": {"valid": "有效"}},
}


def table(kind: str, rows: list[dict], language: str) -> tuple[list[str], list[list[str]]]:
    """The header row and the rows of `kind`, in English (codes) or Chinese (names and labels)."""
    columns = list(transfer.COLUMNS[kind])
    body = []
    for row in rows:
        words = IN_CHINESE[kind] if language == "zh" else {}
        body.append([words.get(c, {}).get(row.get(c, ""), row.get(c, "")) for c in columns])
    return transfer.headers(kind, language), body


def csv_bytes(header, body, encoding="utf-8-sig") -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(body)
    return out.getvalue().encode(encoding)


def xlsx_bytes(header, body) -> bytes:
    from openpyxl import Workbook
    workbook = Workbook()
    workbook.active.append(header)
    for row in body:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def file_of(kind: str, file_format: str, language: str) -> bytes:
    header, body = table(kind, ENGLISH[kind], language)
    if file_format == "xlsx":
        return xlsx_bytes(header, body)
    return csv_bytes(header, body, "gbk" if language == "zh" else "utf-8-sig")


def everything() -> dict:
    return {kind: export_all(kind) for kind in KINDS}


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])  # the Chinese CSV in GBK, as Excel in Chinese saves it
def test_a_file_with_chinese_headers_and_values_imports_the_same_rows_as_its_english_twin(
        app, database_factory, file_format):
    for kind in KINDS:
        plan = transfer.run_import(kind, file_of(kind, "csv", "en"), "csv", None, NOW)
        assert plan.count("create") == len(ENGLISH[kind])
    in_english = everything()
    assert in_english["coverage"].count(b"\r\n") == 5 and "莲都区" not in in_english["coverage"].decode("utf-8-sig")
    with empty_database(database_factory):
        for kind in KINDS:
            content = file_of(kind, file_format, "zh")
            if file_format == "csv":
                with pytest.raises(UnicodeDecodeError):
                    content.decode("utf-8")  # really GBK
            transfer.run_import(kind, content, file_format, None, NOW)
        in_chinese = everything()
    assert in_chinese == in_english


def test_values_may_be_written_by_their_english_labels_too(app):
    header = ["name", "kind", "status", "province_code", "tiers"]
    content = csv_bytes(header, [["宁波伙伴", "Joint venture", "PROBATION", "浙江省", "L1"],
                                 ["温州伙伴", "franchisee", "Suspended", "330000", "L1"]])
    transfer.run_import("partners", content, "csv", None, NOW)
    parties = db.session.execute(sa.text("SELECT name, kind, status, province_code FROM party "
                                         "WHERE name IN ('宁波伙伴', '温州伙伴') ORDER BY name")).all()
    assert sorted(tuple(p) for p in parties) == [("宁波伙伴", "joint_venture", "probation", "330000"),
                                                 ("温州伙伴", "franchisee", "suspended", "330000")]


def test_an_ambiguous_region_name_is_refused_with_its_candidates_and_nothing_is_written(
        client, login_as, app, tmp_path):
    app.instance_path = str(tmp_path)
    factories.partner(name="朝阳伙伴", tiers=["L1"])
    header = ["合作伙伴", "区域", "产品线", "服务层级", "生效日期"]
    content = csv_bytes(header, [["朝阳伙伴", "莲都区", "全部", "L1", "2026-01-01"],
                                 ["朝阳伙伴", "朝阳区", "全部", "L1", "2026-01-01"]])
    with pytest.raises(transfer.ImportRejected) as rejected:
        transfer.run_import("coverage", content, "csv", None, NOW)
    [error] = rejected.value.plan.errors
    assert (error.row, error.column) == (3, "region_code")
    assert error.message == "朝阳区 matches 2 regions: 110105 北京市朝阳区, 220104 长春市朝阳区."
    assert db.session.execute(sa.select(sa.func.count()).select_from(Coverage)).scalar() == 0
    assert db.session.execute(sa.select(ImportRecord)).first() is None

    # On the page: the error beside its row and cell, in the reader's language, and no confirmation.
    login_as(factories.user("hq_manager"))
    client.post("/language", data={"locale": "zh_CN"})
    page = upload(client, content, "覆盖.csv", kind="coverage")
    text = client.get(page.headers["Location"]).get_data(as_text=True)
    assert "朝阳区 对应 2 个区域：110105 北京市朝阳区, 220104 长春市朝阳区。" in text
    assert 'data-row="3" data-action="error"' in text and 'method="post" action="/import/coverage/' not in text
    assert client.post(page.headers["Location"]).status_code == 422
    assert db.session.execute(sa.select(sa.func.count()).select_from(Coverage)).scalar() == 0


def test_a_region_name_is_read_whole_by_its_county_city_and_province(app):
    partner = factories.partner(name="杭州伙伴", tiers=["L1"])
    header = ["partner", "region_code", "product_lines", "tiers", "effective_from"]
    names = ["浙江省杭州市西湖区", "杭州市西湖区", "浙江省西湖区", "杭州市", "330106"]
    content = csv_bytes(header, [["杭州伙伴", name, "all", "L1", f"2026-01-{n + 1:02d}"] for n, name in enumerate(names)])
    transfer.run_import("coverage", content, "csv", None, NOW)
    regions = db.session.execute(sa.select(Coverage.region_code).where(Coverage.party_id == partner.id)
                                 .order_by(Coverage.effective_from)).scalars().all()
    assert regions == ["330106", "330106", "330106", "330100", "330106"]
    # 西湖区 alone is two counties (Hangzhou's and Nanchang's); 杭州市 is no province.
    bad = csv_bytes(header, [["杭州伙伴", "西湖区", "all", "L1", "2026-02-01"]])
    assert errors_of("coverage", bad) == [(2, "region_code")]
    assert errors_of("partners", csv_bytes(["名称", "类型", "省份", "服务层级"], [["新伙伴", "代理商", "杭州市", "L1"]])) == \
        [(2, "province_code")]
    assert partners_count() == 1


def test_an_unknown_chinese_value_names_the_choices_by_their_labels(app):
    content = csv_bytes(["名称", "类型", "省份", "服务层级"], [["新伙伴", "经销商", "浙江省", "L1"]])
    with pytest.raises(transfer.ImportRejected) as rejected:
        transfer.run_import("partners", content, "csv", None, NOW)
    [error] = rejected.value.plan.errors
    assert error.column == "kind" and "Agent (agent)" in error.message


def test_the_template_is_in_chinese_for_a_chinese_reader_and_in_english_on_request(client, login_as, app):
    login_as(factories.user("hq_manager"))
    client.post("/language", data={"locale": "zh_CN"})
    page = client.get("/import").get_data(as_text=True)
    assert "/import/template/partners.csv?language=zh" in page and "/import/template/partners.xlsx?language=zh" in page
    chinese = client.get("/import/template/coverage.csv")
    assert transfer.read_sheet(chinese.data, "csv").columns == ["合作伙伴", "区域", "产品线", "服务层级", "生效日期", "失效日期"]
    english = client.get("/import/template/coverage.xlsx?language=en")
    assert transfer.read_sheet(english.data, "xlsx").columns == list(transfer.COLUMNS["coverage"])
    assert "/import/template/partners.csv?language=en" in client.get("/import?language=en").get_data(as_text=True)

    client.post("/language", data={"locale": "en"})
    assert transfer.read_sheet(client.get("/import/template/engineers.csv").data, "csv").columns == \
        list(transfer.COLUMNS["engineers"])
    assert "/import/template/engineers.csv?language=en" in client.get("/import").get_data(as_text=True)


def test_each_kinds_chinese_template_imports_back_as_its_columns(app):
    for kind in KINDS:
        sheet = transfer.read_sheet(csv_bytes(transfer.headers(kind, "zh"), []), "csv")
        assert transfer.in_columns(kind, sheet).columns == list(transfer.COLUMNS[kind])
