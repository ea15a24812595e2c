"""Every long list pages by keyset (a cursor of its sort keys ending in the id): following Next
shows each row of a filter once, in the list's order; a page reads as many statements for 20 rows
as for 200 (no query per row); an old ?page= leads to the first page; the API's lists walk by
next_cursor the same way, within the caller's scope."""
import html
import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from partnernet.audit.models import AuditFinding, AuditRun
from partnernet.auth.models import User
from partnernet.customers.models import Customer
from partnernet.extensions import db
from partnernet.network.models import Certification, Engineer, Party
from partnernet.regions import service as regions
from partnernet.settings.models import ChangeEvent
from partnernet.tickets.models import Ticket
from tests import factories
from tests.test_api import as_user  # noqa: F401 (a fixture)
from tests.test_review_queue import counted_statements
from tests.test_ticket_list_paging import statements_for

UTC = timezone.utc
T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
DAY = date(2027, 3, 1)


def walk(client, path: str, pattern: str) -> list:
    """The rows of every page of a list, following Next from `path`."""
    shown, pages = [], 0
    while path:
        response = client.get(path)
        assert response.status_code == 200, path
        page = response.get_data(as_text=True)
        shown += [int(found) if found.isdigit() else found for found in re.findall(pattern, page)]
        following = re.search(r'rel="next" href="([^"#]+)"', page)  # "#": the last page's Next leads nowhere
        path = html.unescape(following.group(1)) if following else None
        pages += 1
        assert pages < 40, "the pages never end"
    return shown


def next_link(client, path: str) -> str:
    return html.unescape(re.search(r'rel="next" href="([^"]+)"', client.get(path).get_data(as_text=True)).group(1))


# --- the rows of each list, n at a time, each with its own names (a name read per row would show) ----

def partners(n: int, **fields) -> list[Party]:
    made = [Party(kind="agent", name=f"伙伴{len_parties() + i:04d}", status=("active", "suspended")[i % 2],
                  capacity=None if i % 7 == 0 else i % 4, province_code=("330000", "110000")[i % 3 == 0], **fields)
            for i in range(n)]
    for party in made:
        party.tiers = ["L1"]
    db.session.add_all(made)
    db.session.commit()
    return made


def len_parties() -> int:
    return db.session.execute(db.select(db.func.count(Party.id))).scalar_one()


