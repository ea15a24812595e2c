"""Reports as files and pages: the ticket list exported with the list's own filters and scope, in
the reader's language with real date and number cells; each month's SLA results; a partner's
settlement, whose totals are the ticket list's count for the same filter; a partner reads only its own."""
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from partnernet.extensions import db
from partnernet.fieldwork.models import Visit
from partnernet.tickets.queries import TicketFilters, list_page, ticket_list_statement
from tests import factories
from tests.test_exports import counted_statements, csv_rows, export_peak
from tests.test_reports_monthly import IN_NOVEMBER, served_ticket

UTC = timezone.utc
NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


def some_tickets(partner, other):
    """Of `partner`: two billable served in November, one included, one open; of `other`: two."""
    seller_customer = factories.customer(sold_by=partner)
    tickets = {
        "billable": served_ticket(partner, billable=True, billable_reason="service_unpaid", tier="L3"),
        "billable_late": served_ticket(partner, resolved_at=IN_NOVEMBER + timedelta(days=5), billable=True,
                                       billable_reason="no_contract", response="breached"),
        "included": served_ticket(partner),
        "open": factories.ticket(factories.customer(), owner_party_id=partner.id, status="in_progress",
                                 billable=True, billable_reason="no_contract"),
        "other": served_ticket(other, billable=True, billable_reason="no_contract"),
        "other_open": factories.ticket(factories.customer(), offered_party_id=other.id, status="offered",
                                       offer_deadline=NOW),
        "hq_for_partner": served_ticket(factories.hq(), customer=seller_customer, tier="L2"),
        "hq_for_other": served_ticket(factories.hq()),
    }
    return tickets


def list_ids(user, args: dict) -> list[int]:
    filters = TicketFilters.from_args(args)
    return [t.id for t in list_page(ticket_list_statement(user, filters, NOW), filters, per_page=1000).items]


@pytest.mark.parametrize("args", [{}, {"billable": "yes"}, {"status": "open"}, {"resolved": "2026-11"},
                                  {"billable": "yes", "resolved": "2026-11", "sort": "id", "order": "asc"}])
def test_the_ticket_export_holds_the_lists_rows_for_the_same_filter_and_scope(client, login_as, app, args):
    partner, other = factories.partner(), factories.partner()
    some_tickets(partner, other)
    for user in (factories.user("partner_admin", party=partner), factories.user("hq_agent")):
        login_as(user)
        response = client.get("/reports/tickets.csv", query_string=args)
        assert response.status_code == 200
        exported = [int(row[0]) for row in csv_rows(response)[1:]]
        assert exported == list_ids(user, args)
        assert exported  # each filter here holds tickets
        client.post("/logout")


def test_the_ticket_list_links_to_its_export_with_its_filters(client, login_as, app):
    login_as(factories.user("hq_agent"))
    page = client.get("/tickets/?billable=yes&resolved=2026-11").get_data(as_text=True)
    assert "/reports/tickets.xlsx?billable=yes&amp;resolved=2026-11" in page
    assert "/reports/tickets.csv?billable=yes&amp;resolved=2026-11" in page


def test_the_ticket_export_says_each_targets_outcome_and_why_a_ticket_is_billable(client, login_as, app):
    partner = factories.partner()
    tickets = some_tickets(partner, factories.partner())
    login_as(factories.user("hq_agent", locale="en"))
    rows = {row[0]: dict(zip(rows_header, row)) for rows_header, row in
            ((csv_rows(client.get("/reports/tickets.csv"))[0], r) for r in csv_rows(client.get("/reports/tickets.csv"))[1:])}
    late = rows[str(tickets["billable_late"].id)]
    assert (late["Response target"], late["Resolution target"]) == ("Breached", "Met")
    assert (late["Billable"], late["Why billable"]) == ("Yes", "no contract")
    assert late["Resolved at"] == "2026-11-15 10:00"  # 02:00 UTC is 10:00 in China
    open_ = rows[str(tickets["open"].id)]
    assert (open_["Response target"], open_["Resolved at"]) == ("", "")
    assert rows[str(tickets["included"].id)]["Why billable"] == ""


def test_the_xlsx_speaks_chinese_to_a_chinese_reader_with_dates_and_numbers_as_cells(client, login_as, app):
    partner = factories.partner()
    tickets = some_tickets(partner, factories.partner())
    login_as(factories.user("hq_agent", locale="zh_CN"))
    response = client.get("/reports/tickets.xlsx?sort=id&order=asc")
    assert response.status_code == 200
    sheet = load_workbook(__import__("io").BytesIO(response.get_data())).worksheets[0]
    header = [cell.value for cell in sheet[1]]
    assert header[:3] == ["工单", "主题", "客户"] and "响应截止时间" in header and "收费原因" in header
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["B"].width >= 20  # the subject's column is wide
    first = {header[n]: cell for n, cell in enumerate(sheet[2])}
    assert first["工单"].data_type == "n" and first["工单"].value == tickets["billable"].id
    assert first["解决时间"].is_date and first["解决时间"].value == datetime(2026, 11, 10, 10, 0)  # China time
    assert first["创建时间"].is_date


