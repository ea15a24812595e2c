"""The ticket list pages by keyset: every ticket of a filter once, in order, whatever the ties and
whatever changes between two page loads; the same number of statements for 20 rows as for 200; the
partner page's push-back chart from the weekly counts equals the one computed from the events."""
import base64
import json
import re
from datetime import date, datetime, timedelta, timezone
from statistics import median

import pytest
import sqlalchemy as sa

from partnernet.audit.measures import OFFER_EVENT_KINDS, PUSH_BACK, period_bounds
from partnernet.audit.scorecard import week_mondays, weekly_push_back
from partnernet.audit.wilson import share
from partnernet.extensions import db
from partnernet.tickets import queries
from partnernet.tickets.models import Ticket, TicketEvent
from tests import factories
from tests.test_api import as_user  # noqa: F401 (a fixture)

UTC = timezone.utc
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def tickets(rows: list[dict]) -> list[int]:
    """Tickets with the given columns (the rest plain), written directly; their ids."""
    customer, line = factories.customer(), factories.product_line()
    made = [Ticket(customer_id=customer.id, region_code=customer.region_code, product_line_id=line.id,
                   complexity="simple", channel="phone", tier="L1", subject="无法登录",
                   **{"status": "new", "created_at": T0, "updated_at": T0, **row}) for row in rows]
    db.session.add_all(made)
    db.session.commit()
    return [t.id for t in made]


