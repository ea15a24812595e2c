"""The import's preview lists every row it would write (new, or each changed cell before → after,
errors beside their cell), paged and filtered; a confirmed import is kept in HQ's history with who,
when, the file's name and hash, its counts and every row it changed."""
import hashlib
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from partnernet.extensions import db
from partnernet.network import service, transfer
from partnernet.network.models import Engineer, ImportedRow, ImportRecord, Party, PartyEvent
from partnernet.network.transfer_views import load_page
from partnernet.timeclock import now_utc
from tests import factories
from tests.test_transfer import NOW, csv_file, partner_row, partners_count, some_columns, upload, uploads  # noqa: F401


def token_of(location: str) -> str:
    return location.rsplit("/", 1)[1]


def rows_on(page: str) -> list[tuple[int, str]]:
    return [(int(row), action) for row, action in re.findall(r'data-row="(\d+)" data-action="(\w+)"', page)]


def test_the_preview_before_and_after_are_exactly_what_the_import_writes(client, login_as, app, uploads):
    party = factories.partner(name="丽水同创", kind="agent", status="active", capacity=10, tiers=["L1", "L2"],
                              contact_phone="0578-1", address="丽水市莲都区", contract_start=date(2025, 1, 1))
    engineer = factories.engineer(party, phone="13800000001")
    kept = {field: service.partner_value(party, field) for field in service.PARTNER_FIELDS}
    db.session.commit()
    manager = factories.user("hq_manager")
    login_as(manager)
    client.post("/language", data={"locale": "en"})
    header = ["名称", "类型", "状态", "省份", "接单容量", "服务层级", "联系电话", "地址", "合同结束日期"]
    content = some_columns(header, [["丽水同创", "联营公司", "已暂停", "浙江省", "25", "L1|L3", " 0578-2 ", "", "2027/6/30"],
                                    ["新伙伴", "代理商", "", "330000", "", "L1", "", "", ""]])
    location = upload(client, content, "伙伴.csv").headers["Location"]
    entries = load_page("partners", token_of(location), "all", 1).entries
    assert [(e["row"], e["action"]) for e in entries] == [(2, "update"), (3, "create")]
    changes = entries[0]["changes"]
    assert changes == {"kind": ["agent", "joint_venture"], "capacity": [10, 25], "tiers": [["L1", "L2"], ["L1", "L3"]],
                       "contact_phone": ["0578-1", "0578-2"], "address": ["丽水市莲都区", None],
                       "contract_end": [None, "2027-06-30"], "status": ["active", "suspended"]}
    page = client.get(location).get_data(as_text=True)
    assert "<del>Agent (agent)</del> → <strong>Joint venture (joint_venture)</strong>" in page
    assert "<del>10</del> → <strong>25</strong>" in page and "<del>L1|L2</del> → <strong>L1|L3</strong>" in page
    assert rows_on(page) == [(2, "update"), (3, "create")]

    assert client.post(location).status_code == 302
    db.session.expire_all()
    party = db.session.get(Party, party.id)
    for field, (before, after) in changes.items():
        assert kept.get(field, "active") == before
        assert (party.status if field == "status" else service.partner_value(party, field)) == after, field
    untouched = set(service.PARTNER_FIELDS) - set(changes)
    assert {f: service.partner_value(party, f) for f in untouched} == {f: kept[f] for f in untouched}
    event = db.session.execute(sa.select(PartyEvent).where(PartyEvent.party_id == party.id,
                                                           PartyEvent.kind == "updated")).scalar_one()
    assert event.data == {f: change for f, change in changes.items() if f != "status"}
    new = db.session.execute(sa.select(Party).where(Party.name == "新伙伴")).scalar_one()
    assert entries[1]["cells"] == {"name": "新伙伴", "name_en": None, "kind": "agent", "status": "onboarding",
                                   "province_code": "330000", "capacity": new.capacity, "tiers": new.tiers,
                                   "contact_name": None, "contact_phone": None, "contact_email": None,
                                   "address": None, "contract_start": None, "contract_end": None}
    assert (new.kind, new.status, new.province_code, new.capacity) == ("agent", "onboarding", "330000", 20)

    # An engineer's update too: the phone and whether active, before → after, as written.
    engineers = some_columns(["partner", "name", "email", "phone", "active"],
                             [["丽水同创", engineer.name, engineer.email, "13900000009", "否"]])
    location = upload(client, engineers, "工程师.csv", kind="engineers").headers["Location"]
    [entry] = load_page("engineers", token_of(location), "changes", 1).entries
    assert entry["changes"] == {"phone": ["13800000001", "13900000009"], "active": [True, False]}
    client.post(location)
    db.session.expire_all()
    written = db.session.get(Engineer, engineer.id)
    assert [written.phone, written.active] == [change[1] for change in entry["changes"].values()]


