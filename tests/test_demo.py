"""The demo network: deterministic, idempotent, covering what the product has to show."""
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import sqlalchemy as sa

from partnernet import create_app
from partnernet.auth.models import ROLES, User
from partnernet.customers.models import Contract
from partnernet.demo import DEMO_PASSWORD, demo_logins, has_partners, seed_demo
from partnernet.extensions import db
from partnernet.network.models import (
    Certification, Coverage, Engineer, Party, PartyEvent, ProductLine, coverage_product_line,
)
from partnernet.regions.models import Region

TODAY = date(2026, 3, 16)


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


def test_demo_network_has_every_kind_of_partner_in_every_mainland_province(app):
    counts = seed_demo(TODAY)
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
    assert counts["customers"] == 1000


def test_every_partner_past_onboarding_has_its_history(app):
    seed_demo(TODAY)
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


def test_zhejiang_shows_province_city_and_county_coverage(app):
    seed_demo(TODAY)
    rows = db.session.execute(
        sa.select(Coverage.region_code, Party.kind, Party.status)
        .join(Party, Coverage.party_id == Party.id)
        .where(Coverage.region_code.in_(["330000", "330100", "330106"]),
               Coverage.effective_to.is_(None))).all()
    active = {(r.region_code, r.kind) for r in rows if r.status == "active"}
    assert ("330000", "branch") in active
    assert ("330100", "joint_venture") in active or ("330100", "franchisee") in active
    assert ("330106", "agent") in active


def test_coverage_history_overlap_and_specific_product_lines(app):
    seed_demo(TODAY)
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


def test_certifications_include_expired_expiring_and_pending_ones(app):
    counts = seed_demo(TODAY)
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


def test_some_agents_cover_a_product_line_nobody_of_theirs_is_certified_for(app):
    seed_demo(TODAY)
    valid = set(db.session.execute(
        sa.select(Engineer.party_id, Certification.product_line_id).join(Engineer)
        .where(Certification.status == "valid", Certification.expires_on >= TODAY)).all())
    covered = set(db.session.execute(
        sa.select(Coverage.party_id, coverage_product_line.c.product_line_id)
        .join(coverage_product_line).join(Party)
        .where(Party.kind == "agent", Party.status == "active", Coverage.effective_to.is_(None))).all())
    uncertified = covered - valid
    assert 1 <= len({party for party, _line in uncertified}) <= 10


def test_contracts_include_small_ones_and_unpaid_ones_past_their_first_year(app):
    seed_demo(TODAY)
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


def test_the_demo_has_a_user_for_every_role(app):
    seed_demo(TODAY)
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
    assert len(logins) == 7
    for email, _role, _party in logins:
        client = app.test_client()
        response = client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
        assert response.status_code == 302, email
        assert urlsplit(response.headers["Location"]).path == "/"
        assert client.get("/", follow_redirects=True).status_code == 200, email
