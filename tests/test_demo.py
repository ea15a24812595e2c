"""The demo network: deterministic, idempotent, covering what the product has to show, with a
few months of ticket history in which some partners visibly push back."""
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from partnernet import create_app
from partnernet.audit import service as audit
from partnernet.auth.models import ROLES, User
from partnernet.customers.models import Contract, Customer, contract_product_line
from partnernet.demo import (
    DEMO_PASSWORD, LISHUI_FRANCHISEE, PUSH_BACK_PARTNERS, SOLD_NOT_SERVED_PARTNER, WALK_CUSTOMER, XIHU_AGENT,
    ZHEJIANG_BRANCH, china_time, count_network, demo_logins, has_partners, history_period, seed_demo,
)
from partnernet.extensions import db
from partnernet.network.models import (
    Certification, Coverage, Engineer, Party, PartyEvent, ProductLine, coverage_product_line,
)
from partnernet.regions.models import Region
from partnernet.settings.calendar import load_calendar
from partnernet.tickets import service as tickets
from partnernet.tickets.models import HQ_QUEUE_CAUSES, OPEN_STATUSES, Ticket, TicketEvent
from partnernet.timeclock import CHINA

TODAY = date(2026, 3, 16)  # a Monday; "last month" is February, with the Spring Festival in it
LAST_MONTH = (date(2026, 2, 1), date(2026, 2, 28))
NOW = china_time(TODAY, 10)


@pytest.fixture(scope="module")
def demo(database_factory):
    """One demo database, seeded once, for the tests that only read it (seeding takes seconds)."""
    url = database_factory.clone()
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        seed_demo(TODAY)
        yield app
        db.session.remove()
        db.engine.dispose()
    database_factory.drop(url)


def database_dump(leave_out=()) -> dict:
    """Every table's rows, sorted, as text: equal dumps mean equal databases."""
    dump = {}
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if f"{table.name}.{c.name}" not in leave_out]
        rows = db.session.execute(sa.select(*columns)).all()
        dump[table.name] = sorted(repr(tuple(row)) for row in rows)
    return dump


def test_seeding_twice_gives_the_same_database(app):
    assert not has_partners()
    first_counts = seed_demo(TODAY)
    first = database_dump()
    second_counts = seed_demo(TODAY)
    assert database_dump() == first
    assert second_counts == first_counts
    assert has_partners()


def test_seeding_again_on_a_later_day_adds_nothing(app):
    # Across a new year, too: the numbers carry the year, the natural keys must not.
    seed_demo(date(2025, 12, 31))
    first = database_dump()
    seed_demo(date(2026, 1, 1))
    assert database_dump() == first


def test_two_databases_seeded_on_the_same_day_hold_the_same_demo(app, database_factory):
    seed_demo(TODAY)
    # Password hashes are salted at random, as they must be; everything else is the same.
    mine = database_dump(leave_out={"user.password_hash"})
    url = database_factory.clone()
    try:
        other_app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
        with other_app.app_context():
            seed_demo(TODAY)
            theirs = database_dump(leave_out={"user.password_hash"})
            db.session.remove()
            db.engine.dispose()
    finally:
        database_factory.drop(url)
    assert theirs == mine


def scalar(statement):
    return db.session.execute(statement).scalar_one()


def test_demo_network_has_every_kind_of_partner_in_every_mainland_province(demo):
    counts = count_network()
    kinds = dict(db.session.execute(
        sa.select(Party.kind, sa.func.count()).where(Party.kind != "hq").group_by(Party.kind)).all())
    assert kinds == {"branch": 25, "joint_venture": 15, "franchisee": 35, "agent": 75}
    assert counts["partners"] == 150
    mainland = set(db.session.execute(sa.select(Region.code).where(
        Region.level == "province", Region.code.not_in(["710000", "810000", "820000"]))).scalars())
    assert len(mainland) == 31
    provinces = set(db.session.execute(
        sa.select(Party.province_code).where(Party.kind != "hq")).scalars())
    assert provinces == mainland
    statuses = set(db.session.execute(sa.select(Party.status).where(Party.kind != "hq")).scalars())
    assert statuses == {"onboarding", "active", "probation", "suspended", "terminated"}
    assert 550 <= counts["engineers"] <= 700
    assert counts["customers"] == 1001  # 1000 drawn, and the walk-through's customer in 西湖区


