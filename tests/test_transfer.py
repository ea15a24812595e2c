"""Bulk import and export: all rows or none, errors named by row, exports that import back exactly."""
import contextlib
import csv
import io
import os
import re
import time
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa

from partnernet import create_app
from partnernet.errors import ValidationFailed
from partnernet.extensions import db
from partnernet.network import transfer
from partnernet.network.models import Certification, Coverage, Engineer, Party, PartyEvent
from partnernet.network.service import partner_list_statement
from partnernet.timeclock import today_in_china
from tests import factories, spreadsheet_bombs

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)
KINDS = ("partners", "coverage", "engineers", "certifications")


def csv_file(kind: str, rows: list[dict], encoding="utf-8-sig") -> bytes:
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=transfer.COLUMNS[kind], lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def partner_row(n: int, **fields) -> dict:
    row = {"name": f"代理商{n:04d}", "kind": "agent", "province_code": "330000", "capacity": "10",
           "tiers": "L1|L2", "contact_email": f"boss{n}@agent.cn", "contract_start": "2025-01-01"}
    row.update(fields)
    return row


def partners_count() -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(Party).where(Party.kind != "hq")).scalar()


def errors_of(kind: str, content: bytes, file_format="csv") -> list[tuple[int, str]]:
    with pytest.raises(transfer.ImportRejected) as rejected:
        transfer.run_import(kind, content, file_format, None, NOW)
    return [(e.row, e.column) for e in rejected.value.plan.errors]


def export_all(kind: str, file_format="csv") -> bytes:
    return transfer.export_file(kind, file_format, partner_list_statement(today_in_china()))


@pytest.fixture
def uploads(app, tmp_path):
    """Keep the web flow's stored uploads out of the real instance folder."""
    app.instance_path = str(tmp_path)
    return tmp_path / "imports"


@contextlib.contextmanager
def empty_database(database_factory):
    """A second app on its own freshly migrated database: the 'other machine' of a migration."""
    url = database_factory.clone()
    other = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "WTF_CSRF_ENABLED": False})
    try:
        with other.app_context():
            yield other
            db.session.remove()
            db.engine.dispose()
    finally:
        database_factory.drop(url)


# --- all or nothing ------------------------------------------------------------------------

def test_one_bad_row_among_500_writes_nothing_and_names_that_row_and_column(app):
    rows = [partner_row(n) for n in range(500)]
    rows[375]["province_code"] = "990000"  # the 376th data row: spreadsheet row 377 under the header
    assert errors_of("partners", csv_file("partners", rows)) == [(377, "province_code")]
    assert partners_count() == 0
    assert db.session.execute(sa.select(PartyEvent)).first() is None


def test_a_valid_import_writes_every_row_with_a_created_event(app):
    plan = transfer.run_import("partners", csv_file("partners", [partner_row(n) for n in range(500)]), "csv",
                               None, NOW)
    assert plan.counts["create"] == 500 and not plan.errors
    assert partners_count() == 500
    party = db.session.execute(sa.select(Party).where(Party.name == "代理商0042")).scalar_one()
    assert (party.kind, party.status, party.province_code, party.capacity, party.tiers, party.contract_start) == \
        ("agent", "onboarding", "330000", 10, ["L1", "L2"], date(2025, 1, 1))
    event = db.session.execute(sa.select(PartyEvent).where(PartyEvent.party_id == party.id)).scalar_one()
    assert (event.kind, event.reason) == ("created", "import")


def test_importing_1500_partners_takes_seconds_and_looks_nothing_up_per_row(app):
    content = csv_file("partners", [partner_row(n) for n in range(1500)])
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    sa.event.listen(db.engine, "before_cursor_execute", listener)
    started = time.perf_counter()
    try:
        transfer.run_import("partners", content, "csv", None, NOW)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listener)
    elapsed = time.perf_counter() - started
    assert partners_count() == 1500
    lookups = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(lookups) < 10, f"{len(lookups)} queries for 1,500 rows"
    assert elapsed < 20, f"{elapsed:.1f} s"


# --- row errors ----------------------------------------------------------------------------