def test_the_ticket_export_is_streamed_in_statements_that_do_not_grow_with_the_rows(client, login_as, app):
    login_as(factories.user("hq_agent"))
    partner = factories.partner()

    def statements():
        with counted_statements() as executed:
            response = client.get("/reports/tickets.csv")
            assert response.is_streamed  # written as it is sent, not built whole
            response.get_data()
        return len(executed)

    for _ in range(3):
        served_ticket(partner)
    few = statements()
    for _ in range(30):
        served_ticket(partner)
    assert statements() == few


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_the_ticket_exports_memory_does_not_grow_with_its_rows(client, login_as, app, file_format):
    login_as(factories.user("hq_agent"))
    partner, customer = factories.partner(), factories.customer()

    def add(count):
        db.session.execute(sa.insert(factories.Ticket), [
            dict(customer_id=customer.id, region_code=customer.region_code, product_line_id=factories.product_line().id,
                 complexity="simple", channel="phone", tier="L1", subject=f"工单{n}", status="closed",
                 owner_party_id=partner.id, resolved_at=IN_NOVEMBER, created_at=IN_NOVEMBER, updated_at=IN_NOVEMBER,
                 billable=False) for n in range(count)])
        db.session.commit()

    url = f"/reports/tickets.{file_format}"
    add(2000)
    export_peak(client, url)  # statements compiled and cached
    # Two full batches of the server-side cursor: the next one is fetched while the last is held,
    # so the peak is two batches from the second batch on, whatever the rows.
    small = export_peak(client, url)
    add(4000)
    large = export_peak(client, url)  # six batches
    assert large < 1.5 * small, (small, large)


# --- the settlement ----------------------------------------------------------------------------------

def test_the_settlements_totals_equal_the_ticket_lists_count_for_the_same_filter(client, login_as, app):
    partner, other = factories.partner(), factories.partner()
    some_tickets(partner, other)
    served_ticket(partner, resolved_at=datetime(2026, 10, 31, 15, 0, tzinfo=UTC), billable=True)  # October in China
    hq = factories.user("hq_manager")
    login_as(hq)
    page = client.get(f"/reports/settlement/{partner.id}?month=2026-11")
    assert page.status_code == 200
    from partnernet.reports.settlement import settlement
    totals = settlement(partner, date(2026, 11, 1))
    listed = list_ids(hq, {"billable": "yes", "partner_id": str(partner.id), "resolved": "2026-11"})
    assert totals.partner.tickets == len(listed) == 2
    assert totals.partner.by_tier == {"L1": 1, "L3": 1}
    # The list's page shows the same count for that filter.
    shown = client.get(f"/tickets/?billable=yes&partner_id={partner.id}&resolved=2026-11").get_data(as_text=True)
    assert f'<span class="text-muted fs-6">{len(listed)}</span>' in shown
    assert f'data-testid="total-tickets">{len(listed)}<' in page.get_data(as_text=True)


def test_the_settlement_counts_hq_served_tickets_for_the_partners_customers_and_on_site_hours(client, login_as, app):
    partner = factories.partner()
    tickets = some_tickets(partner, factories.partner())
    engineer = factories.engineer(partner)
    start = IN_NOVEMBER - timedelta(hours=2)
    recorded, timed = [Visit(ticket_id=tickets["billable"].id, party_id=partner.id, engineer_id=engineer.id,
                             planned_start=start, planned_end=start + timedelta(hours=4), planned_by_id=factories.user().id,
                             checked_in_at=start, checked_out_at=start + timedelta(hours=h), hours=hours)
                       for h, hours in ((3, Decimal("2.5")), (1.5, None))]
    db.session.add_all([recorded, timed])
    db.session.commit()
    from partnernet.reports.settlement import settlement
    found = settlement(partner, date(2026, 11, 20))
    assert (found.partner.tickets, found.partner.hours) == (2, 4.0)  # 2.5 recorded + 1.5 on site
    assert (found.hq.tickets, found.hq.by_tier) == (1, {"L2": 1})
    login_as(factories.user("partner_admin", party=partner, locale="en"))
    rows = csv_rows(client.get(f"/reports/settlement/{partner.id}.csv?month=2026-11"))
    assert rows[0][:2] == ["Section", "Ticket"]
    assert [int(row[1]) for row in rows[1:]] == [tickets["billable"].id, tickets["billable_late"].id,
                                                 tickets["hq_for_partner"].id]
    assert rows[1][-1] == "4.0"


def test_a_partner_gets_404_for_another_partys_settlement(client, login_as, app):
    partner, other = factories.partner(), factories.partner()
    some_tickets(partner, other)
    login_as(factories.user("partner_admin", party=partner))
    assert client.get(f"/reports/settlement/{partner.id}?month=2026-11").status_code == 200
    for url in (f"/reports/settlement/{other.id}?month=2026-11", f"/reports/settlement/{other.id}.csv?month=2026-11",
                f"/reports/settlement/{other.id}.xlsx", f"/reports/settlement/{factories.hq().id}"):
        assert client.get(url).status_code == 404, url