def test_the_field_walk_through_has_its_customer_and_every_customer_an_address(demo):
    """The issue's walk: a ¥68,000 customer in 西湖区 (on-site included), reachable; 西溪 offers L1
    and L2 only there, so its escalation to L3 hands the ticket on."""
    customer = scalar(sa.select(Customer).where(Customer.name == WALK_CUSTOMER))
    assert customer.region_code == "330106" and customer.contact_phone and customer.address
    [contract] = customer.contracts
    assert contract.value == Decimal("68000.00") and TODAY - timedelta(days=365) < contract.starts_on <= TODAY
    assert scalar(sa.select(sa.func.count()).select_from(Customer).where(Customer.address.is_(None))) == 0
    xixi = scalar(sa.select(Party).where(Party.name == XIHU_AGENT))
    assert xixi.tiers == ["L1", "L2"]


def test_every_partner_past_onboarding_has_its_history(demo):
    partners = db.session.execute(sa.select(Party).where(Party.kind != "hq")).scalars().all()
    events = db.session.execute(sa.select(PartyEvent.party_id, PartyEvent.kind, PartyEvent.to_status,
                                          PartyEvent.reason, PartyEvent.actor_user_id)).all()
    for partner in partners:
        mine = [e for e in events if e.party_id == partner.id]
        assert any(e.kind == "created" for e in mine)
        assert all(e.actor_user_id is None for e in mine)
        if partner.status not in ("onboarding", "active"):
            change = [e for e in mine if e.kind == "status_changed" and e.to_status == partner.status]
            assert change and change[0].reason


def test_zhejiang_shows_province_city_and_county_coverage(demo):
    rows = db.session.execute(
        sa.select(Coverage.region_code, Party.kind, Party.status)
        .join(Party, Coverage.party_id == Party.id)
        .where(Coverage.region_code.in_(["330000", "330100", "330106"]),
               Coverage.effective_to.is_(None))).all()
    active = {(r.region_code, r.kind) for r in rows if r.status == "active"}
    assert ("330000", "branch") in active
    assert ("330100", "joint_venture") in active or ("330100", "franchisee") in active
    assert ("330106", "agent") in active


def test_coverage_history_overlap_and_specific_product_lines(demo):
    assert scalar(sa.select(sa.func.count()).where(Coverage.effective_to < TODAY)) >= 3
    overlapping = db.session.execute(
        sa.select(Coverage.region_code).join(Region, Region.code == Coverage.region_code)
        .where(Region.level == "county", Coverage.effective_to.is_(None))
        .group_by(Coverage.region_code).having(sa.func.count() > 1)).all()
    assert len(overlapping) >= 2
    branch_coverage = db.session.execute(sa.select(Coverage.all_product_lines).join(Party).where(
        Party.kind == "branch")).scalars().all()
    assert all(branch_coverage)
    specific = db.session.execute(sa.select(Coverage.id).where(~Coverage.all_product_lines)).scalars().all()
    linked = set(db.session.execute(sa.select(coverage_product_line.c.coverage_id)).scalars())
    assert specific and set(specific) <= linked


def test_certifications_include_expired_expiring_and_pending_ones(demo):
    counts = count_network()
    by_status = dict(db.session.execute(
        sa.select(Certification.status, sa.func.count()).group_by(Certification.status)).all())
    total = counts["certifications"]
    assert set(by_status) == {"valid", "expired", "pending", "rejected", "revoked"}
    assert 0.70 <= by_status["valid"] / total <= 0.88
    assert by_status["expired"] >= 0.05 * total and by_status["pending"] >= 0.04 * total
    assert scalar(sa.select(sa.func.count()).where(
        Certification.status == "expired", Certification.expires_on >= TODAY)) == 0
    expiring = scalar(sa.select(sa.func.count()).where(
        Certification.status == "valid", Certification.expires_on.between(TODAY, TODAY + timedelta(days=30))))
    assert expiring >= 0.02 * total
    assert scalar(sa.select(sa.func.count()).where(
        Certification.status == "valid", Certification.expires_on < TODAY)) == 0