def test_unknown_partner_kind_is_an_error_on_its_row(app):
    rows = [partner_row(1), partner_row(2, kind="distributor")]
    assert errors_of("partners", csv_file("partners", rows)) == [(3, "kind")]


@pytest.mark.parametrize("bad", ["2025-02-30", "next year", "31/12/2025"])
def test_bad_date_is_an_error_on_its_row(app, bad):
    rows = [partner_row(1, contract_end=bad)]
    assert errors_of("partners", csv_file("partners", rows)) == [(2, "contract_end")]


def test_partner_province_must_be_a_province(app):
    rows = [partner_row(1, province_code="330106")]  # a county
    assert errors_of("partners", csv_file("partners", rows)) == [(2, "province_code")]


def test_capacity_must_be_a_positive_whole_number(app):
    rows = [partner_row(1, capacity="0"), partner_row(2, capacity="many"), partner_row(3, capacity="")]
    assert errors_of("partners", csv_file("partners", rows)) == [(2, "capacity"), (3, "capacity")]


def test_a_partner_twice_in_one_file_is_an_error(app):
    rows = [partner_row(1), partner_row(2), partner_row(1, kind="branch")]
    assert errors_of("partners", csv_file("partners", rows)) == [(4, "name")]


def test_missing_required_column_is_reported_on_the_header_row(app):
    content = "name,kind\n甲,agent\n".encode()
    assert (1, "province_code") in errors_of("partners", content)


def test_coverage_with_unknown_region_or_partner_or_reversed_dates_is_refused(app):
    partner = factories.partner(tiers=["L1", "L2"])
    rows = [
        {"partner": partner.name, "region_code": "330106", "product_lines": "all", "tiers": "L1|L2",
         "effective_from": "2025-01-01"},
        {"partner": partner.name, "region_code": "339999", "product_lines": "all", "tiers": "L1",
         "effective_from": "2025-01-01"},
        {"partner": "不存在的伙伴", "region_code": "330106", "product_lines": "workflow", "tiers": "L1",
         "effective_from": "2025-01-01"},
        {"partner": partner.name, "region_code": "330100", "product_lines": "workflow|crm", "tiers": "L3",
         "effective_from": "2025-06-01", "effective_to": "2025-01-01"},
    ]
    assert errors_of("coverage", csv_file("coverage", rows)) == [
        (3, "region_code"), (4, "partner"), (5, "product_lines"), (5, "tiers"), (5, "effective_to")]
    assert db.session.execute(sa.select(Coverage)).first() is None


def test_duplicate_certificate_number_within_the_file_is_an_error(app):
    engineer = factories.engineer(factories.partner())
    row = {"partner": engineer.party.name, "engineer": engineer.name, "engineer_email": engineer.email,
           "product_line": "workflow", "level": "expert", "number": "WF-001", "issued_on": "2025-01-01",
           "expires_on": "2027-01-01", "status": "valid"}
    rows = [row, dict(row, level="associate"), dict(row, product_line="mobile")]  # another line may reuse it
    assert errors_of("certifications", csv_file("certifications", rows)) == [(3, "number")]
    assert db.session.execute(sa.select(Certification)).first() is None


def test_certificate_number_already_registered_is_an_error(app):
    engineer = factories.engineer(factories.partner())
    factories.certification(engineer, line="workflow", number="WF-777")
    row = {"partner": engineer.party.name, "engineer": engineer.name, "product_line": "workflow",
           "level": "expert", "number": "WF-777", "issued_on": "2025-01-01", "expires_on": "2027-01-01"}
    assert errors_of("certifications", csv_file("certifications", [row])) == [(2, "number")]


def test_certification_expiry_must_follow_issue_and_engineer_must_exist(app):
    engineer = factories.engineer(factories.partner())
    base = {"partner": engineer.party.name, "engineer": engineer.name, "product_line": "workflow",
            "level": "expert", "number": "X-1", "issued_on": "2025-01-01", "expires_on": "2025-01-01"}
    rows = [base, dict(base, number="X-2", expires_on="2026-01-01", engineer="无名氏"),
            dict(base, number="X-3", expires_on="2026-01-01", level="guru")]
    assert errors_of("certifications", csv_file("certifications", rows)) == [
        (2, "expires_on"), (3, "engineer"), (4, "level")]