def mixed_tickets() -> list[int]:
    """Eleven tickets with ties in every sort key, due times missing, billable and overdue ones."""
    rows = []
    for n in range(11):
        rows.append(dict(
            created_at=T0 + timedelta(hours=n // 4),                       # groups of four alike
            updated_at=T0 + timedelta(hours=(n * 7) % 3),
            resolution_due_at=None if n % 5 == 0 else T0 + timedelta(hours=n % 3),
            status=("new", "closed", "in_progress")[n % 3],
            billable=n % 2 == 0))
    return tickets(rows)


def walk(user, filters, per_page):
    """Every page of the list, following `next` from the first page."""
    statement = queries.ticket_list_statement(user, filters, NOW)
    pages = [queries.list_page(statement, filters, per_page=per_page)]
    while pages[-1].next_cursor:
        pages.append(queries.list_page(statement, filters, after=pages[-1].next_cursor, per_page=per_page))
        assert len(pages) < 50, "the pages never end"
    return pages


def in_order(user, filters) -> list[int]:
    """The whole list in its order, in one statement: what the pages must show, piece by piece."""
    statement = queries.ticket_list_statement(user, filters, NOW)
    return list(db.session.execute(statement.with_only_columns(Ticket.id)).scalars())


FILTERS = [{}, {"billable": "yes"}, {"status": "open"}, {"overdue": True}, {"status": "open", "overdue": True}]


@pytest.mark.parametrize("sort", sorted(queries.SORTS))
@pytest.mark.parametrize("descending", [True, False])
def test_pages_show_every_ticket_of_a_filter_once_in_order_with_ties_in_the_sort_key(app, sort, descending):
    mixed_tickets()
    manager = factories.user("hq_manager")
    for chosen in FILTERS:
        filters = queries.TicketFilters(sort=sort, descending=descending, **chosen)
        expected = in_order(manager, filters)
        assert expected, chosen
        pages = walk(manager, filters, per_page=3)
        assert [t.id for page in pages for t in page.items] == expected, chosen
        assert all(len(page.items) == 3 for page in pages[:-1])
        # and back: from the last page, Previous leads through the same pages to the first
        back = [pages[-1]]
        statement = queries.ticket_list_statement(manager, filters, NOW)
        while back[-1].previous_cursor:
            back.append(queries.list_page(statement, filters, before=back[-1].previous_cursor, per_page=3))
        assert [[t.id for t in p.items] for p in reversed(back)] == [[t.id for t in p.items] for p in pages]
        assert pages[0].previous_cursor is None and back[-1].next_cursor is not None or len(pages) == 1


def test_a_ticket_opened_or_changed_between_two_page_loads_neither_hides_nor_repeats_another(app):
    ids = tickets([dict(created_at=T0 + timedelta(minutes=n), updated_at=T0 + timedelta(minutes=n))
                   for n in range(9)])
    manager = factories.user("hq_manager")
    newest_first = queries.TicketFilters(sort="created")
    statement = queries.ticket_list_statement(manager, newest_first, NOW)
    first = queries.list_page(statement, newest_first, per_page=3)
    assert [t.id for t in first.items] == ids[::-1][:3]
    tickets([dict(created_at=T0 + timedelta(hours=1))])  # a new ticket comes in at the top
    rest = queries.list_page(statement, newest_first, after=first.next_cursor, per_page=3)
    assert [t.id for t in rest.items] == ids[::-1][3:6]  # not the first page's last ticket again

    by_update = queries.TicketFilters(sort="updated")
    statement = queries.ticket_list_statement(manager, by_update, NOW)
    shown = queries.list_page(statement, by_update, per_page=3)
    seen = [t.id for t in shown.items]
    moved = db.session.get(Ticket, ids[1])  # on a later page: it is worked on and moves to the top
    moved.updated_at = T0 + timedelta(hours=2)
    db.session.commit()
    while shown.next_cursor:
        shown = queries.list_page(statement, by_update, after=shown.next_cursor, per_page=3)
        seen += [t.id for t in shown.items]
    unchanged = [i for i in in_order(manager, by_update) if i != moved.id]
    assert [i for i in seen if i != moved.id] == [i for i in unchanged if i in seen]
    assert len(seen) == len(set(seen)) and set(ids) - {moved.id} <= set(seen)


def test_the_next_link_of_the_page_leads_to_the_following_tickets_and_previous_back(client, login_as, app):
    ids = tickets([dict(created_at=T0 + timedelta(minutes=n // 2)) for n in range(60)])  # ties in pairs
    login_as(factories.user("hq_agent"))
    first = client.get("/tickets/?status=new").get_data(as_text=True)
    shown = [int(i) for i in re.findall(r'<td><a href="/tickets/(\d+)">\d+</a>', first)]
    assert shown == sorted(ids, key=lambda i: (-(ids.index(i) // 2), -i))[:50]
    following = re.search(r'rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    assert "status=new" in following
    second = client.get(following).get_data(as_text=True)
    rest = [int(i) for i in re.findall(r'<td><a href="/tickets/(\d+)">\d+</a>', second)]
    assert sorted(shown + rest) == sorted(ids) and not set(shown) & set(rest)
    back = re.search(r'rel="prev" href="([^"]+)"', second).group(1).replace("&amp;", "&")
    assert [int(i) for i in re.findall(r'<td><a href="/tickets/(\d+)">\d+</a>', client.get(back).get_data(as_text=True))] == shown


def test_an_old_page_number_leads_to_the_first_page_with_its_filters_and_says_why(client, login_as, app):
    login_as(factories.user("hq_agent"))
    client.post("/language", data={"locale": "en"})
    response = client.get("/tickets/?billable=yes&page=100")
    assert response.status_code == 302 and response.location == "/tickets/?billable=yes"
    assert "no longer has numbered pages" in client.get(response.location).get_data(as_text=True)
    assert client.get("/tickets/?page=1&status=open").location == "/tickets/?status=open"


FORGED = [["due", "2026", 1], ["created", None, -1], ["created", "0001-01-01T00:00:00+08:00", 1],
          ["created", "2026-01-01T00:00:00", 1], ["status", 5, 1], ["id", 1, 2 ** 70], ["updated", [], 1]]


@pytest.mark.parametrize("query", ["after=garbage", "before=" + "x" * 500, "after=4oCU", "sort=due&after=" + "W10"] + [
    f"sort={forged[0]}&after=" + base64.urlsafe_b64encode(json.dumps(forged).encode()).decode() for forged in FORGED])
def test_a_forged_or_foreign_cursor_is_refused_with_a_message(client, login_as, app, query):
    login_as(factories.user("hq_agent"))
    client.post("/language", data={"locale": "en"})
    response = client.get(f"/tickets/?{query}")
    assert response.status_code == 422
    assert "not valid" in response.get_data(as_text=True)


def statements_for(path, client) -> int:
    counted = []

    def count(*_args):
        counted.append(1)

    db.session.expunge_all()  # the request shares the tests' session: nothing it reads is at hand already
    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert client.get(path).status_code == 200
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    return len(counted)


def test_the_list_takes_as_many_statements_for_200_tickets_as_for_20(client, login_as, app):
    """Each ticket with its own customer and partners: a name read per row would be a statement per row."""
    def add(n):
        for _ in range(n):
            owner, offered = factories.partner(), factories.partner()
            factories.ticket(factories.customer(), owner_party_id=owner.id, offered_party_id=offered.id,
                             status="accepted", billable=True, created_at=T0, resolution_due_at=T0)

    login_as(factories.user("hq_manager"))
    paths = ["/tickets/", "/tickets/?billable=yes&overdue=1&sort=due", "/tickets/?status=open&overdue=1&sort=due"]

    def counts():
        client.get("/tickets/")  # the first request after a write reads again what later ones cache
        return [statements_for(path, client) for path in paths]

    add(20)
    few = counts()
    add(180)
    assert counts() == few
    following = re.search(r'rel="next" href="([^"]+)"', client.get("/tickets/").get_data(as_text=True)).group(1)
    assert statements_for(following.replace("&amp;", "&"), client) == few[0]  # a later page: the same


# --- the partner page's weekly push-back chart -----------------------------------------------------

def weekly_push_back_from_events(party_id: int, last_day: date, weeks: int = 12):
    """The chart as it was computed before the weekly counts: from the offer events themselves."""
    mondays = week_mondays(last_day, weeks)
    ends = [period_bounds(monday, monday + timedelta(days=6))[1] for monday in mondays]
    start = period_bounds(mondays[0], mondays[0])[0]
    pushed = [OFFER_EVENT_KINDS[name] for name in PUSH_BACK]
    week = sa.case(*[(TicketEvent.at < end, index) for index, end in enumerate(ends)])
    events = (sa.select(TicketEvent.party_id, TicketEvent.kind, week.label("week"))
              .where(TicketEvent.kind.in_([OFFER_EVENT_KINDS["offered"], *pushed]),
                     TicketEvent.party_id.is_not(None), TicketEvent.at >= start, TicketEvent.at < ends[-1])
              .subquery("offer_events"))
    statement = (sa.select(events.c.party_id, events.c.week,
                           sa.func.sum(sa.case((events.c.kind == OFFER_EVENT_KINDS["offered"], 1), else_=0)),
                           sa.func.sum(sa.case((events.c.kind.in_(pushed), 1), else_=0)))
                 .group_by(events.c.party_id, events.c.week))
    ours = {n: (0, 0) for n in range(weeks)}
    network = {n: [] for n in range(weeks)}
    for row_party, index, offered, push_back in db.session.execute(statement):
        offered, push_back = int(offered or 0), int(push_back or 0)
        if row_party == party_id:
            ours[index] = (offered, push_back)
        if offered:
            network[index].append(share(push_back, offered))
    return [(monday, ours[n][0], ours[n][1], share(ours[n][1], ours[n][0]),
             median(network[n]) if network[n] else None) for n, monday in enumerate(mondays)]


def test_the_weekly_push_back_chart_from_the_kept_counts_equals_the_one_from_the_events(app):
    import random
    rng = random.Random(23)
    partners = [factories.partner() for _ in range(5)]
    [ticket_id] = tickets([{}])
    # Events over 15 weeks, some a minute either side of midnight between Sunday and Monday in China
    # (16:00 UTC), some with no partner, some of kinds that are not offers.
    sunday_night = datetime(2026, 11, 22, 15, 59, tzinfo=UTC)
    instants = [sunday_night, sunday_night + timedelta(minutes=1), sunday_night - timedelta(weeks=11, minutes=-1)]
    instants += [datetime(2026, 8, 20, tzinfo=UTC) + timedelta(minutes=rng.randrange(15 * 7 * 24 * 60))
                 for _ in range(400)]
    kinds = ["offered"] * 5 + ["accepted", "declined", "offer_expired", "returned_to_hq", "note"]
    db.session.add_all(TicketEvent(ticket_id=ticket_id, kind=rng.choice(kinds), at=at,
                                   party_id=rng.choice(partners).id if rng.random() > 0.1 else None)
                       for at in instants for _ in range(2))
    db.session.commit()
    for party in partners:
        for last_day in (date(2026, 11, 22), date(2026, 11, 23), date(2026, 10, 1)):
            new = [(w.monday, w.offered, w.push_back, w.rate, w.network_median)
                   for w in weekly_push_back(party.id, last_day)]
            assert new == weekly_push_back_from_events(party.id, last_day)
    assert any(w.offered for w in weekly_push_back(partners[0].id, date(2026, 11, 23)))


def test_the_weekly_push_back_chart_takes_one_statement_however_many_partners_and_weeks(app):
    counted = []

    def count(*_args):
        counted.append(1)

    def statements():
        counted.clear()
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            weekly_push_back(party_id, date(2026, 11, 22))
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        return len(counted)

    partners = [factories.partner()]
    party_id = partners[0].id
    few = statements()
    partners += [factories.partner() for _ in range(10)]
    [ticket_id] = tickets([{}])
    db.session.add_all(TicketEvent(ticket_id=ticket_id, kind="offered", party_id=p.id,
                                   at=datetime(2026, 11, 18, tzinfo=UTC) - timedelta(weeks=w))
                       for p in partners for w in range(12))
    db.session.commit()
    assert statements() == few == 1


# --- the API's list -----------------------------------------------------------------------------------

def api_statements(caller, path) -> int:
    counted = []

    def count(*_args):
        counted.append(1)

    db.session.expunge_all()  # the request shares the tests' session: nothing it reads is at hand already
    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert caller.get(path).status_code == 200
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    return len(counted)


def test_the_api_pages_a_filter_by_next_cursor_each_ticket_once_and_refuses_page_numbers(app, as_user):
    ids = tickets([dict(billable=n % 3 == 0, status=("new", "closed")[n % 2], resolution_due_at=T0,
                        created_at=T0 - timedelta(hours=n)) for n in range(30)])
    caller = as_user(factories.user("hq_agent"))
    for query, wanted in (("billable=true", {i for n, i in enumerate(ids) if n % 3 == 0}),
                          ("billable=false&breached=true", {i for n, i in enumerate(ids) if n % 3 and n % 2 == 0})):
        seen, cursor = [], None
        while True:
            page = caller.get(f"/api/v1/tickets?{query}&limit=4" + (f"&cursor={cursor}" if cursor else "")).get_json()
            seen += [t["id"] for t in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == sorted(wanted, reverse=True), query
    response = caller.get("/api/v1/tickets?page=2")
    assert response.status_code == 422 and "page" in response.get_json()["error"]["fields"]


def test_the_api_list_takes_as_many_statements_for_200_tickets_as_for_20(app, as_user):
    def add(n):
        for _ in range(n):
            factories.ticket(factories.customer(), owner_party_id=factories.partner().id,
                             offered_party_id=factories.partner().id, status="accepted", created_at=T0)

    caller = as_user(factories.user("hq_agent"))
    add(20)
    caller.get("/api/v1/tickets?limit=200")
    few = api_statements(caller, "/api/v1/tickets?limit=200")
    add(180)
    caller.get("/api/v1/tickets?limit=200")
    assert api_statements(caller, "/api/v1/tickets?limit=200") == few


def test_the_hq_queue_pages_by_cursor_longest_waiting_first_each_ticket_once(client, login_as, app):
    ids = tickets([dict(status="hq_queue", hq_queue_cause=("no_coverage", "all_declined")[n % 2],
                        created_at=T0 + timedelta(minutes=n // 3)) for n in range(70)])
    tickets([dict(status="closed")])
    login_as(factories.user("hq_agent"))
    for query, wanted in (("", ids), ("?cause=all_declined", ids[1::2])):
        seen, url = [], f"/tickets/queue{query}"
        while url:
            page = client.get(url).get_data(as_text=True)
            seen += [int(i) for i in re.findall(r'<td><a href="/tickets/(\d+)">\d+</a>', page)]
            following = re.search(r'rel="next" href="([^"]+)"', page)
            url = following.group(1).replace("&amp;", "&") if following else None
        assert seen == wanted, query  # oldest first; ties by number
    assert client.get("/tickets/queue?page=2&cause=no_coverage").location == "/tickets/queue?cause=no_coverage"


def test_the_hq_queue_takes_as_many_statements_for_200_tickets_as_for_20(client, login_as, app):
    def add(n):
        for _ in range(n):
            factories.ticket(factories.customer(), status="hq_queue", hq_queue_cause="no_coverage", created_at=T0)

    login_as(factories.user("hq_agent"))
    add(20)
    client.get("/tickets/queue")
    few = statements_for("/tickets/queue", client)
    add(180)
    client.get("/tickets/queue")
    assert statements_for("/tickets/queue", client) == few