def test_some_agents_cover_a_product_line_nobody_of_theirs_is_certified_for(demo):
    valid = set(db.session.execute(
        sa.select(Engineer.party_id, Certification.product_line_id).join(Engineer)
        .where(Certification.status == "valid", Certification.expires_on >= TODAY)).all())
    covered = set(db.session.execute(
        sa.select(Coverage.party_id, coverage_product_line.c.product_line_id)
        .join(coverage_product_line).join(Party)
        .where(Party.kind == "agent", Party.status == "active", Coverage.effective_to.is_(None))).all())
    uncertified = covered - valid
    assert 1 <= len({party for party, _line in uncertified}) <= 10


def test_contracts_include_small_ones_and_unpaid_ones_past_their_first_year(demo):
    year_ago = TODAY - timedelta(days=365)
    assert scalar(sa.select(sa.func.count()).where(Contract.value < Decimal("50000"))) > 0
    assert scalar(sa.select(sa.func.count()).where(
        Contract.starts_on < year_ago, Contract.service_paid_until < TODAY)) > 0
    assert scalar(sa.select(sa.func.count()).where(
        Contract.starts_on < year_ago, Contract.service_paid_until >= TODAY)) > 0
    assert scalar(sa.select(sa.func.count()).where(
        Contract.starts_on > year_ago, Contract.service_paid_until.is_(None))) > 0
    assert scalar(sa.select(sa.func.count()).where(
        Contract.starts_on <= year_ago, Contract.service_paid_until.is_(None))) == 0


def test_the_demo_has_a_user_for_every_role(demo):
    logins = demo_logins()
    assert {role for _email, role, _party in logins} == set(ROLES)
    assert ("admin@xihu-agent.demo", "partner_admin") in {(e, r) for e, r, _p in logins}
    engineer_user = db.session.execute(sa.select(User).where(User.role == "engineer")).scalars().first()
    assert engineer_user.engineer.party_id == engineer_user.party_id
    xihu = scalar(sa.select(Coverage.party_id).where(Coverage.region_code == "330106"))
    assert engineer_user.party_id == xihu
    lines = db.session.execute(sa.select(ProductLine.code).join(Certification).where(
        Certification.engineer_id == engineer_user.engineer_id)).scalars().all()
    assert lines  # the engineer's home page has certificates to show


def test_every_demo_login_signs_in(app):
    seed_demo(TODAY)
    logins = demo_logins()
    assert len(logins) == 8
    for email, _role, _party in logins:
        client = app.test_client()
        response = client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
        assert response.status_code == 302, email
        assert urlsplit(response.headers["Location"]).path == "/"
        assert client.get("/", follow_redirects=True).status_code == 200, email


# --- the ticket history ---------------------------------------------------------------------------

def ticket_rows() -> list:
    return db.session.execute(sa.select(Ticket.__table__).order_by(Ticket.id)).all()


def events_by_ticket() -> dict:
    """Each ticket's events in the order they were recorded."""
    events = defaultdict(list)
    for event in db.session.execute(sa.select(TicketEvent.__table__).order_by(TicketEvent.id)):
        events[event.ticket_id].append(event)
    return events


def hq_id() -> int:
    return scalar(sa.select(Party.id).where(Party.kind == "hq"))


def test_history_covers_the_working_days_of_the_last_months_up_to_yesterday(demo):
    first, last = history_period(TODAY)
    assert (first, last) == (date(2025, 12, 1), date(2026, 3, 15))
    rows = ticket_rows()
    assert 3000 <= len(rows) <= 6000
    created = [row.created_at.astimezone(CHINA) for row in rows]
    days = {moment.date() for moment in created}
    assert min(days) <= first + timedelta(days=3) and max(days) >= last - timedelta(days=3)
    assert all(first <= moment.date() <= last and 9 <= moment.hour < 16 for moment in created)
    calendar = load_calendar(first, last)
    assert all(calendar.is_working(day) for day in days)
    assert date(2026, 1, 4) in days  # a Sunday, but a make-up working day (调休)
    assert not days & {date(2026, 2, 16), date(2026, 2, 17)}  # the Spring Festival
    last_event = scalar(sa.select(sa.func.max(TicketEvent.at)))
    assert last_event < china_time(TODAY, 0)  # nothing happens after the history ends