# --- what an import writes ------------------------------------------------------------------

def test_imported_valid_certification_counts_as_reviewed_and_blank_status_is_pending(app):
    engineer = factories.engineer(factories.partner())
    manager = factories.user("hq_manager")
    base = {"partner": engineer.party.name, "engineer": engineer.name, "product_line": "workflow",
            "level": "expert", "issued_on": "2025-01-01", "expires_on": "2027-01-01"}
    transfer.run_import("certifications", csv_file("certifications", [
        dict(base, number="A-1", status="valid"), dict(base, number="A-2", product_line="mobile")]),
        "csv", manager.id, NOW)
    valid, pending = db.session.execute(sa.select(Certification).order_by(Certification.number)).scalars()
    assert (valid.status, valid.reviewed_by_id, valid.reviewed_at is not None) == ("valid", manager.id, True)
    assert (pending.status, pending.reviewed_at) == ("pending", None)


def test_existing_partner_is_updated_and_its_status_change_recorded(app):
    partner = factories.partner(status="active", capacity=10)
    rows = [partner_row(1, name=partner.name, status="probation", capacity="30")]
    plan = transfer.run_import("partners", csv_file("partners", rows), "csv", None, NOW)
    assert plan.counts["update"] == 1
    db.session.refresh(partner)
    assert (partner.status, partner.capacity) == ("probation", 30)
    kinds = db.session.execute(sa.select(PartyEvent.kind, PartyEvent.reason)
                               .where(PartyEvent.party_id == partner.id)).all()
    assert set(kinds) == {("updated", "import"), ("status_changed", "import")}


def some_columns(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows([header, *rows])
    return out.getvalue().encode("utf-8")


def test_an_update_changes_only_the_columns_the_file_has(app):
    partner = factories.partner(contact_name="王经理", contact_phone="0571-1234", address="杭州市西湖区",
                                contract_start=date(2025, 1, 1), capacity=12)
    header = ["name", "kind", "province_code", "tiers"]
    plan = transfer.run_import("partners", some_columns(header, [[partner.name, "agent", "330000", "L1|L2"]]),
                               "csv", None, NOW)
    assert plan.counts["unchanged"] == 1
    db.session.refresh(partner)
    assert (partner.contact_name, partner.contact_phone, partner.address, partner.contract_start, partner.capacity) \
        == ("王经理", "0571-1234", "杭州市西湖区", date(2025, 1, 1), 12)
    # A column that is there but empty does clear its value.
    transfer.run_import("partners", some_columns(header + ["contact_phone"],
                                                 [[partner.name, "agent", "330000", "L1|L2", ""]]), "csv", None, NOW)
    db.session.refresh(partner)
    assert (partner.contact_name, partner.contact_phone) == ("王经理", None)


def test_an_engineer_update_without_phone_or_active_columns_keeps_them(app):
    partner = factories.partner()
    engineer = factories.engineer(partner, phone="13800000000", active=False)
    plan = transfer.run_import("engineers", some_columns(["partner", "name", "email"],
                                                         [[partner.name, engineer.name, engineer.email]]),
                               "csv", None, NOW)
    assert plan.counts["unchanged"] == 1
    db.session.refresh(engineer)
    assert (engineer.phone, engineer.active) == ("13800000000", False)


def test_an_engineer_set_inactive_by_import_can_no_longer_sign_in(app):
    from partnernet.auth.service import authenticate
    partner = factories.partner()
    engineer = factories.engineer(partner)
    user = factories.user("engineer", engineer_=engineer)
    transfer.run_import("engineers", some_columns(["partner", "name", "email", "active"],
                                                  [[partner.name, engineer.name, engineer.email, "no"]]),
                        "csv", None, NOW)
    assert authenticate(user.email, factories.PASSWORD) is None


def test_suspending_a_partner_by_import_withdraws_its_live_offers(app):
    from tests.test_tickets import certified_partner, open_ticket
    first, _ = certified_partner()
    second, _ = certified_partner()
    ticket = open_ticket()
    offered = db.session.get(Party, ticket.offered_party_id)
    other = second if offered.id == first.id else first
    transfer.run_import("partners", csv_file("partners", [partner_row(
        1, name=offered.name, kind=offered.kind, status="suspended", tiers="L1|L2")]), "csv", None, NOW)
    db.session.expire_all()
    assert db.session.get(Party, offered.id).status == "suspended"
    assert db.session.get(type(ticket), ticket.id).offered_party_id == other.id


def test_import_refuses_a_status_change_that_is_not_an_allowed_transition(app):
    partner = factories.partner(status="terminated")
    rows = [partner_row(1, name=partner.name, status="active")]
    assert errors_of("partners", csv_file("partners", rows)) == [(2, "status")]


def test_importing_the_same_file_twice_changes_nothing_the_second_time(app):
    content = csv_file("partners", [partner_row(n) for n in range(3)])
    transfer.run_import("partners", content, "csv", None, NOW)
    again = transfer.run_import("partners", content, "csv", None, NOW)
    assert (again.counts["create"], again.counts["update"], again.counts["unchanged"]) == (0, 0, 3)
    assert partners_count() == 3


def test_gb18030_csv_and_excel_dates_are_read(app):
    content = csv_file("partners", [partner_row(1, address="杭州市西湖区")], encoding="gb18030")
    transfer.run_import("partners", content, "csv", None, NOW)
    assert db.session.execute(sa.select(Party.address).where(Party.name == "代理商0001")).scalar() == "杭州市西湖区"

    from openpyxl import Workbook
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["name", "kind", "province_code", "tiers", "capacity", "contract_start"])
    sheet.append([])  # a blank row is skipped but still counts in the numbering
    sheet.append(["代理商0002", "agent", 330000, "L1", 12.0, datetime(2024, 3, 1)])
    sheet.append(["代理商0003", "agent", 330000, "L1", 12, "2024/3/32"])
    out = io.BytesIO()
    workbook.save(out)
    assert errors_of("partners", out.getvalue(), "xlsx") == [(4, "contract_start")]


