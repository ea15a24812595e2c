"""Every state change is a compare-and-set: when eight people (or eight scheduler runs) make the
same change to the same object at the same moment, exactly one wins, the other seven are told
(Conflict, 409 on the API) and write nothing — no event, no notification, no offer.

One table, TRANSITIONS, lists every transition of a ticket, an offer, a partner's status, a
certification and an audit finding; each row runs on SQLite and on PostgreSQL, eight threads,
each in its own app context and database connection, released together by a barrier.
"""
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Callable

import pytest
import sqlalchemy as sa
from flask import current_app

from partnernet import create_app
from partnernet.auth import tokens
from partnernet.audit import service as audit
from partnernet.audit.models import AuditDecision, AuditFinding, AuditRun
from partnernet.auth.models import User
from partnernet.errors import Conflict
from partnernet.extensions import db
from partnernet.fieldwork import visits
from partnernet.fieldwork.models import Visit
from partnernet.invariants import check
from partnernet.network import certifications
from partnernet.network import service as network
from partnernet.network.models import Certification, Party, PartyEvent
from partnernet.notifications.models import Notification
from partnernet.tickets import service
from partnernet.tickets.models import Ticket, TicketEvent
from tests import databases, factories

THREADS = 8
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)  # a Wednesday, 10:00 in China
LATER = NOW + timedelta(minutes=5)
TODAY = date(2026, 11, 25)


# --- arranging: each returns the ids the threads need ------------------------------------------

def certified_partner(with_admin=True):
    """An agent covering Xihu district with an engineer certified for workflow (and an
    administrator, who is told of offers)."""
    partner = factories.partner()
    factories.coverage(partner, "330106")
    engineer = factories.engineer(partner)
    factories.certification(engineer, "workflow", issued_on=date(2024, 1, 1), expires_on=date(2027, 12, 31))
    if with_admin:
        factories.user("partner_admin", party=partner)
    return partner, engineer


def open_ticket(now=NOW):
    customer = factories.customer(region_code="330106")
    factories.contract(customer, starts_on=date(2026, 6, 1))
    return service.intake(service.IntakeRequest(customer_id=customer.id, product_line="workflow",
                                                complexity="simple", channel="phone", subject="审批流无法提交", tier="L2"),
                          None, now)


def users(role, party=None):
    return [factories.user(role, party=party).id for _ in range(THREADS)]


def queued_with_a_partner_ready():
    """A ticket in the HQ queue (nobody covered its county when it came), and since then a
    certified partner does."""
    ticket = open_ticket()
    assert ticket.status == "hq_queue"
    partner, _engineer = certified_partner()
    return {"ticket": ticket.id, "partner": partner.id, "users": users("hq_agent")}


def offered_with_a_second_partner():
    """A ticket offered to one partner, with a second certified partner next in line."""
    first, engineer = certified_partner()
    certified_partner()
    ticket = open_ticket()
    assert (ticket.status, ticket.offered_party_id) == ("offered", first.id)
    return {"ticket": ticket.id, "partner": first.id, "engineer": engineer.id, "users": users("partner_admin", first)}


def accepted(steps=()):
    """A ticket the partner accepted, then moved through `steps` (statuses), with a second certified
    engineer it could be given to."""
    partner, engineer = certified_partner()
    second = factories.engineer(partner)
    factories.certification(second, "workflow", issued_on=date(2024, 1, 1), expires_on=date(2027, 12, 31))
    admins = users("partner_admin", partner)
    ticket = open_ticket()
    admin = db.session.get(User, admins[0])
    service.accept(ticket, admin, engineer.id, NOW + timedelta(minutes=1))
    for step in steps:
        service.change_status(ticket, admin, step, "已处理" if step == "resolved" else "", NOW + timedelta(minutes=2))
    assert ticket.status == (steps[-1] if steps else "accepted")
    return {"ticket": ticket.id, "partner": partner.id, "engineer": second.id, "users": admins}


def visit_planned(checked_in=False):
    """A visit planned on an accepted ticket (and its engineer checked in), the partner's admins ready."""
    ids = accepted()
    ticket, admin = db.session.get(Ticket, ids["ticket"]), db.session.get(User, ids["users"][0])
    visit = visits.plan(ticket, admin, None, NOW + timedelta(hours=1), NOW + timedelta(hours=3), NOW + timedelta(minutes=2))
    if checked_in:
        visits.check_in(visit, admin, NOW + timedelta(minutes=3))
    return {**ids, "visit": visit.id}


