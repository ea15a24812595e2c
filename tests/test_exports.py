"""Exports stream: each file holds exactly the table's rows, read in a number of statements that
does not grow with the rows, and written in memory that does not grow with them either."""
import csv
import io
import tracemalloc
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from partnernet.customers.models import Customer
from partnernet.extensions import db
from partnernet.network.models import Certification, Engineer, Party, ProductLine
from partnernet.timeclock import today_in_china
from tests import factories

EXPORTS = ["/export/partners", "/export/coverage", "/export/engineers", "/export/certifications",
           "/customers/export"]


@contextmanager
def counted_statements():
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    sa.event.listen(db.engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listener)


def network(partners: int, engineers_each: int, start: int = 0) -> None:
    """Partners, each with coverage, customers and engineers holding two certificates each."""
    lines = [factories.product_line(code).id for code in ("workflow", "mobile")]
    parties = [Party(kind="agent", name=f"导出伙伴{start + n:04d}", status="active", province_code="330000")
               for n in range(partners)]
    db.session.add_all(parties)
    db.session.flush()
    for party in parties:
        factories.coverage(party, "330106")
        db.session.add(Customer(name=f"{party.name}的客户", region_code="330106", sold_by_party_id=party.id))
        engineers = [Engineer(party_id=party.id, name=f"{party.name}工程师{n}", email=f"e{party.id}-{n}@example.com")
                     for n in range(engineers_each)]
        db.session.add_all(engineers)
        db.session.flush()
        db.session.add_all([Certification(engineer_id=e.id, product_line_id=line, level="associate",
                                          number=f"X-{e.id}-{line}", issued_on=today_in_china() - timedelta(days=5),
                                          expires_on=today_in_china() + timedelta(days=700),
                                          status="valid" if line == lines[0] else "pending")
                            for e in engineers for line in lines])
    db.session.commit()


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def xlsx_rows(response) -> list[list[str]]:
    sheet = load_workbook(io.BytesIO(response.get_data()), read_only=True).worksheets[0]
    return [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]


def test_certification_and_engineer_exports_hold_exactly_the_tables_rows(client, login_as, app):
    network(4, 3)
    login_as(factories.user("hq_manager"))
    certificates = db.session.execute(
        sa.select(Party.name, Engineer.name, Engineer.email, ProductLine.code, Certification.level,
                  Certification.number, Certification.issued_on, Certification.expires_on, Certification.status)
        .join(Engineer, Engineer.id == Certification.engineer_id).join(Party, Party.id == Engineer.party_id)
        .join(ProductLine, ProductLine.id == Certification.product_line_id)).all()
    expected = sorted([str(v) for v in row] for row in certificates)
    for rows in (csv_rows(client.get("/export/certifications.csv")),
                 xlsx_rows(client.get("/export/certifications.xlsx"))):
        assert rows[0] == ["partner", "engineer", "engineer_email", "product_line", "level", "number",
                           "issued_on", "expires_on", "status"]
        assert len(rows) - 1 == len(certificates) == 24
        assert sorted(row[:6] + [row[6][:10], row[7][:10], row[8]] for row in rows[1:]) == expected
    engineers = db.session.execute(sa.select(Party.name, Engineer.name, Engineer.email, Engineer.phone)
                                   .join(Party, Party.id == Engineer.party_id)).all()
    rows = csv_rows(client.get("/export/engineers.csv"))
    assert sorted(rows[1:]) == sorted([p, n, e, ph or "", "yes"] for p, n, e, ph in engineers)


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_every_export_reads_as_many_statements_for_200_rows_as_for_20(client, login_as, app, file_format):
    login_as(factories.user("hq_manager"))
    network(2, 5)

    def statements_per_export():
        counts = {}
        for url in EXPORTS:
            with counted_statements() as statements:
                response = client.get(f"{url}.{file_format}")
                response.get_data()
            assert response.status_code == 200
            counts[url] = len(statements)
        return counts

    few = statements_per_export()
    network(20, 5, start=100)
    assert statements_per_export() == few


def export_peak(client, url: str) -> int:
    """The most memory allocated while the export is produced and read a chunk at a time."""
    tracemalloc.start()
    try:
        response = client.get(url, buffered=False)
        for _chunk in response.response:
            pass
        response.close()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_an_exports_memory_does_not_grow_with_its_rows(client, login_as, app, file_format):
    login_as(factories.user("hq_manager"))
    url = f"/export/certifications.{file_format}"
    network(10, 100)
    export_peak(client, url)  # the first export compiles and caches its statements
    small = export_peak(client, url)  # 2,000 certificates: two batches of the server-side cursor
    network(30, 100, start=100)
    large = export_peak(client, url)  # 8,000 certificates
    assert large < 1.5 * small, (small, large)