# --- files that must not take the server down -------------------------------------------------
# Each is refused with 422 naming the limit, quickly and in little memory (benchmarks/README.md
# "Import limits" has the time and memory measured); here, the answer and its message.

def upload(client, content: bytes, filename: str, kind="partners"):
    return client.post("/import", data={"kind": kind, "file": (io.BytesIO(content), filename)},
                       content_type="multipart/form-data")


def test_a_workbook_with_one_200_mb_shared_string_is_refused_on_the_form_naming_the_cell_limit(
        client, login_as, app, uploads):
    login_as(factories.user("hq_manager"))
    bomb = spreadsheet_bombs.huge_shared_string(200)
    assert len(bomb) < 300 * 1024
    response = upload(client, bomb, "partners.xlsx")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "超过 1,000 个字符" in page  # in the user's language (zh_CN, the default)
    assert "A" * 40 + "…" in page and "A" * 41 not in page  # a short start of the value, never the value
    assert 'class="invalid-feedback"' in page
    assert not uploads.exists() or os.listdir(uploads) == []
    assert partners_count() == 0


def test_a_shared_string_cut_into_rich_text_runs_is_refused_all_the_same(app):
    with pytest.raises(ValidationFailed, match="longer than 1,000 characters"):
        transfer.read_sheet(spreadsheet_bombs.split_shared_string(200), "xlsx")


def test_a_200_mb_inline_cell_is_refused_naming_the_cell_limit(app):
    with pytest.raises(ValidationFailed, match="longer than 1,000 characters: B{40}…$"):
        transfer.read_sheet(spreadsheet_bombs.huge_inline_cell(200), "xlsx")


def test_a_workbook_of_5_million_rows_is_refused_naming_the_row_limit(client, login_as, app, uploads):
    login_as(factories.user("hq_manager"))
    client.post("/language", data={"locale": "en"})
    response = upload(client, spreadsheet_bombs.many_rows(5_000_000), "partners.xlsx")
    assert response.status_code == 422
    assert "more than 200,000 rows" in response.get_data(as_text=True)