def on_visit(call):
    def prepare(ids, user_id):
        visit, user = db.session.get(Visit, ids["visit"]), db.session.get(User, user_id)
        return lambda: call(visit, user)
    return prepare


STEPS_TO = {"accepted": (), "in_progress": ("in_progress",), "waiting_on_customer": ("waiting_on_customer",),
            "resolved": ("resolved",)}


def partner_in(status):
    def arrange():
        return {"partner": factories.partner(status=status).id, "users": users("hq_manager")}
    return arrange


def certification_in(status):
    def arrange():
        partner = factories.partner()
        engineer = factories.engineer(partner)
        certification = factories.certification(engineer, "workflow", status=status, issued_on=date(2026, 1, 1),
                                                expires_on=date(2028, 1, 1))
        return {"certification": certification.id, "users": users("hq_manager")}
    return arrange


def flagged_finding():
    """A flagged finding of an active partner, awaiting a channel manager's decision."""
    partner = factories.partner()
    run = AuditRun(period_start=date(2026, 11, 16), period_end=date(2026, 11, 22), threshold=0.2, min_offers=10,
                   sold_not_served_threshold=0.3, triggered_by="ui", created_at=NOW)
    db.session.add(run)
    db.session.flush()
    finding = AuditFinding(run_id=run.id, party_id=partner.id, offered=100, declined=40, push_back=40,
                           push_back_rate=0.4, push_back_lower_bound=0.31, flagged=True, flag_reasons=["push_back"])
    db.session.add(finding)
    db.session.commit()
    return {"finding": finding.id, "partner": partner.id, "users": users("hq_manager")}


# --- acting: each, in its thread, loads what it acts on and returns the call to make ------------

def on_ticket(call):
    def prepare(ids, user_id):
        ticket, user = db.session.get(Ticket, ids["ticket"]), db.session.get(User, user_id)
        return lambda: call(ticket, user, ids)
    return prepare


def on_partner(to_status):
    def prepare(ids, user_id):
        party = db.session.get(Party, ids["partner"])
        party.status  # noqa: B018 — read now, as a page would have shown it
        return lambda: network.change_status(party, to_status, "渠道经理决定", user_id, LATER)
    return prepare


def on_certification(call):
    def prepare(ids, user_id):
        certification = db.session.get(Certification, ids["certification"])
        certification.status  # noqa: B018
        return lambda: call(certification, user_id)
    return prepare


def deciding(decision):
    def prepare(ids, user_id):
        finding, user = db.session.get(AuditFinding, ids["finding"]), db.session.get(User, user_id)
        finding.decision, finding.party.status  # noqa: B018
        return lambda: audit.decide(finding, decision, "核实属实", user, LATER)
    return prepare


def expiring(ids, _user_id):
    """The scheduler's job, run eight times at once after the deadline: one run expires the offer."""
    def run():
        if service.expire_due_offers(NOW + timedelta(minutes=20)) != 1:
            raise Conflict("nothing left to expire")
    return run


def by_api(path, body=None):
    """The same call through the JSON API, each thread with its own token: 200 wins, 409 loses."""
    def prepare(ids, user_id):
        secret = tokens.issue_token(db.session.get(User, user_id), "t", NOW)[1]
        db.session.commit()
        client = current_app.test_client()
        url = path.format(**ids)

        def send():
            answer = client.post(url, json=body(ids) if body else None, headers={"Authorization": f"Bearer {secret}"})
            if answer.status_code == 409:
                raise Conflict(answer.get_json()["error"]["message"])
            assert answer.status_code == 200, answer.get_json()
        return send
    return prepare


def by_page(path, form=None):
    """The same call from the ticket page's form, each thread signed in as its own user: the winner
    is told it worked, the others why not (a flashed message), both back on the page."""
    def prepare(ids, user_id):
        client = current_app.test_client()
        signed_in = client.post("/login", data={"email": db.session.get(User, user_id).email,
                                                "password": factories.PASSWORD})
        assert signed_in.status_code == 302
        url = path.format(**ids)

        def send():
            answer = client.post(url, data=form(ids) if form else {})
            with client.session_transaction() as session:
                [(category, message)] = session.get("_flashes", [])
            assert answer.status_code == 302, (answer.status_code, message)
            if category == "danger":
                raise Conflict(message)
        return send
    return prepare