def test_every_open_ticket_has_exactly_one_holder(demo):
    open_tickets = [row for row in ticket_rows() if row.status in OPEN_STATUSES]
    assert open_tickets  # the last working day's complex tickets, at least
    for row in open_tickets:
        holders = [holder for holder in (row.offered_party_id, row.owner_party_id,
                                         "HQ queue" if row.status == "hq_queue" else None) if holder]
        assert len(holders) == 1, row
        if row.status == "offered":
            assert row.offered_party_id and row.offer_deadline
        elif row.status == "hq_queue":
            assert row.hq_queue_cause in HQ_QUEUE_CAUSES
        else:
            assert row.status in ("accepted", "in_progress", "waiting_on_customer") and row.owner_party_id


def test_each_tickets_status_is_where_its_events_left_it(demo):
    events = events_by_ticket()
    for row in ticket_rows():
        mine = events[row.id]
        assert mine[0].kind == "created" and mine[0].at == row.created_at
        assert [e.at for e in mine] == sorted(e.at for e in mine)
        # Each step starts where the one before left the ticket. (A return is recorded first; the
        # queued_to_hq that follows it is the step that moves the ticket.)
        steps = [e for e in mine if e.to_status and e.kind != "returned_to_hq"]
        assert all(a.to_status == b.from_status for a, b in zip(steps, steps[1:])), row.id
        assert steps[-1].to_status == row.status, row.id


def test_every_accepted_ticket_is_worked_by_a_certified_engineer_of_its_owner(demo):
    hq = hq_id()
    party_of = dict(db.session.execute(sa.select(Engineer.id, Engineer.party_id)).all())
    certificates = defaultdict(list)
    for engineer_id, line_id, issued_on, expires_on in db.session.execute(
            sa.select(Certification.engineer_id, Certification.product_line_id, Certification.issued_on,
                      Certification.expires_on).where(Certification.status.in_(("valid", "expired")))):
        certificates[engineer_id, line_id].append((issued_on, expires_on))
    events = events_by_ticket()
    for row in ticket_rows():
        if row.owner_party_id is None:
            assert row.engineer_id is None
            continue
        taken = [e for e in events[row.id] if e.kind in ("accepted", "taken_by_hq")][-1]
        assert taken.party_id == row.owner_party_id
        if row.owner_party_id == hq and row.engineer_id is None:
            continue  # HQ may take a ticket before naming its engineer
        assert party_of[row.engineer_id] == row.owner_party_id, row.id
        day = taken.at.astimezone(CHINA).date()
        assert any(issued <= day <= expires for issued, expires in certificates[row.engineer_id, row.product_line_id])


def test_every_ticket_at_hq_was_last_handed_over_to_the_queue_with_its_cause(demo):
    hq = hq_id()
    events = events_by_ticket()
    causes = set()
    for row in ticket_rows():
        handovers = [e for e in events[row.id] if e.kind in ("offered", "queued_to_hq")]
        last = handovers[-1]
        if row.status == "hq_queue" or row.owner_party_id == hq:
            assert last.kind == "queued_to_hq" and last.reason_code == row.hq_queue_cause, row.id
            causes.add(last.reason_code)
        else:
            assert last.kind == "offered" and last.party_id == row.owner_party_id, row.id
    assert causes <= set(HQ_QUEUE_CAUSES) and {"no_coverage", "all_declined", "returned_by_partner"} <= causes


def test_sla_events_agree_with_the_tickets_times(demo):
    events = events_by_ticket()
    for row in ticket_rows():
        kinds = defaultdict(list)
        for event in events[row.id]:
            kinds[event.kind].append(event)
        answered = kinds["accepted"] + kinds["taken_by_hq"]
        if answered:
            assert row.responded_at == min(e.at for e in answered)
            met = row.responded_at <= row.response_due_at
            assert [e.kind for e in kinds["response_met"] + kinds["response_breached"]] == \
                ["response_met" if met else "response_breached"], row.id
        resolved = [e for e in kinds["status_changed"] if e.to_status == "resolved"]
        if row.status in ("resolved", "closed"):
            assert row.resolved_at == resolved[-1].at
            met = row.resolved_at <= row.resolution_due_at
            assert [e.kind for e in kinds["resolution_met"] + kinds["resolution_breached"]] == \
                ["resolution_met" if met else "resolution_breached"], row.id
        else:
            assert row.resolved_at is None and not kinds["resolution_met"]
        assert (row.closed_at is not None) == (row.status == "closed")