def test_the_cli_refuses_a_bomb_with_the_limit_and_exit_1(app, tmp_path):
    path = tmp_path / "partners.xlsx"
    path.write_bytes(spreadsheet_bombs.many_rows(5_000_000))
    result = app.test_cli_runner().invoke(args=["import", "partners", str(path)])
    assert result.exit_code == 1
    assert "more than 200,000 rows" in result.output
    assert partners_count() == 0


def test_a_workbook_that_unpacks_past_the_limit_is_refused_before_it_is_read(app):
    limits = transfer.ImportLimits(unpacked_megabytes=100)
    with pytest.raises(ValidationFailed, match="unpacks to more than 100 MB"):
        transfer.read_sheet(spreadsheet_bombs.huge_shared_string(101), "xlsx", limits)


@pytest.mark.parametrize("damage", ["truncated", "corrupt part", "not a zip"])
def test_a_damaged_workbook_is_refused_as_not_a_workbook(app, damage):
    good = spreadsheet_bombs.workbook([spreadsheet_bombs.inline_row(1, spreadsheet_bombs.HEADER)], [])
    start = good.index(b"xl/worksheets/sheet1.xml") + 40  # inside the sheet's deflated bytes
    content = {"truncated": good[:len(good) // 2], "not a zip": b"name,kind\n",
               "corrupt part": good[:start] + b"\xff" * 20 + good[start + 20:]}[damage]
    with pytest.raises(ValidationFailed, match="not an Excel workbook"):
        transfer.read_sheet(content, "xlsx")


def test_a_csv_past_the_row_limit_is_refused_and_one_at_it_is_read(app):
    limits = transfer.ImportLimits(rows=1000)
    assert len(transfer.read_sheet(spreadsheet_bombs.csv_many_rows(1000), "csv", limits).rows) == 1000
    with pytest.raises(ValidationFailed, match="more than 1,000 rows"):
        transfer.read_sheet(spreadsheet_bombs.csv_many_rows(1001), "csv", limits)
    with pytest.raises(ValidationFailed, match="more than 200,000 rows"):  # the default, from a 6 MB file
        transfer.read_sheet(spreadsheet_bombs.csv_many_rows(250_000), "csv")


def test_a_csv_cell_past_the_cell_limit_is_refused_quoting_its_start(app):
    with pytest.raises(ValidationFailed, match="^Row 2 has a cell longer than 1,000 characters: C{40}…$"):
        transfer.read_sheet(spreadsheet_bombs.csv_huge_cell(1001), "csv")
    with pytest.raises(ValidationFailed, match="^Row 2 has a cell longer than 1,000 characters: C{40}…$"):
        transfer.read_sheet(spreadsheet_bombs.csv_huge_cell(5_000_000), "csv")  # past csv's own limit too
    assert transfer.read_sheet(spreadsheet_bombs.csv_huge_cell(1000), "csv").rows[0][1]["name"] == "C" * 1000


def test_an_error_message_quotes_only_the_start_of_a_long_value(app):
    rows = [partner_row(1, kind="k" * 900)]
    [error] = transfer.preview("partners", csv_file("partners", rows), "csv")[1].errors
    assert "k" * 40 + "…;" in error.message and "k" * 41 not in error.message


def test_the_limits_are_settings_from_the_environment(client, login_as, app, uploads, monkeypatch):
    from partnernet.config import from_environment
    monkeypatch.setenv("IMPORT_MAX_ROWS", "3")
    monkeypatch.setenv("IMPORT_MAX_CELL_CHARACTERS", "500")
    settings = from_environment(app.instance_path)
    assert (settings["IMPORT_MAX_ROWS"], settings["IMPORT_MAX_CELL_CHARACTERS"],
            settings["IMPORT_MAX_UNPACKED_MB"]) == (3, 500, 256)
    app.config["IMPORT_MAX_ROWS"] = 3
    login_as(factories.user("hq_manager"))
    client.post("/language", data={"locale": "en"})
    response = upload(client, csv_file("partners", [partner_row(n) for n in range(4)]), "p.csv")
    assert response.status_code == 422
    assert "more than 3 rows" in response.get_data(as_text=True)
    assert upload(client, csv_file("partners", [partner_row(n) for n in range(3)]), "p.csv").status_code == 302


def test_reloading_the_preview_shows_the_plan_made_at_upload_without_reading_the_file_again(
        client, login_as, app, uploads):
    login_as(factories.user("hq_manager"))
    rows = [partner_row(n) for n in range(5)] + [partner_row(9, kind="reseller")]
    preview_url = upload(client, csv_file("partners", rows), "agents.csv").headers["Location"]
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    sa.event.listen(db.engine, "before_cursor_execute", listener)
    try:
        pages = [client.get(preview_url).get_data(as_text=True) for _ in range(3)]
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listener)
    assert all("reseller" in page and "<code>kind</code>" in page for page in pages)
    # No row is checked again: the regions and partners an import checks against are not read
    # (the page's layout reads the signed-in user's own party, by id).
    lookups = [s for s in statements if re.search(r"\bFROM (region|party)\b", s) and "party.id = " not in s]
    assert not lookups, lookups
    # The stored plan is what the page shows, whatever became of the file uploaded.
    [stored] = os.listdir(uploads)
    assert stored.endswith(".plan") and csv_file("partners", rows) not in (uploads / stored).read_bytes()