@dataclass
class Transition:
    name: str
    arrange: Callable[[], dict]
    prepare: Callable[[dict, int], Callable[[], object]]
    writes: dict          # what the one winner writes: ticket event kinds, "partner <kind>", "decision"
    notifications: int = 0


def status_step(from_status, to_status):
    note = "已处理" if to_status == "resolved" else ""
    return Transition(f"ticket {from_status} → {to_status}", lambda: accepted(STEPS_TO[from_status]),
                      on_ticket(lambda t, u, ids: service.change_status(t, u, to_status, note, LATER)),
                      {"status_changed": 1, **({"resolution_met": 1} if to_status == "resolved" else {})})


def partner_step(from_status, to_status):
    return Transition(f"partner {from_status} → {to_status}", partner_in(from_status), on_partner(to_status),
                      {"partner status_changed": 1})


TRANSITIONS = [
    # the HQ queue
    Transition("offer by hand", queued_with_a_partner_ready,
               on_ticket(lambda t, u, ids: service.offer_by_hand(t, u, ids["partner"], "", LATER)),
               {"offered": 1}, notifications=1),
    Transition("offer by hand (API)", queued_with_a_partner_ready,
               by_api("/api/v1/tickets/{ticket}/offer", lambda ids: {"partner_id": ids["partner"]}),
               {"offered": 1}, notifications=1),
    Transition("offer by hand (page)", queued_with_a_partner_ready,
               by_page("/tickets/{ticket}/offer", lambda ids: {"party_id": ids["partner"]}),
               {"offered": 1}, notifications=1),
    Transition("reroute", queued_with_a_partner_ready,
               on_ticket(lambda t, u, ids: service.reroute(t, u, LATER)),
               {"rerouted": 1, "offered": 1}, notifications=1),
    Transition("reroute (API)", queued_with_a_partner_ready, by_api("/api/v1/tickets/{ticket}/reroute"),
               {"rerouted": 1, "offered": 1}, notifications=1),
    Transition("reroute (page)", queued_with_a_partner_ready, by_page("/tickets/{ticket}/reroute"),
               {"rerouted": 1, "offered": 1}, notifications=1),
    Transition("take at HQ", queued_with_a_partner_ready,
               on_ticket(lambda t, u, ids: service.take_at_hq(t, u, LATER)),
               {"taken_by_hq": 1, "response_met": 1}),
    # an offer: accepted, declined, expired, withdrawn
    Transition("offer accepted", offered_with_a_second_partner,
               on_ticket(lambda t, u, ids: service.accept(t, u, ids["engineer"], LATER)),
               {"accepted": 1, "response_met": 1}),
    Transition("offer declined", offered_with_a_second_partner,
               on_ticket(lambda t, u, ids: service.decline(t, u, "no_capacity", "人手不足", LATER)),
               {"declined": 1, "offered": 1}, notifications=1),
    Transition("offer expired (scheduler)", offered_with_a_second_partner, expiring,
               {"offer_expired": 1, "offered": 1}, notifications=1),
    Transition("offer withdrawn (partner suspended)",
               lambda: {**offered_with_a_second_partner(), "users": users("hq_manager")}, on_partner("suspended"),
               {"partner status_changed": 1, "rerouted": 1, "offered": 1}, notifications=1),
    # the owner's work
    *(status_step(before, after) for before, afters in service.WORK_TRANSITIONS.items() for after in afters),
    Transition("engineer reassigned", accepted,
               on_ticket(lambda t, u, ids: service.reassign(t, u, ids["engineer"], LATER)), {"assigned": 1}),
    Transition("returned to HQ", accepted,
               on_ticket(lambda t, u, ids: service.return_to_hq(t, u, "beyond_our_skills", "需总部开发", LATER)),
               {"returned_to_hq": 1, "queued_to_hq": 1}),
    # an on-site visit: a double tap (or eight) records once
    Transition("visit checked in", visit_planned, on_visit(lambda v, u: visits.check_in(v, u, LATER)),
               {"visit_checked_in": 1}),
    Transition("visit checked in (API)", visit_planned, by_api("/api/v1/visits/{visit}/check-in"),
               {"visit_checked_in": 1}),
    Transition("visit checked in (page)", visit_planned, by_page("/visits/{visit}/check-in"),
               {"visit_checked_in": 1}),
    Transition("visit checked out", lambda: visit_planned(checked_in=True),
               on_visit(lambda v, u: visits.check_out(v, u, "更换模板", "", None, LATER)), {"visit_checked_out": 1}),
    # a partner's status
    *(partner_step(before, after) for before, afters in network.TRANSITIONS.items() for after in afters),
    # certifications
    Transition("certification approved", certification_in("pending"), on_certification(
        lambda c, user_id: certifications.review(c, "approve", "", user_id, LATER, TODAY)), {}),
    Transition("certification rejected", certification_in("pending"), on_certification(
        lambda c, user_id: certifications.review(c, "reject", "证书号不符", user_id, LATER, TODAY)), {}),
    Transition("certification revoked", certification_in("valid"), on_certification(
        lambda c, user_id: certifications.revoke(c, "证书造假", user_id, LATER)), {}),
    # audit decisions
    Transition("audit decision: warning", flagged_finding, deciding("warning"), {"decision": 1}),
    Transition("audit decision: suspension", flagged_finding, deciding("suspension"),
               {"decision": 1, "partner status_changed": 1}),
]