def test_last_months_audit_flags_exactly_the_partners_that_push_back_and_the_one_that_sold_unserved(demo):
    from partnernet.audit.measures import flag_reasons, measure_partners
    names = dict(db.session.execute(sa.select(Party.id, Party.name)).all())
    params = audit.run_params(None)
    flagged = {}
    for measures in measure_partners(*LAST_MONTH, NOW):
        reasons = flag_reasons(measures, params)
        if reasons:
            flagged[names[measures.party_id]] = (reasons, measures)
    assert set(flagged) == set(PUSH_BACK_PARTNERS) | {SOLD_NOT_SERVED_PARTNER}
    for name in PUSH_BACK_PARTNERS:
        reasons, measures = flagged[name]
        assert reasons == ["push_back"]
        assert measures.offered >= 15 and 0.35 <= measures.push_back_rate <= 0.65
    reasons, measures = flagged[SOLD_NOT_SERVED_PARTNER]
    assert reasons == ["sold_not_served"] and measures.sold_not_served_share > 0.8


def test_putting_a_flagged_partner_on_probation_sends_its_next_ticket_elsewhere(app):
    seed_demo(TODAY)
    run = audit.start_run(*LAST_MONTH, None, "cli", None, NOW)
    lishui = db.session.execute(sa.select(Party).where(Party.name == LISHUI_FRANCHISEE)).scalar_one()
    branch = scalar(sa.select(Party.id).where(Party.name == ZHEJIANG_BRANCH))
    finding = next(f for f in run.findings if f.party_id == lishui.id)
    assert finding.flagged
    # A Lishui customer with on-site service: only the franchisee offers L3 in 丽水 below the branch.
    # The ticket starts at L2 with whoever serves that there, and reaches L3 by its escalation.
    customer_id, line = db.session.execute(
        sa.select(Customer.id, ProductLine.code)
        .join(Contract, Contract.customer_id == Customer.id)
        .join(contract_product_line, contract_product_line.c.contract_id == Contract.id)
        .join(ProductLine, ProductLine.id == contract_product_line.c.product_line_id)
        .where(Customer.region_code.like("3311%"), Contract.value >= 50000, Contract.starts_on <= TODAY,
               ProductLine.code == "oa-core")
        .order_by(Customer.id)).first()

    def new_ticket():
        ticket = tickets.intake(tickets.IntakeRequest(customer_id=customer_id, product_line=line, complexity="simple",
                                                      channel="phone", subject="公文流转卡在签收环节", tier="L2"),
                                None, NOW)
        holder = db.session.get(Party, ticket.offered_party_id)
        admin = User(email=f"admin{ticket.id}@holder.example", name="holder", role="partner_admin", party_id=holder.id,
                     password_hash="!")
        db.session.add(admin)
        engineer = tickets.certified_engineers_for(ticket, holder.id, TODAY)[0]
        tickets.accept(ticket, admin, engineer.id, NOW + timedelta(minutes=5))
        preview = tickets.escalate(ticket, admin, "L3", "需要上门检查公文交换服务器", True, NOW + timedelta(minutes=10))
        assert not preview.stays_with_owner, holder.name
        return ticket

    assert new_ticket().offered_party_id == lishui.id
    manager = db.session.execute(sa.select(User).where(User.email == "manager@hq.demo")).scalar_one()
    audit.decide(finding, "probation", "推诿率过高，整改三个月", manager, NOW)
    assert lishui.status == "probation"
    ticket = new_ticket()
    assert ticket.offered_party_id == branch
    skipped = {c["party_id"]: c["reason"] for c in ticket.route["candidates"] if c["outcome"] == "skipped"}
    assert skipped[lishui.id] == "probation"
    # The partner's administrator sees the finding, and only its own, and answers it.
    admin = db.session.execute(sa.select(User).where(User.email == "admin@lishui-franchisee.demo")).scalar_one()
    assert [f.id for f in audit.findings_of_run(run, admin)] == [finding.id]
    audit.respond(finding, "二月工程师流失，已招聘两名持证工程师", admin, NOW)
    assert [r.text for r in finding.responses] == ["二月工程师流失，已招聘两名持证工程师"]