def test_confirming_imports_the_rows_read_at_upload(client, login_as, app, uploads):
    login_as(factories.user("hq_manager"))
    preview_url = upload(client, csv_file("partners", [partner_row(n) for n in range(3)]), "a.csv").headers[
        "Location"]
    assert client.post(preview_url).status_code == 302
    assert partners_count() == 3 and os.listdir(uploads) == []


def test_a_preview_token_of_another_kind_is_not_found(client, login_as, app, uploads):
    login_as(factories.user("hq_manager"))
    preview_url = upload(client, csv_file("partners", [partner_row(1)]), "a.csv").headers["Location"]
    assert client.get(preview_url.replace("/partners/", "/engineers/")).status_code == 404
    assert client.post(preview_url.replace("/partners/", "/engineers/")).status_code == 404


# --- export and the round trip ---------------------------------------------------------------

def seed_network():
    """A few partners with coverage at several levels, engineers, certifications in each status."""
    branch = factories.partner(kind="branch", name="浙江分公司", tiers=["L1", "L2", "L3"], capacity=40,
                               contact_phone="+86 571 8888 0000", address="杭州市西湖区文三路 1 号",
                               contract_start=date(2024, 1, 1), contract_end=date(2026, 12, 31))
    agent = factories.partner(kind="agent", name="=西湖代理", name_en="Xihu Agent", status="probation",
                              province_code="440000", contact_email="boss@xihu.cn")
    factories.coverage(branch, "330000", tiers=["L1", "L2", "L3"])
    line_coverage = factories.coverage(branch, "330106", tiers=["L1"], all_product_lines=False,
                                       effective_to=date(2025, 6, 30))
    line_coverage.product_lines = [factories.product_line("workflow"), factories.product_line("mobile")]
    factories.coverage(agent, "440100", tiers=["L2"])
    db.session.commit()
    lead = factories.engineer(branch, phone="13800000000")
    retired = factories.engineer(branch, active=False)
    no_email = factories.engineer(agent)
    no_email.email = None
    db.session.commit()
    factories.certification(lead, "workflow", number="WF-1", level="expert")
    factories.certification(lead, "mobile", number="MB-1", status="pending")
    factories.certification(retired, "workflow", number="WF-2", status="expired",
                            issued_on=date(2020, 1, 1), expires_on=date(2022, 1, 1))
    factories.certification(no_email, "workflow", number="WF-2", status="rejected")  # a rejected number is free
    factories.certification(no_email, "oa-core", number="OA-1", status="revoked", level="associate")
    return branch, agent


def test_export_then_import_into_an_empty_database_reproduces_everything_exactly(app, database_factory):
    seed_network()
    exported = {kind: export_all(kind) for kind in KINDS}
    assert exported["partners"].startswith("\ufeff".encode())  # Excel needs the BOM to read Chinese
    assert exported["coverage"].count(b"\r\n") == 4 and exported["certifications"].count(b"\r\n") == 6
    with empty_database(database_factory):
        assert partners_count() == 0
        for kind in KINDS:
            transfer.run_import(kind, exported[kind], "csv", None, NOW)
        again = {kind: export_all(kind) for kind in KINDS}
    assert again == exported