# --- running ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def database_of(tmp_path_factory):
    """A migrated template per database kind, made once for the module; each test gets a clone."""
    templates = {}

    def clone(kind):
        if kind not in templates:
            templates[kind] = databases.SqliteDatabases(str(tmp_path_factory.mktemp("cas"))) if kind == "sqlite" \
                else databases.PostgresDatabases(databases.require_postgres(), name="cas")
            templates[kind].create_template()
        return templates[kind], templates[kind].clone()
    yield clone
    for factory in templates.values():
        if hasattr(factory, "close"):
            factory.close()


def written():
    """What the database holds that a transition writes: ticket events by kind, partner events,
    audit decisions, notifications."""
    counts = Counter(dict(db.session.execute(sa.select(TicketEvent.kind, sa.func.count()).group_by(TicketEvent.kind)).all()))
    for kind, count in db.session.execute(sa.select(PartyEvent.kind, sa.func.count()).group_by(PartyEvent.kind)):
        counts[f"partner {kind}"] = count
    counts["decision"] = db.session.execute(sa.select(sa.func.count()).select_from(AuditDecision)).scalar()
    counts["notification"] = db.session.execute(sa.select(sa.func.count()).select_from(Notification)).scalar()
    return counts


def run_at_once(app, transition: Transition, ids: dict) -> list[str]:
    """Each user presses at the same moment, in its own thread, app context and connection."""
    barrier = threading.Barrier(THREADS, timeout=30)
    results = []

    def press(user_id):
        with app.app_context():
            try:
                call = transition.prepare(ids, user_id)
                barrier.wait()
                call()
                results.append("won")
            except Conflict:
                results.append("conflict")
            except Exception as error:  # noqa: BLE001 — any other outcome fails the test, named
                results.append(f"{type(error).__name__}: {error}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=press, args=(user_id,)) for user_id in ids["users"]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
@pytest.mark.parametrize("transition", TRANSITIONS, ids=[t.name for t in TRANSITIONS])
def test_of_eight_simultaneous_changes_exactly_one_wins_and_the_rest_write_nothing(database_of, kind, transition):
    factory, url = database_of(kind)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "WTF_CSRF_ENABLED": False})
    try:
        with app.app_context():
            ids = transition.arrange()
            before = written()
            db.session.remove()
        results = run_at_once(app, transition, ids)
        with app.app_context():
            assert sorted(results) == ["conflict"] * (THREADS - 1) + ["won"], results
            expected = Counter({**transition.writes, "notification": transition.notifications})
            assert +(written() - before) == +expected
            report = check(LATER + timedelta(minutes=1))
            assert report.ok, report.lines()
            db.session.remove()
            db.engine.dispose()
    finally:
        factory.drop(url)


def test_the_table_lists_every_transition():
    names = {t.name for t in TRANSITIONS}
    assert {f"ticket {a} → {b}" for a, bs in service.WORK_TRANSITIONS.items() for b in bs} <= names
    assert {f"partner {a} → {b}" for a, bs in network.TRANSITIONS.items() for b in bs} <= names