def test_the_preview_lists_every_row_in_pages_of_100_and_filters_errors_and_changes(client, login_as, app, uploads):
    for n in range(5):
        factories.partner(name=f"代理商{n:04d}", kind="agent", province_code="330000", capacity=10,
                          tiers=["L1", "L2"], contact_email=f"boss{n}@agent.cn", contract_start=date(2025, 1, 1),
                          status="onboarding")
    login_as(factories.user("hq_manager"))
    client.post("/language", data={"locale": "en"})
    rows = [partner_row(n) for n in range(250)]  # rows 2..6 are the five partners above, unchanged
    rows[10]["capacity"] = "0"                    # row 12
    rows[200]["kind"] = "经销商"                   # row 202
    location = upload(client, csv_file("partners", rows), "agents.csv").headers["Location"]
    first = client.get(location).get_data(as_text=True)
    assert [row for row, _ in rows_on(first)] == list(range(2, 102))
    assert (7, "create") in rows_on(first) and (2, "unchanged") in rows_on(first)
    assert "Page 1 of 3" in first
    third = client.get(location + "?page=3").get_data(as_text=True)
    assert [row for row, _ in rows_on(third)] == list(range(202, 252))
    errors = client.get(location + "?show=errors").get_data(as_text=True)
    assert rows_on(errors) == [(12, "error"), (202, "error")]
    assert "<code>capacity</code>" in errors and "经销商" in errors
    changes = rows_on(client.get(location + "?show=changes&page=3").get_data(as_text=True))
    assert [row for row, _ in changes] == [r for r in range(7, 252) if r not in (12, 202)][200:]
    assert {action for _, action in changes} == {"create"}
    assert partners_count() == 5  # nothing written


def test_the_preview_is_titled_with_the_kind_in_words(client, login_as, app, uploads):
    login_as(factories.user("hq_manager"))
    client.post("/language", data={"locale": "zh_CN"})
    location = upload(client, csv_file("partners", [partner_row(1)]), "a.csv").headers["Location"]
    page = client.get(location).get_data(as_text=True)
    assert "导入预览：合作伙伴" in page and "导入预览 partners" not in page


def test_a_confirmed_import_is_kept_with_who_when_the_files_name_and_hash_and_its_counts(
        client, login_as, app, uploads):
    factories.partner(name="代理商0001", kind="agent", capacity=10, tiers=["L1", "L2"], province_code="330000")
    manager = factories.user("hq_manager")
    login_as(manager)
    content = csv_file("partners", [partner_row(n) for n in range(4)])
    location = upload(client, content, "四家代理.csv").headers["Location"]
    assert db.session.execute(sa.select(ImportRecord)).first() is None  # a preview is not an import
    before = now_utc()
    confirmed = client.post(location)
    after = now_utc()
    record = db.session.execute(sa.select(ImportRecord)).scalar_one()
    assert confirmed.headers["Location"] == f"/imports/{record.id}"
    assert (record.actor_user_id, record.kind, record.filename, record.sha256, record.created, record.updated) == \
        (manager.id, "partners", "四家代理.csv", hashlib.sha256(content).hexdigest(), 3, 1)
    assert before - timedelta(seconds=1) <= record.at <= after + timedelta(seconds=1)
    rows = db.session.execute(sa.select(ImportedRow).order_by(ImportedRow.row)).scalars().all()
    assert [(r.row, r.action, r.subject) for r in rows] == [
        (2, "create", "代理商0000"), (3, "update", "代理商0001"), (4, "create", "代理商0002"), (5, "create", "代理商0003")]
    assert rows[1].data["changes"]["contact_email"] == [None, "boss1@agent.cn"]
    assert rows[0].data["cells"]["contact_email"] == "boss0@agent.cn"

    page = client.get(f"/imports/{record.id}").get_data(as_text=True)
    assert "四家代理.csv" in page and record.sha256 in page and manager.name in page
    assert rows_on(page) == [(2, "create"), (3, "update"), (4, "create"), (5, "create")]
    history = client.get("/imports").get_data(as_text=True)
    assert f'href="/imports/{record.id}"' in history and "四家代理.csv" in history