def test_xlsx_export_then_import_reproduces_everything(app, database_factory):
    seed_network()
    exported = {kind: export_all(kind, "xlsx") for kind in KINDS}
    with empty_database(database_factory):
        for kind in KINDS:
            transfer.run_import(kind, exported[kind], "xlsx", None, NOW)
        again = {kind: export_all(kind, "xlsx") for kind in KINDS}
    for kind in KINDS:
        assert transfer.read_sheet(again[kind], "xlsx") == transfer.read_sheet(exported[kind], "xlsx")
    rows = transfer.read_sheet(exported["partners"], "xlsx").rows
    assert {"=西湖代理", "浙江分公司"} == {cells["name"] for _, cells in rows}  # text, never a formula


def test_csv_export_keeps_formula_like_text_from_running_in_a_spreadsheet(app):
    seed_network()
    text = export_all("partners").decode("utf-8-sig")
    assert "'=西湖代理" in text and "'+86 571 8888 0000" in text


def test_export_writes_what_the_filtered_list_shows(client, login_as, app):
    branch, agent = seed_network()
    login_as(factories.user("hq_manager"))
    response = client.get("/export/partners.csv?kind=branch")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    assert f"partnernet-partners-{today_in_china():%Y}" in response.headers["Content-Disposition"]
    names = [cells["name"] for _, cells in transfer.read_sheet(response.data, "csv").rows]
    assert names == ["浙江分公司"]
    engineers = transfer.read_sheet(client.get("/export/engineers.xlsx?status=probation").data, "xlsx").rows
    assert {cells["partner"] for _, cells in engineers} == {agent.name}


@pytest.mark.parametrize("url", ["/export/partners.csv", "/import/template/coverage.csv"])
def test_csv_downloads_name_their_charset_once(client, login_as, app, url):
    login_as(factories.user("hq_manager"))
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"


def test_partners_list_offers_export_with_its_filters(client, login_as, app):
    login_as(factories.user("hq_manager"))
    page = client.get("/partners/?kind=agent").get_data(as_text=True)
    assert "/export/partners.csv?kind=agent" in page and "/export/partners.xlsx?kind=agent" in page


# --- the web flow, roles and the CLI -------------------------------------------------------