def test_a_partners_monthly_results_are_its_own_and_an_engineer_has_none(client, login_as, app):
    partner, other = factories.partner(), factories.partner()
    some_tickets(partner, other)
    login_as(factories.user("partner_admin", party=partner, locale="en"))
    rows = csv_rows(client.get("/reports/sla.csv?month=2026-11"))
    assert {row[0] for row in rows[1:]} == {partner.name}
    assert rows[1][1:4] == ["All tiers", "3", "2"]  # three served, two responses met
    client.post("/logout")
    login_as(factories.user("engineer", engineer_=factories.engineer(partner)))
    assert client.get("/reports/sla?month=2026-11").status_code == 403  # a role without reports
    assert client.get(f"/reports/settlement/{partner.id}").status_code == 403


def test_a_month_without_tickets_says_so_rather_than_failing(client, login_as, app):
    partner = factories.partner()
    login_as(factories.user("partner_admin", party=partner, locale="en"))
    for url in (f"/reports/settlement/{partner.id}?month=2026-11", "/reports/sla?month=2026-11"):
        page = client.get(url)
        assert page.status_code == 200
        assert 'data-testid="no-tickets"' in page.get_data(as_text=True)
    for url in (f"/reports/settlement/{partner.id}.csv?month=2026-11", "/reports/sla.csv?month=2026-11"):
        rows = csv_rows(client.get(url))
        assert len(rows) == 1  # the headings alone
    xlsx = client.get(f"/reports/settlement/{partner.id}.xlsx?month=2026-11")
    assert xlsx.status_code == 200 and load_workbook(__import__("io").BytesIO(xlsx.get_data())).worksheets[0].max_row == 1


def test_a_month_that_is_not_one_is_refused_with_the_reason(client, login_as, app):
    partner = factories.partner()
    login_as(factories.user("partner_admin", party=partner, locale="en"))
    assert client.get(f"/reports/settlement/{partner.id}.csv?month=2026-13").status_code == 422
    page = client.get("/reports/sla?month=soon")
    assert page.status_code == 200 and "A month such as 2026-11." in page.get_data(as_text=True)


# --- the API -----------------------------------------------------------------------------------------

def bearer(user) -> dict:
    from partnernet.auth.tokens import issue_token
    return {"Authorization": f"Bearer {issue_token(user, 'reports', NOW)[1]}"}


def test_the_api_gives_the_same_settlement_and_results_and_another_partys_is_404(client, app):
    partner, other = factories.partner(), factories.partner()
    some_tickets(partner, other)
    headers = bearer(factories.user("partner_admin", party=partner))
    settlement = client.get(f"/api/v1/partners/{partner.id}/settlement?month=2026-11", headers=headers)
    assert settlement.status_code == 200
    body = settlement.get_json()
    assert (body["partner"]["tickets"], body["partner"]["by_tier"], body["hq"]["tickets"]) == (2, {"L1": 1, "L3": 1}, 1)
    assert client.get(f"/api/v1/partners/{other.id}/settlement?month=2026-11", headers=headers).status_code == 404
    results = client.get("/api/v1/sla-results?month=2026-11", headers=headers).get_json()
    assert [row["partner_id"] for row in results["partners"]] == [partner.id]
    assert results["partners"][0]["by_tier"][0]["tier"] == "L1" and results["total"]["served"] == 3
    refused = client.get("/api/v1/sla-results?month=2026-13", headers=headers)
    assert refused.status_code == 422 and "month" in refused.get_json()["error"]["fields"]
    empty = client.get("/api/v1/sla-results?month=2026-01", headers=headers).get_json()
    assert empty["partners"] == [] and empty["total"]["served"] == 0


def test_the_apis_ticket_list_counts_a_settlements_tickets_with_the_same_filter(client, app):
    partner = factories.partner()
    some_tickets(partner, factories.partner())
    hq = factories.user("hq_manager")
    listed = client.get(f"/api/v1/tickets?billable=true&partner_id={partner.id}&resolved=2026-11",
                        headers=bearer(hq)).get_json()["items"]
    from partnernet.reports.settlement import settlement
    assert len(listed) == settlement(partner, date(2026, 11, 1)).partner.tickets == 2
    assert client.get("/api/v1/tickets?resolved=2026-13", headers=bearer(hq)).status_code == 422


@pytest.mark.parametrize("url", ["/reports/tickets.csv", "/reports/sla.csv?month=2026-11",
                                 "/reports/settlement/{partner}.csv?month=2026-11"])
def test_a_streamed_file_is_written_after_its_view_returns_as_in_production(database_url, url):
    """Without a test's application context around it, the request's session ends when the view
    returns: a file streamed after that must not need the user or anything else of it."""
    from partnernet import create_app
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True, "WTF_CSRF_ENABLED": False})
    with app.app_context():
        partner = factories.partner()
        some_tickets(partner, factories.partner())
        user, partner_id = factories.user("hq_manager", locale="en"), partner.id
        email = user.email
        db.session.remove()
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": factories.PASSWORD}).status_code == 302
    response = client.get(url.format(partner=partner_id))
    assert response.status_code == 200
    assert len(csv_rows(response)) > 1
    with app.app_context():
        db.engine.dispose()