def test_the_command_line_import_is_kept_too_and_a_refused_one_is_not(app):
    content = csv_file("partners", [partner_row(1)])
    transfer.run_import("partners", content, "csv", None, NOW, filename="p.csv")
    with pytest.raises(transfer.ImportRejected):
        transfer.run_import("partners", csv_file("partners", [partner_row(2, kind="reseller")]), "csv", None, NOW)
    transfer.run_import("partners", content, "csv", None, NOW, dry_run=True)
    [record] = db.session.execute(sa.select(ImportRecord)).scalars().all()
    assert (record.actor_user_id, record.at, record.filename, record.created, record.updated) == (None, NOW, "p.csv", 1, 0)


def test_the_history_lists_imports_newest_first_in_keyset_pages(client, login_as, app):
    for n in range(55):
        db.session.add(ImportRecord(at=NOW + timedelta(minutes=n % 50), kind="coverage", filename=f"f{n:02d}.csv",
                                    sha256="0" * 64, created=n, updated=0))
    db.session.commit()
    login_as(factories.user("hq_admin"))
    first = client.get("/imports").get_data(as_text=True)
    names = re.findall(r"f(\d\d)\.csv", first)
    # Minute 49 first; the five pairs sharing a minute (n and n + 50) newest id first.
    assert names[:3] == ["49", "48", "47"] and names[45:] == ["54", "04", "53", "03", "52"]
    assert len(names) == 50
    cursor = re.search(r'href="/imports\?after=([^"]+)"', first).group(1)
    second = client.get(f"/imports?after={cursor}").get_data(as_text=True)
    assert re.findall(r"f(\d\d)\.csv", second) == ["02", "51", "01", "50", "00"]
    assert client.get("/imports?after=forged").status_code == 200  # a cursor we did not write: the first page


@pytest.mark.parametrize("role", ["partner_admin", "engineer", "hq_agent"])
def test_only_hq_managers_see_the_import_history(client, login_as, app, role):
    transfer.run_import("partners", csv_file("partners", [partner_row(1)]), "csv", None, NOW, filename="p.csv")
    record = db.session.execute(sa.select(ImportRecord)).scalar_one()
    partner = factories.partner()
    user = (factories.user(role, party=partner) if role == "partner_admin" else
            factories.user(role, engineer_=factories.engineer(partner)) if role == "engineer" else factories.user(role))
    login_as(user)
    assert client.get("/imports").status_code == 403
    assert client.get(f"/imports/{record.id}").status_code == 403


def test_an_import_that_does_not_exist_is_not_found(client, login_as, app):
    login_as(factories.user("hq_manager"))
    assert client.get("/imports/999").status_code == 404


def test_a_file_of_only_new_rows_lists_them_all_under_only_changes(client, login_as, app, uploads):
    login_as(factories.user("hq_manager"))
    location = upload(client, csv_file("partners", [partner_row(n) for n in range(150)]), "a.csv").headers["Location"]
    second = rows_on(client.get(location + "?show=changes&page=2").get_data(as_text=True))
    assert second == [(row, "create") for row in range(102, 152)]
    assert rows_on(client.get(location + "?show=errors").get_data(as_text=True)) == []