def test_web_import_previews_without_writing_and_writes_on_confirm(client, login_as, app, uploads):
    login_as(factories.user("hq_manager"))
    content = csv_file("partners", [partner_row(n) for n in range(5)])
    response = client.post("/import", data={"kind": "partners", "file": (io.BytesIO(content), "agents.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    preview_url = response.headers["Location"]
    page = client.get(preview_url)
    assert page.status_code == 200
    assert f'action="{preview_url}"' in page.get_data(as_text=True)  # the confirmation form
    assert partners_count() == 0
    assert len(os.listdir(uploads)) == 1  # kept on disk for the confirmation, not in the session
    confirmed = client.post(preview_url)
    assert confirmed.status_code == 302
    assert partners_count() == 5
    assert os.listdir(uploads) == []


def test_web_preview_lists_the_bad_rows_and_offers_no_confirmation(client, login_as, app, uploads):
    login_as(factories.user("hq_admin"))
    rows = [partner_row(1), partner_row(2, kind="reseller")]
    response = client.post("/import", data={"kind": "partners", "file": (io.BytesIO(csv_file("partners", rows)),
                                                                       "agents.csv")},
                           content_type="multipart/form-data", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "reseller" in page and "<code>kind</code>" in page
    assert 'method="post" action="/import/partners/' not in page
    assert client.post(response.request.path).status_code == 422  # confirming anyway writes nothing
    assert partners_count() == 0


def test_web_import_refuses_a_file_over_10_mb(client, login_as, app, uploads):
    login_as(factories.user("hq_manager"))
    big = b"name\n" + b"x" * (transfer.MAX_FILE_BYTES + 10)
    response = client.post("/import", data={"kind": "partners", "file": (io.BytesIO(big), "big.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 413
    assert not uploads.exists() or os.listdir(uploads) == []


@pytest.mark.parametrize("url", ["/import", "/export/partners.csv", "/export/certifications.xlsx",
                                 "/import/template/partners.csv"])
def test_partner_admin_may_not_import_or_export(client, login_as, app, url):
    partner = factories.partner()
    login_as(factories.user("partner_admin", party=partner))
    assert client.get(url).status_code == 403


def test_partner_admin_may_not_upload_an_import(client, login_as, app, uploads):
    login_as(factories.user("partner_admin", party=factories.partner()))
    content = csv_file("partners", [partner_row(1)])
    response = client.post("/import", data={"kind": "partners", "file": (io.BytesIO(content), "a.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 403
    assert partners_count() == 1  # only the admin's own partner


def test_import_page_documents_columns_and_offers_templates(client, login_as, app):
    login_as(factories.user("hq_manager"))
    page = client.get("/import").get_data(as_text=True)
    for kind in KINDS:
        assert f"/import/template/{kind}.csv" in page and f"/import/template/{kind}.xlsx" in page
    template = client.get("/import/template/certifications.xlsx?language=en")
    assert transfer.read_sheet(template.data, "xlsx").columns == list(transfer.COLUMNS["certifications"])
    template = client.get("/import/template/certifications.xlsx?language=zh")
    assert transfer.read_sheet(template.data, "xlsx").columns == transfer.headers("certifications", "zh")


def test_cli_dry_run_writes_nothing(app, tmp_path):
    path = tmp_path / "partners.csv"
    path.write_bytes(csv_file("partners", [partner_row(n) for n in range(3)]))
    result = app.test_cli_runner().invoke(args=["import", "partners", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "3 to create" in result.output
    assert partners_count() == 0
    result = app.test_cli_runner().invoke(args=["import", "partners", str(path)])
    assert result.exit_code == 0, result.output
    assert partners_count() == 3


def test_cli_import_prints_row_errors_and_exits_1_without_writing(app, tmp_path):
    path = tmp_path / "partners.csv"
    path.write_bytes(csv_file("partners", [partner_row(1), partner_row(2, contract_start="2025-13-01")]))
    result = app.test_cli_runner().invoke(args=["import", "partners", str(path)])
    assert result.exit_code == 1
    assert "row 3, contract_start" in result.output
    assert partners_count() == 0


def test_cli_export_writes_the_file_its_extension_names(app, tmp_path):
    seed_network()
    path = tmp_path / "coverage.xlsx"
    result = app.test_cli_runner().invoke(args=["export", "coverage", str(path)])
    assert result.exit_code == 0, result.output
    assert len(transfer.read_sheet(path.read_bytes(), "xlsx").rows) == 3


def test_names_of_invisible_characters_are_row_errors_in_an_import(app):
    invisible = "\u202e\u200d\ufeff"
    rows = [partner_row(1), partner_row(2, name=invisible), partner_row(3, contact_name=invisible),
            partner_row(4, name_en=" \u3164 ")]
    assert errors_of("partners", csv_file("partners", rows)) == [(3, "name"), (4, "contact_name"), (5, "name_en")]
    partner = factories.partner(name="温州新锐科技")
    engineers = [{"partner": partner.name, "name": "王工"}, {"partner": partner.name, "name": invisible}]
    assert errors_of("engineers", csv_file("engineers", engineers)) == [(3, "name")]
    assert partners_count() == 1


def test_imported_names_are_kept_in_nfkc_without_invisible_ends(app):
    transfer.run_import("partners", csv_file("partners", [partner_row(1, name="\u200dＡＢＣ科技\ufeff")]), "csv",
                        None, NOW)
    assert db.session.execute(sa.select(Party.name).where(Party.kind != "hq")).scalar_one() == "ABC科技"
    engineers = [{"partner": "ＡＢＣ科技", "name": "王工\u200d"}]  # the partner found by its NFKC name too
    transfer.run_import("engineers", csv_file("engineers", engineers), "csv", None, NOW)
    assert db.session.execute(sa.select(Engineer.name)).scalar_one() == "王工"
