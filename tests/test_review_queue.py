"""HQ's review queue of pending certificates: a page at a time in submission order, filtered by
partner, product line and age, each row's data read in a fixed number of statements, approved one
by one or many at once with the same compare-and-set; the API's pending list pages the same way."""
import html
import re
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa

from partnernet.extensions import db
from partnernet.network import certifications
from partnernet.network.models import Certification, Engineer
from partnernet.timeclock import now_utc, today_in_china
from tests import factories
from tests.test_api import as_user  # noqa: F401 (fixture)

NUMBER = re.compile(r"· (Q-\d{4}) ·")  # as each card shows it


@contextmanager
def counted_statements():
    """The SQL statements the database receives inside the block."""
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    sa.event.listen(db.engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listener)


def pending(count, partners, line="workflow", start=0, submitted_at=None, same_instant_every=1, **fields):
    """`count` pending certificates Q-<n>, each of its own engineer, spread over `partners`;
    submitted a minute apart in number order, `same_instant_every` of them at each instant."""
    at = submitted_at or now_utc() - timedelta(days=30)
    line_id = factories.product_line(line).id
    engineers = [Engineer(party_id=partners[n % len(partners)].id, name=f"工程师Q{start + n}") for n in range(count)]
    db.session.add_all(engineers)
    db.session.flush()
    rows = [Certification(engineer_id=engineer.id, product_line_id=line_id, level="associate",
                          number=f"Q-{start + n:04d}", issued_on=today_in_china() - timedelta(days=10),
                          expires_on=today_in_china() + timedelta(days=700), status="pending",
                          submitted_at=at + timedelta(minutes=(start + n) // same_instant_every), **fields)
            for n, engineer in enumerate(engineers)]
    db.session.add_all(rows)
    db.session.commit()
    return rows


def shown_numbers(page: str) -> list[str]:
    return NUMBER.findall(page)


def link(page: str, direction: str) -> str | None:
    """The href of the queue's `after` (next) or `before` (previous) link."""
    found = re.search(rf'href="(/certifications/review\?[^"]*\b{direction}=[^"]*)"', page)
    return html.unescape(found.group(1)) if found else None


def walk(client, first_url: str, direction="after", between_pages=None) -> list[list[str]]:
    """The numbers each page shows, following the `direction` links from `first_url` to the end."""
    pages, url = [], first_url
    while url:
        page = client.get(url).get_data(as_text=True)
        pages.append(shown_numbers(page))
        if between_pages:
            between_pages(len(pages))
        url, walk.last_page = link(page, direction), page
    return pages


def test_review_page_reads_as_many_statements_for_200_pending_certificates_as_for_20(client, login_as, app):
    partners = [factories.partner() for _ in range(10)]
    # Some engineers and partners already certified, so that both answers of each row's effect occur.
    for party in partners[:5]:
        factories.certification(factories.engineer(party), "workflow")
    login_as(factories.user("hq_manager"))
    pending(20, partners)
    with counted_statements() as statements:
        page = client.get("/certifications/review").get_data(as_text=True)
    few = len(statements)
    assert len(shown_numbers(page)) == 20
    pending(180, partners, start=20)
    with counted_statements() as statements:
        page = client.get("/certifications/review").get_data(as_text=True)
    assert len(statements) == few, statements
    assert len(shown_numbers(page)) == 50  # a page


def test_each_rows_effect_is_what_approving_it_would_change(client, login_as, app):
    with_certified, without = factories.partner(name="已有持证伙伴"), factories.partner(name="尚无持证伙伴")
    certified = factories.engineer(with_certified)
    factories.certification(certified, "workflow")
    # The certified engineer's second certificate for the line.
    factories.certification(certified, "workflow", status="pending", number="Q-0000",
                            submitted_at=now_utc() - timedelta(days=40))
    pending(1, [with_certified], start=1)  # a colleague of a certified engineer
    pending(1, [without], start=2)  # the partner's first
    login_as(factories.user("hq_manager"))
    client.post("/language", data={"locale": "en"})
    page = client.get("/certifications/review").get_data(as_text=True)
    cards = {number: card for card in page.split('<div class="card mb-3">')[1:] for number in shown_numbers(card)}
    becomes = "the engineer becomes certified"
    first = "gains its first certified engineer"
    assert becomes not in cards["Q-0000"] and first not in cards["Q-0000"]
    assert becomes in cards["Q-0001"] and first not in cards["Q-0001"]
    assert becomes in cards["Q-0002"] and first in cards["Q-0002"]


def test_keyset_pages_show_every_pending_certificate_once_forwards_and_backwards(client, login_as, app):
    partners = [factories.partner() for _ in range(3)]
    pending(120, partners, same_instant_every=7)  # ties on submitted_at fall back to the id
    login_as(factories.user("hq_manager"))
    forwards = walk(client, "/certifications/review")
    assert [len(page) for page in forwards] == [50, 50, 20]
    assert sum(forwards, []) == [f"Q-{n:04d}" for n in range(120)]
    assert link(walk.last_page, "after") is None
    backwards = walk(client, link(walk.last_page, "before"), direction="before")
    assert backwards == [forwards[1], forwards[0]]


def test_a_certificate_approved_between_page_loads_moves_no_other_off_the_pages(client, login_as, app):
    partners = [factories.partner() for _ in range(3)]
    rows = pending(120, partners)
    reviewer = factories.user("hq_manager")
    login_as(reviewer)

    def someone_approves(pages_read):
        if pages_read == 1:  # one on the page just read, one on the next
            for row in (rows[10], rows[55]):
                certifications.review(db.session.get(Certification, row.id), "approve", "", reviewer.id,
                                      now_utc(), today_in_china())

    seen = sum(walk(client, "/certifications/review", between_pages=someone_approves), [])
    expected = [f"Q-{n:04d}" for n in range(120) if f"Q-{n:04d}" != rows[55].number]
    assert seen == expected  # Q-0010 was shown before its approval; Q-0055, approved before its page, never


def test_the_queue_filters_by_partner_product_line_and_age(client, login_as, app):
    mine, other = factories.partner(), factories.partner()
    now = now_utc()
    pending(2, [mine], submitted_at=now - timedelta(days=10))  # Q-0000, Q-0001: old, workflow
    pending(1, [other], start=2, submitted_at=now - timedelta(days=10))  # Q-0002: old, another partner
    pending(1, [mine], start=3, line="mobile", submitted_at=now - timedelta(days=10))  # Q-0003: mobile
    pending(1, [mine], start=4, submitted_at=now - timedelta(days=1))  # Q-0004: recent
    login_as(factories.user("hq_manager"))

    def shown(**args):
        return set(shown_numbers(client.get("/certifications/review", query_string=args).get_data(as_text=True)))

    assert shown() == {"Q-0000", "Q-0001", "Q-0002", "Q-0003", "Q-0004"}
    assert shown(partner=mine.id) == {"Q-0000", "Q-0001", "Q-0003", "Q-0004"}
    assert shown(product_line="mobile") == {"Q-0003"}
    assert shown(older_than=5) == {"Q-0000", "Q-0001", "Q-0002", "Q-0003"}
    assert shown(partner=mine.id, product_line="workflow", older_than=5) == {"Q-0000", "Q-0001"}
    assert shown(product_line="no-such-line") == set()
    assert shown(partner="x", older_than="y", after="forged") == shown()  # unreadable filters: ignored


def test_filters_hold_across_pages(client, login_as, app):
    mine, other = factories.partner(), factories.partner()
    pending(60, [mine, other])  # even numbers mine, odd ones the other's
    login_as(factories.user("hq_manager"))
    pages = walk(client, f"/certifications/review?partner={mine.id}")
    assert sum(pages, []) == [f"Q-{n:04d}" for n in range(0, 60, 2)]


def test_bulk_approve_approves_the_ticked_and_skips_one_reviewed_meanwhile_saying_so(client, login_as, app):
    partners = [factories.partner()]
    rows = pending(4, partners)
    expired = pending(1, partners, start=4)[0]
    expired.issued_on, expired.expires_on = today_in_china() - timedelta(days=800), today_in_china() - timedelta(days=70)
    db.session.commit()
    reviewer = factories.user("hq_manager")
    login_as(reviewer)
    client.post("/language", data={"locale": "en"})
    page = client.get("/certifications/review").get_data(as_text=True)
    assert f'name="certification" value="{rows[0].id}"' in page
    assert f'name="certification" value="{expired.id}"' not in page  # nothing to tick: it cannot be approved
    # Another reviewer rejects Q-0001 after the page was loaded.
    certifications.review(db.session.get(Certification, rows[1].id), "reject", "编号不符", reviewer.id,
                          now_utc(), today_in_china())
    ticked = [rows[0].id, rows[1].id, rows[2].id, expired.id]
    response = client.post("/certifications/review/approve", data={"certification": ticked},
                           follow_redirects=True)
    text = response.get_data(as_text=True)
    status = {c.number: c.status for c in db.session.execute(sa.select(Certification)).scalars()}
    assert status == {"Q-0000": "valid", "Q-0001": "rejected", "Q-0002": "valid", "Q-0003": "pending",
                      "Q-0004": "pending"}
    assert "Certifications approved: 2." in text
    assert "Q-0001 skipped: This certification has already been reviewed." in text
    assert "Q-0004 skipped: An expired certificate cannot be approved." in text
    approved = db.session.get(Certification, rows[0].id)
    assert approved.reviewed_by_id == reviewer.id


def test_bulk_approve_returns_to_the_same_filtered_page(client, login_as, app):
    mine, other = factories.partner(), factories.partner()
    rows = pending(4, [mine, other])
    login_as(factories.user("hq_manager"))
    response = client.post("/certifications/review/approve",
                           data={"certification": [rows[0].id], "partner": str(mine.id), "older_than": "3"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/certifications/review?partner={mine.id}&older_than=3"


def test_partner_users_cannot_see_the_queue_or_approve_from_it(client, login_as, app, as_user):  # noqa: F811
    party = factories.partner()
    row = pending(1, [party])[0]
    for user in (factories.user("partner_admin", party=party), factories.user("hq_agent")):
        login_as(user)
        assert client.get("/certifications/review").status_code == 403
        assert client.post("/certifications/review/approve", data={"certification": [row.id]}).status_code == 403
        assert as_user(user).get("/api/v1/certifications/pending").status_code == 403
        client.post("/logout")
    assert db.session.get(Certification, row.id).status == "pending"


def test_the_api_pages_pending_certifications_by_cursor_with_the_same_filters(as_user, app):  # noqa: F811
    mine, other = factories.partner(), factories.partner()
    pending(30, [mine, other], submitted_at=now_utc() - timedelta(days=10), same_instant_every=4)
    pending(1, [mine], start=30, line="mobile", submitted_at=now_utc() - timedelta(days=1))
    api = as_user(factories.user("hq_manager"))
    numbers, cursor = [], None
    while True:
        body = api.get("/api/v1/certifications/pending", query_string={"limit": 7, **({"cursor": cursor} if cursor else {})}).get_json()
        numbers += [item["number"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert numbers == [f"Q-{n:04d}" for n in range(31)]
    filtered = api.get("/api/v1/certifications/pending",
                       query_string={"partner_id": mine.id, "product_line": "workflow", "older_than_days": 5}).get_json()
    assert [item["number"] for item in filtered["items"]] == [f"Q-{n:04d}" for n in range(0, 30, 2)]
    assert api.get("/api/v1/certifications/pending", query_string={"cursor": "forged"}).status_code == 422
    assert api.get("/api/v1/certifications/pending", query_string={"product_line": "nope"}).status_code == 422


def test_a_pages_effects_are_read_from_its_partners_engineers_not_from_every_valid_certificate(
        client, login_as, app):
    """The certificates that decide each row's effect are found through the page's partners'
    engineers (ix_certification_engineer_line), whatever the network holds: SQLite, without
    statistics, read every valid certificate of the network through the queue's (status, …)
    index (0.5 s at the full network's 40,000 certificates)."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the plan checked is SQLite's, which chooses without statistics")
    partners = [factories.partner() for _ in range(3)]
    for party in partners:
        factories.certification(factories.engineer(party), "workflow")
    pending(5, partners)
    login_as(factories.user("hq_manager"))
    sent = []
    listener = lambda _conn, _cursor, statement, parameters, *_rest: sent.append((statement, parameters))  # noqa: E731
    sa.event.listen(db.engine, "before_cursor_execute", listener)
    try:
        assert client.get("/certifications/review").status_code == 200
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listener)
    [(effects, parameters)] = [(s, p) for s, p in sent if "DISTINCT" in s and "certification.status" in s]
    with db.engine.connect() as connection:
        plan = " ".join(str(row) for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + effects, parameters))
    assert "ix_certification_engineer_line" in plan, plan
    assert "ix_certification_status_submitted" not in plan, plan


def test_an_engineer_lists_certificates_are_read_through_its_engineers_not_the_queues_status_index(
        app, as_user):  # noqa: F811
    """GET /api/v1/partners/<id>/engineers reads the page's engineers' valid certificates through
    an engineer index: SQLite, without statistics, chose the review queue's (status, …) index for
    `status = 'valid'` and read every valid certificate of the network (0.24 s at 40,000)."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the plan checked is SQLite's, which chooses without statistics")
    party = factories.partner()
    for _ in range(3):
        factories.certification(factories.engineer(party), "workflow")
    sent = []
    listener = lambda _conn, _cursor, statement, parameters, *_rest: sent.append((statement, parameters))  # noqa: E731
    sa.event.listen(db.engine, "before_cursor_execute", listener)
    try:
        assert as_user(factories.user("hq_manager")).get(f"/api/v1/partners/{party.id}/engineers").status_code == 200
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listener)
    [(certificates, parameters)] = [(s, p) for s, p in sent if s.lstrip().startswith("SELECT certification.")]
    with db.engine.connect() as connection:
        plan = " ".join(str(row) for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + certificates,
                                                                       parameters))
    assert "ix_certification_status_submitted" not in plan and "engineer" in plan, plan