def customers(n: int) -> list[Customer]:
    sellers = partners(n)
    made = [Customer(name=f"c{i % 7:02d}", region_code=("330106", "110101")[i % 2], sold_by_party_id=sellers[i].id)
            for i in range(n)]
    db.session.add_all(made)
    db.session.commit()
    for customer in made[:n // 2]:
        factories.contract(customer)
    return made


def certifications(n: int) -> list[Certification]:
    engineers = [Engineer(party_id=party.id, name=f"工程师{party.id}") for party in partners(n)]
    db.session.add_all(engineers)
    db.session.commit()
    line = factories.product_line()
    made = [Certification(engineer_id=engineer.id, product_line_id=line.id, level="professional",
                          number=f"CERT-{engineer.id:06d}", issued_on=DAY - timedelta(days=400),
                          expires_on=DAY + timedelta(days=i // 4), status=("valid", "revoked")[i % 3 == 0])
            for i, engineer in enumerate(engineers)]
    db.session.add_all(made)
    db.session.commit()
    return made


def users(n: int) -> list[User]:
    hq = factories.hq()
    made = [User(role=("partner_admin", "hq_agent")[i % 2], party_id=party.id if i % 2 == 0 else hq.id,
                 email=f"walk{i % 9}.{party.id}@example.com", name=f"User {party.id}", password_hash="-")
            for i, party in enumerate(partners(n))]
    db.session.add_all(made)
    db.session.commit()
    return made


def callbacks(n: int) -> list[Ticket]:
    customers_ = customers(n)
    owners = partners(n)
    made = [Ticket(customer_id=c.id, region_code=c.region_code, product_line_id=factories.product_line().id,
                   complexity="simple", channel="phone", tier="L1", subject="无法登录", created_at=T0,
                   status=("resolved", "closed")[i % 2], billable=True, owner_party_id=owners[i].id,
                   resolved_at=T0 + timedelta(hours=i // 3))
            for i, c in enumerate(customers_)]
    db.session.add_all(made)
    db.session.commit()
    return made


def changes(n: int) -> list[ChangeEvent]:
    actors = users(n)
    made = [ChangeEvent(at=T0, actor_user_id=actor.id, user_id=actor.id, kind=("setting_changed", "user_changed")[i % 2],
                        target=f"walk{i}", data={"from": 1, "to": 2}) for i, actor in enumerate(actors)]
    db.session.add_all(made)
    db.session.commit()
    return made


def in_order(rows, key) -> list[int]:
    return [row.id for row in sorted(rows, key=key)]


# --- pages -------------------------------------------------------------------------------------------

def test_the_partner_list_shows_every_partner_of_a_filter_once_in_the_sort_by_next(client, login_as, app):
    made = partners(130)
    login_as(factories.user("hq_manager"))
    key = lambda p: (p.capacity if p.capacity is not None else -1, p.id)  # noqa: E731 (no capacity first)
    assert walk(client, "/partners/?sort=capacity", r'<td><a href="/partners/(\d+)">') == in_order(made, key)
    descending = walk(client, "/partners/?sort=capacity&order=desc", r'<td><a href="/partners/(\d+)">')
    assert descending == in_order(made, key)[::-1]
    suspended = [p for p in made if p.status == "suspended"]
    assert walk(client, "/partners/?status=suspended&sort=province", r'<td><a href="/partners/(\d+)">') == \
        in_order(suspended, lambda p: (p.province_code, p.id))
    second = next_link(client, "/partners/?sort=capacity")
    previous = html.unescape(re.search(r'rel="prev" href="([^"]+)"', client.get(second).get_data(as_text=True)).group(1))
    assert re.findall(r'<td><a href="/partners/(\d+)">', client.get(previous).get_data(as_text=True)) == \
        [str(i) for i in in_order(made, key)[:50]]


def test_the_customer_list_shows_every_customer_once_by_name_then_id_by_next(client, login_as, app):
    made = customers(120)
    login_as(factories.user("hq_agent"))
    pattern = r'<td class="text-muted">(\d+)</td>'
    assert walk(client, "/customers/", pattern) == in_order(made, lambda c: (c.name, c.id))
    assert walk(client, "/customers/?q=c03", pattern) == in_order([c for c in made if c.name == "c03"], lambda c: c.id)


def test_the_certification_list_shows_every_certificate_of_a_status_once_by_expiry_by_next(client, login_as, app):
    made = certifications(130)
    login_as(factories.user("hq_agent"))
    key = lambda c: (c.expires_on, c.id)  # noqa: E731
    numbers = {c.id: c.number for c in made}
    assert walk(client, "/certifications/", r"<td>(CERT-\d+)</td>") == [numbers[i] for i in in_order(made, key)]
    revoked = [c for c in made if c.status == "revoked"]
    assert walk(client, "/certifications/?status=revoked", r"<td>(CERT-\d+)</td>") == \
        [numbers[i] for i in in_order(revoked, key)]


def test_the_user_list_shows_every_user_of_a_role_once_by_e_mail_by_next(client, login_as, app):
    made = users(120)
    login_as(factories.user("hq_admin", email="aaa-admin@example.com"))
    admins = [u for u in made if u.role == "partner_admin"]
    assert walk(client, "/users/?role=partner_admin", r'<td><a href="/users/(\d+)">') == \
        in_order(admins, lambda u: (u.email, u.id))


def test_the_call_backs_show_every_ticket_once_latest_resolution_first_by_next(client, login_as, app):
    made = callbacks(120)
    login_as(factories.user("hq_agent"))
    assert walk(client, "/callbacks", r'<a href="/tickets/(\d+)">#') == \
        in_order(made, lambda t: (-t.resolved_at.timestamp(), -t.id))


def test_the_change_log_shows_every_change_of_a_kind_once_newest_first_by_next(client, login_as, app):
    made = changes(120)
    login_as(factories.user("hq_admin"))
    settings = [e for e in made if e.kind == "setting_changed"]
    assert walk(client, "/settings/changes?kind=setting_changed", r"\bwalk(\d+)\s*</td>") == \
        [int(e.target[4:]) for e in sorted(settings, key=lambda e: -e.id)]


PAGES = [("/partners/", partners), ("/customers/", customers), ("/certifications/", certifications),
         ("/users/", users), ("/callbacks", callbacks), ("/settings/changes", changes)]


@pytest.mark.parametrize("path, make", PAGES, ids=[path for path, _make in PAGES])
def test_a_list_page_takes_as_many_statements_for_200_rows_as_for_20(client, login_as, app, path, make):
    login_as(factories.user("hq_admin"))

    def counted():
        client.get(path)  # the first request after a write reads again what later ones cache
        return statements_for(path, client)

    make(20)
    few = counted()
    make(180)
    assert counted() == few
    assert statements_for(next_link(client, path), client) == few  # a later page: the same


@pytest.mark.parametrize("path", [path for path, _make in PAGES])
def test_an_old_page_number_leads_to_the_first_page_of_a_list_and_says_why(client, login_as, app, path):
    login_as(factories.user("hq_admin"))
    client.post("/language", data={"locale": "en"})
    response = client.get(path + "?page=7&q=x")
    assert response.status_code == 302 and response.location == path + "?q=x"
    assert "no longer has numbered pages" in client.get(response.location).get_data(as_text=True)


def test_a_forged_cursor_on_a_list_page_is_refused_with_a_message(client, login_as, app):
    login_as(factories.user("hq_admin"))
    client.post("/language", data={"locale": "en"})
    for query in ("after=garbage", "before=" + "x" * 300, "after=cGFydG5lcnM6WyJ4Il0"):  # partners:["x"]
        response = client.get("/partners/?" + query)
        assert response.status_code == 422 and "not valid" in response.get_data(as_text=True), query


# --- the API -----------------------------------------------------------------------------------------

def api_walk(caller, path: str) -> list[dict]:
    items, cursor, pages = [], None, 0
    while True:
        response = caller.get(path + (f"&cursor={cursor}" if cursor else ""))
        assert response.status_code == 200, response.json
        items += response.json["items"]
        cursor = response.json["next_cursor"]
        pages += 1
        assert pages < 60, "the pages never end"
        if not cursor:
            return items


def test_the_region_search_walks_by_cursor_each_region_once_best_match_first(app, as_user):
    caller = as_user(factories.user("hq_agent"))
    expected = [r.code for r in regions.search("33", limit=1000)]
    assert len(expected) > 30
    assert [r["code"] for r in api_walk(caller, "/api/v1/regions?q=33&limit=7")] == expected
    assert caller.get("/api/v1/regions?q=33&page=2").status_code == 422


def audit_run(parties: list[Party]) -> AuditRun:
    run = AuditRun(period_start=date(2026, 10, 1), period_end=date(2026, 10, 31), threshold=Decimal("0.3"),
                   min_offers=5, sold_not_served_threshold=Decimal("0.5"), triggered_by="ui")
    db.session.add(run)
    db.session.flush()
    db.session.add_all([AuditFinding(run_id=run.id, party_id=party.id, flagged=i % 3 == 0, flag_reasons=[])
                        for i, party in enumerate(parties)])
    db.session.commit()
    return run


def test_a_runs_findings_walk_by_cursor_flagged_first_and_a_partner_sees_only_its_own(app, as_user):
    parties = partners(45)
    run = audit_run(parties)
    hq = as_user(factories.user("hq_manager"))
    shown = [(f["flagged"], f["partner_id"]) for f in api_walk(hq, f"/api/v1/audits/{run.id}/findings?limit=4")]
    assert shown == sorted(((i % 3 == 0, p.id) for i, p in enumerate(parties)), key=lambda f: (not f[0], f[1]))
    own = as_user(factories.user("partner_admin", party=parties[4]))
    assert [f["partner_id"] for f in api_walk(own, f"/api/v1/audits/{run.id}/findings?limit=1")] == [parties[4].id]
    stranger = as_user(factories.user("partner_admin", party=factories.partner()))
    assert stranger.get(f"/api/v1/audits/{run.id}/findings").status_code == 404
    assert hq.get(f"/api/v1/audits/{run.id}/findings?page=2").status_code == 422
    assert hq.get(f"/api/v1/audits/{run.id}/findings?cursor=bzo1MA").status_code == 422  # an old offset "o:50"


def test_a_runs_findings_take_as_many_statements_for_200_as_for_20(app, as_user):

    hq = as_user(factories.user("hq_manager"))
    counts = []
    for n in (20, 200):
        run_id = audit_run(partners(n)).id
        hq.get(f"/api/v1/audits/{run_id}/findings?limit=1")  # the first request after a write reads again what later ones cache
        db.session.expunge_all()
        with counted_statements() as counted:
            assert len(hq.get(f"/api/v1/audits/{run_id}/findings?limit=500").json["items"]) == n
        counts.append(len(counted))
    assert counts[0] == counts[1]


def test_a_partners_scorecard_months_walk_by_cursor_and_another_partners_are_a_404(app, as_user):
    party = factories.partner()
    own = as_user(factories.user("partner_admin", party=party))
    months = [m["month"] for m in api_walk(own, f"/api/v1/partners/{party.id}/scorecards?from=2025-01&to=2026-06&limit=5")]
    assert months == [f"{2025 + (n // 12)}-{n % 12 + 1:02d}" for n in range(18)]
    other = factories.partner()
    assert own.get(f"/api/v1/partners/{other.id}/scorecards").status_code == 404
    assert own.get(f"/api/v1/partners/{party.id}/scorecards?page=2").status_code == 422


def test_a_provinces_ranking_walks_by_cursor_each_partner_once_in_rank(app, as_user):
    partners(12)
    hq = as_user(factories.user("hq_manager"))
    path = "/api/v1/scorecards?province=330000&month=2026-10"
    whole = [c["partner_id"] for c in hq.get(path + "&limit=500").json["items"]]
    assert len(whole) >= 8
    assert [c["partner_id"] for c in api_walk(hq, path + "&limit=3")] == whole


# --- the indexes: the first and a later page read the list's index in its order -------------------------

INDEXED = [("/customers/", "en", customers, "ix_customer_name_id"),
           ("/customers/", "zh_CN", customers, "ix_customer_name_sort_id"),
           ("/certifications/", "en", certifications, "ix_certification_expires_id"),
           ("/certifications/?status=revoked", "en", certifications, "ix_certification_expires_id"),
           ("/callbacks", "en", callbacks, "ix_ticket_resolved_id"),
           ("/settings/changes?kind=setting_changed", "en", changes, "ix_change_event_kind_id")]


def page_statement(client, path: str) -> tuple:
    """The statement that read the page's rows: ordered and limited."""
    seen = []
    listener = lambda _conn, _cursor, statement, parameters, *_rest: seen.append((statement, parameters))  # noqa: E731
    db.session.expunge_all()
    sa.event.listen(db.engine, "before_cursor_execute", listener)
    try:
        assert client.get(path).status_code == 200
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listener)
    return next((s, p) for s, p in seen if "ORDER BY" in s and "LIMIT" in s and "count(" not in s)


def plan(statement: str, parameters) -> str:
    with db.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            return " ".join(str(row) for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))
        # A test's tables are tiny, where reading them whole is cheapest: forbid that, and sorting, to
        # see whether the index can serve the page in its order, as it does at scale.
        connection.exec_driver_sql("ANALYZE")  # the statistics of a table at rest, not of one just written
        for setting in ("enable_seqscan", "enable_sort", "enable_bitmapscan"):
            connection.exec_driver_sql(f"SET {setting} = off")
        return "\n".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + statement, parameters))


@pytest.mark.parametrize("path, locale, make, index", INDEXED, ids=[f"{i[0]} {i[1]}" for i in INDEXED])
def test_the_first_and_a_later_page_of_a_list_read_its_index_in_order(client, login_as, app, path, locale, make, index):
    make(160)
    login_as(factories.user("hq_admin"))
    client.post("/language", data={"locale": locale})
    for page in (path, next_link(client, path)):
        found = plan(*page_statement(client, page))
        assert "TEMP B-TREE FOR ORDER BY" not in found and "Sort" not in found, (page, found)
        # PostgreSQL may read the last rows of a tiny table's later page from another index in the
        # same order (the cursor's condition its range): no sort either way.
        later_range = page != path and db.engine.dialect.name == "postgresql" and re.search(
            r"Index Scan.*\n\s*Index Cond: \((ROW\(|id [<>])", found)
        assert index in found or later_range, (page, found)
