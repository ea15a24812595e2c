"""The push-back audit: measures from the ticket events, the flags, runs that never change,
decisions that change routing, and the partner's side of a finding."""
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from partnernet import scheduler
from partnernet.audit import service as audit
from partnernet.audit.measures import Measures, Params, flag_reasons, measure_partners
from partnernet.audit.models import AuditFinding, AuditRun
from partnernet.audit.wilson import wilson_lower_bound
from partnernet.errors import Conflict, Forbidden, NotFound, ValidationFailed
from partnernet.extensions import db
from partnernet.network.models import Party, PartyEvent
from partnernet.settings.models import Setting
from partnernet.tickets import service as ticket_service
from partnernet.tickets.models import Ticket, TicketEvent
from partnernet.timeclock import CHINA
from tests import factories
from tests.test_tickets import NOW, certified_partner, open_ticket

UTC = timezone.utc
WEEK = (date(2026, 11, 16), date(2026, 11, 22))       # Monday to Sunday, days in China
IN_WEEK = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)     # Wednesday 10:00 in China
DEFAULTS = Params(threshold=0.20, min_offers=10, sold_not_served_threshold=0.30)


def offer_history(party, offered, declined=0, expired=0, returned=0, met=0, breached=0, at=IN_WEEK):
    """`offered` tickets offered to the partner at `at`: the first `declined` declined, the next
    `expired` let expire, the rest accepted; of those the first `returned` returned to HQ, and of
    the kept ones `met` resolved in time and `breached` late. Written as events directly: the
    volume cases need the events the audit reads, not each ticket's whole life."""
    customer = factories.customer()
    line = factories.product_line()
    rows = [Ticket(customer_id=customer.id, region_code=customer.region_code, product_line_id=line.id,
                   complexity="simple", channel="phone", tier="L1", subject="审批流无法提交", status="new",
                   created_at=at, updated_at=at) for _ in range(offered)]
    db.session.add_all(rows)
    db.session.flush()
    answered = at + timedelta(minutes=5)
    outcomes = ["declined"] * declined + ["offer_expired"] * expired + ["returned_to_hq"] * returned \
        + ["resolution_met"] * met + ["resolution_breached"] * breached
    outcomes += ["kept"] * (offered - len(outcomes))
    events = []
    for ticket, outcome in zip(rows, outcomes):
        events.append(TicketEvent(ticket_id=ticket.id, kind="offered", at=at, party_id=party.id))
        if outcome in ("declined", "offer_expired"):
            events.append(TicketEvent(ticket_id=ticket.id, kind=outcome, at=answered, party_id=party.id))
            continue
        events.append(TicketEvent(ticket_id=ticket.id, kind="accepted", at=answered, party_id=party.id))
        if outcome == "returned_to_hq":
            events.append(TicketEvent(ticket_id=ticket.id, kind=outcome, at=answered + timedelta(hours=1),
                                      party_id=party.id))
        elif outcome.startswith("resolution_"):
            events.append(TicketEvent(ticket_id=ticket.id, kind=outcome, at=answered + timedelta(hours=1)))
    db.session.add_all(events)
    db.session.commit()
    return {outcome: [t.id for t, o in zip(rows, outcomes) if o == outcome] for outcome in set(outcomes)}


def manager():
    return factories.user("hq_manager")


def run_week(params=None, now=NOW) -> AuditRun:
    return audit.start_run(WEEK[0], WEEK[1], params, "ui", manager(), now)


def finding_of(run: AuditRun, party) -> AuditFinding:
    return db.session.execute(sa.select(AuditFinding).where(
        AuditFinding.run_id == run.id, AuditFinding.party_id == party.id)).scalar_one()


def figures(finding: AuditFinding) -> dict:
    return {column: getattr(finding, column) for column in (
        "offered", "accepted", "declined", "expired", "returned", "push_back", "push_back_rate",
        "push_back_lower_bound", "sold_tickets", "sold_not_served", "sold_not_served_share", "sla_kept",
        "sla_met", "sla_attainment", "flagged", "flag_reasons")}


# --- the Wilson bound (pure) --------------------------------------------------------------------

def reference_lower_bound(successes, trials, z=1.96):
    """Independently: the Wilson bound is the p below the observed share where the score test
    sits exactly at z, (p̂ - p)² · n = z² · p · (1 - p). Found by bisection."""
    observed = successes / trials
    low, high = 0.0, observed
    for _ in range(200):
        middle = (low + high) / 2
        if (observed - middle) ** 2 * trials > z * z * middle * (1 - middle):
            low = middle
        else:
            high = middle
    return (low + high) / 2


@pytest.mark.parametrize("successes, trials", [(40, 100), (2, 3), (1, 10), (7, 7), (250, 1000), (0, 50)])
def test_wilson_lower_bound_matches_an_independent_reference(successes, trials):
    assert wilson_lower_bound(successes, trials) == pytest.approx(reference_lower_bound(successes, trials), abs=1e-9)


def test_wilson_lower_bound_of_the_worked_example():
    assert round(wilson_lower_bound(40, 100), 3) == 0.309
    assert round(wilson_lower_bound(2, 3), 3) == 0.208   # above 20%, on three offers
    assert wilson_lower_bound(0, 50) == 0.0
    assert wilson_lower_bound(0, 0) is None


def test_flags_need_the_minimum_volume_and_a_share_strictly_above_the_threshold():
    assert flag_reasons(Measures(1, offered=3, declined=2), DEFAULTS) == []
    assert flag_reasons(Measures(1, offered=3, declined=2), Params(0.20, 3, 0.30)) == ["push_back"]
    assert flag_reasons(Measures(1, sold_tickets=9, sold_not_served=9), DEFAULTS) == []
    assert flag_reasons(Measures(1, sold_tickets=10, sold_not_served=3), DEFAULTS) == []
    assert flag_reasons(Measures(1, sold_tickets=10, sold_not_served=4), DEFAULTS) == ["sold_not_served"]
    both = Measures(1, offered=100, declined=40, sold_tickets=10, sold_not_served=10)
    assert flag_reasons(both, DEFAULTS) == ["push_back", "sold_not_served"]


# --- measures and flags from the events -----------------------------------------------------------

def sold_and_served_at_hq(seller, customers=20, tickets=30, at=IN_WEEK):
    """Customers sold by `seller` opening tickets through intake: what routing does with them."""
    sold = []
    for _ in range(customers):
        customer = factories.customer(sold_by=seller, region_code="330106")
        factories.contract(customer, starts_on=date(2026, 6, 1))
        sold.append(customer)
    opened = []
    for n in range(tickets):
        request = tickets_request(sold[n % customers])
        opened.append(ticket_service.intake(request, None, at + timedelta(minutes=n)))
    return opened


def tickets_request(customer):
    return ticket_service.IntakeRequest(customer_id=customer.id, product_line="workflow", complexity="simple",
                                 channel="phone", subject="审批流无法提交", tier="L2")


def test_worked_example_flags_partner_a_on_push_back_and_d_on_sold_not_served(app):
    a, b, c = factories.partner(), factories.partner(), factories.partner()
    offer_history(a, offered=100, declined=20, expired=10, returned=10)
    offer_history(b, offered=3, declined=2)
    offer_history(c, offered=50)
    # D sells in Xihu and covers it, but has no engineer certified for what it sold.
    d = factories.partner()
    factories.coverage(d, "330106")
    factories.engineer(d)
    opened = sold_and_served_at_hq(d)
    assert {t.hq_queue_cause for t in opened} == {"no_certified_engineer"}

    run = run_week()

    found_a, found_b, found_c, found_d = (finding_of(run, p) for p in (a, b, c, d))
    assert (found_a.offered, found_a.declined, found_a.expired, found_a.returned) == (100, 20, 10, 10)
    assert (found_a.push_back, found_a.push_back_rate) == (40, 0.4)
    assert round(found_a.push_back_lower_bound, 3) == 0.309
    assert found_a.flagged and found_a.flag_reasons == ["push_back"]
    assert round(found_b.push_back_lower_bound, 3) == 0.208 and found_b.offered == 3
    assert not found_b.flagged and found_b.flag_reasons == []   # below the minimum of 10 offers
    assert (found_c.push_back, found_c.push_back_lower_bound, found_c.flagged) == (0, 0.0, False)
    assert (found_d.offered, found_d.sold_tickets, found_d.sold_not_served) == (0, 30, 30)
    assert found_d.sold_not_served_share == 1.0
    assert found_d.flagged and found_d.flag_reasons == ["sold_not_served"]
    assert (run.threshold, run.min_offers, run.sold_not_served_threshold) == (
        Decimal("0.2"), 10, Decimal("0.3"))


def test_routing_prefers_the_partner_with_the_better_standing_in_the_latest_audit(app):
    # Two agents covering one county, equal in everything but last week's push-back. The one with
    # id order on its side (the first) pushed back; the audit run decides, not the id.
    pushed_back, _ = certified_partner()
    kept, _ = certified_partner()
    offer_history(pushed_back, offered=40, declined=20)
    offer_history(kept, offered=40)
    assert open_ticket().offered_party_id == pushed_back.id  # nobody audited yet: the lower id
    run = run_week()
    assert finding_of(run, pushed_back).push_back_lower_bound > finding_of(run, kept).push_back_lower_bound
    assert db.session.get(Party, pushed_back.id).audit_standing == finding_of(run, pushed_back).push_back_lower_bound
    assert open_ticket().offered_party_id == kept.id


def test_every_living_partner_gets_a_finding_even_without_activity(app):
    quiet = factories.partner()
    gone = factories.partner(status="terminated")
    gone_but_busy = factories.partner(status="terminated")
    offer_history(gone_but_busy, offered=2)
    run = run_week()
    parties = {f.party_id for f in run.findings}
    assert quiet.id in parties and gone_but_busy.id in parties
    assert gone.id not in parties and factories.hq().id not in parties
    assert figures(finding_of(run, quiet))["offered"] == 0
    assert finding_of(run, quiet).push_back_rate is None


def test_the_period_is_counted_in_china_days(app):
    partner = factories.partner()
    monday_first_minutes = datetime(2026, 11, 15, 16, 30, tzinfo=UTC)   # Monday 00:30 in China
    sunday_last_minutes = datetime(2026, 11, 22, 15, 30, tzinfo=UTC)    # Sunday 23:30 in China
    next_monday = datetime(2026, 11, 22, 16, 30, tzinfo=UTC)            # Monday 00:30, next week
    sunday_before = datetime(2026, 11, 15, 15, 30, tzinfo=UTC)          # Sunday 23:30, week before
    for at in (monday_first_minutes, sunday_last_minutes, next_monday, sunday_before):
        offer_history(partner, offered=1, at=at)
    assert finding_of(run_week(), partner).offered == 2


def test_sla_attainment_is_over_the_kept_tickets_whose_target_is_settled(app):
    partner = factories.partner()
    # 12 accepted: 2 returned (their outcome does not count), 6 met, 2 breached, 2 not yet due.
    history = offer_history(partner, offered=12, returned=2, met=6, breached=2)
    for ticket_id in history["returned_to_hq"]:
        db.session.add(TicketEvent(ticket_id=ticket_id, kind="resolution_met", at=IN_WEEK + timedelta(days=1)))
    db.session.commit()
    run = run_week()
    found = finding_of(run, partner)
    assert (found.sla_kept, found.sla_met, found.sla_attainment) == (8, 6, 0.75)
    assert audit.tickets_behind(found, "sla_missed") == sorted(history["resolution_breached"])
    assert audit.tickets_behind(found, "sla_kept") == sorted(history["resolution_met"] + history["resolution_breached"])


def test_sold_not_served_counts_what_hq_ended_up_serving_for_any_cause(app):
    seller, engineer = certified_partner()
    admin = factories.user("partner_admin", party=seller)
    hq_agent = factories.user("hq_agent")
    customer = factories.customer(sold_by=seller, region_code="330106")
    # A customer HQ signed, whose contract the partner sold: the contract's seller counts.
    via_contract = factories.customer(region_code="330106")
    factories.contract(via_contract, starts_on=date(2026, 6, 1), sold_by_party_id=seller.id)

    kept = open_ticket(customer)
    ticket_service.accept(kept, admin, engineer.id, NOW + timedelta(minutes=1))
    returned = open_ticket(customer)
    ticket_service.accept(returned, admin, engineer.id, NOW + timedelta(minutes=1))
    ticket_service.return_to_hq(returned, admin, "beyond_our_skills", "需要总部二次开发", NOW + timedelta(minutes=30))
    declined = open_ticket(via_contract)
    ticket_service.decline(declined, admin, "no_engineer_available", "本周人手不足", NOW + timedelta(minutes=2))
    ticket_service.take_at_hq(declined, hq_agent, NOW + timedelta(minutes=10))
    offered_back = open_ticket(customer)
    ticket_service.decline(offered_back, admin, "no_capacity", "满负荷", NOW + timedelta(minutes=2))
    ticket_service.offer_by_hand(offered_back, hq_agent, seller.id, "", NOW + timedelta(minutes=20))
    assert {t.status for t in (returned, declined, offered_back)} == {"hq_queue", "accepted", "offered"}

    day = NOW.astimezone(CHINA).date()
    run = audit.start_run(day, day, None, "ui", manager(), NOW + timedelta(days=1))
    found = finding_of(run, seller)
    assert (found.sold_tickets, found.sold_not_served) == (4, 2)
    assert found.sold_not_served_share == 0.5
    assert audit.tickets_behind(found, "sold_not_served") == sorted([returned.id, declined.id])
    assert (found.offered, found.accepted, found.declined, found.returned) == (5, 2, 2, 1)


def test_measures_take_a_fixed_number_of_queries(app):
    statements = []

    def count(*_args):
        statements.append(1)

    def queries_for_the_week():
        statements.clear()
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            measure_partners(WEEK[0], WEEK[1], NOW)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    offer_history(factories.partner(), offered=3, declined=1)
    few = queries_for_the_week()
    for n in range(6):
        offer_history(factories.partner(), offered=5 + n, declined=n, returned=1, met=2)
    sold_and_served_at_hq(factories.partner(), customers=3, tickets=4)
    assert queries_for_the_week() == few == 5


def test_network_medians_compare_with_the_partners_that_had_something_to_measure(app):
    for offered, declined in ((10, 1), (20, 4), (40, 20)):
        offer_history(factories.partner(), offered=offered, declined=declined)
    factories.partner()  # nothing this week: not part of the comparison
    medians = audit.network_medians(run_week())
    assert medians["offered"] == 20 and medians["declined"] == 4
    assert medians["push_back_rate"] == pytest.approx(0.2)
    assert medians["sold_not_served_share"] is None


def test_tickets_behind_a_number_are_the_tickets_it_counts(app):
    partner = factories.partner()
    history = offer_history(partner, offered=30, declined=5, expired=3, returned=2)
    found = finding_of(run_week(), partner)
    assert audit.tickets_behind(found, "declined") == sorted(history["declined"])
    assert audit.tickets_behind(found, "expired") == sorted(history["offer_expired"])
    assert len(audit.tickets_behind(found, "push_back")) == found.push_back == 10
    assert len(audit.tickets_behind(found, "offered")) == found.offered == 30
    with pytest.raises(NotFound):
        audit.tickets_behind(found, "password_hash")


# --- runs --------------------------------------------------------------------------------------

def test_a_runs_figures_do_not_change_when_later_tickets_arrive(app):
    partner = factories.partner()
    history = offer_history(partner, offered=20, declined=8)
    run = run_week()
    found = finding_of(run, partner)
    before = figures(found)
    behind = audit.tickets_behind(found, "sla_kept")
    # After the run: more offers, a late resolution of a ticket kept that week, and a return.
    later = NOW + timedelta(hours=2)
    offer_history(partner, offered=15, declined=15, at=later)
    kept = history["kept"]
    db.session.add(TicketEvent(ticket_id=kept[0], kind="resolution_met", at=later))
    db.session.add(TicketEvent(ticket_id=kept[1], kind="returned_to_hq", at=later, party_id=partner.id))
    db.session.commit()
    db.session.expire_all()

    assert figures(db.session.get(AuditFinding, found.id)) == before
    assert audit.tickets_behind(db.session.get(AuditFinding, found.id), "sla_kept") == behind == []
    again = finding_of(run_week(now=later + timedelta(minutes=1)), partner)
    assert (again.sla_kept, again.sla_met) == (1, 1)


def test_a_run_and_its_findings_cannot_be_changed_or_deleted(app):
    partner = factories.partner()
    offer_history(partner, offered=12, declined=6)
    run = run_week()
    found = finding_of(run, partner)
    found.flagged = False
    with pytest.raises(Conflict):
        db.session.commit()
    db.session.rollback()
    run.threshold = 0.5
    with pytest.raises(Conflict):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.get(AuditFinding, found.id))
    with pytest.raises(Conflict):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(AuditFinding, found.id).flagged


def test_a_run_takes_its_parameters_from_the_settings_unless_given(app):
    partner = factories.partner()
    offer_history(partner, offered=100, declined=40)
    db.session.get(Setting, "audit_threshold").value = "0.35"
    db.session.commit()
    from_settings = run_week()
    assert from_settings.threshold == Decimal("0.35") and not finding_of(from_settings, partner).flagged
    given = run_week({"threshold": "0.25", "min_offers": 50})
    assert (given.threshold, given.min_offers) == (Decimal("0.25"), 50)
    assert finding_of(given, partner).flag_reasons == ["push_back"]


def test_a_run_needs_a_finished_period_sound_parameters_and_a_channel_manager(app):
    today = NOW.astimezone(CHINA).date()
    with pytest.raises(ValidationFailed) as error:
        audit.start_run(today - timedelta(days=6), today, None, "ui", manager(), NOW)
    assert "period_end" in error.value.fields
    with pytest.raises(ValidationFailed) as error:
        audit.start_run(WEEK[1], WEEK[0], None, "ui", manager(), NOW)
    assert "period_end" in error.value.fields
    with pytest.raises(ValidationFailed) as error:
        run_week({"threshold": "1.5", "min_offers": -1, "sold_not_served_threshold": "lots"})
    assert set(error.value.fields) == {"threshold", "min_offers", "sold_not_served_threshold"}
    for user in (factories.user("hq_agent"), factories.user("partner_admin", party=factories.partner()), None):
        with pytest.raises(Forbidden):
            audit.start_run(WEEK[0], WEEK[1], None, "ui", user, NOW)
    assert db.session.execute(sa.select(sa.func.count(AuditRun.id))).scalar() == 0


def test_the_weekly_run_covers_the_last_full_week_once(app):
    monday_two_am = datetime(2026, 11, 23, 2, 0, tzinfo=CHINA)
    assert audit.last_full_week(monday_two_am) == WEEK
    assert audit.last_full_week(datetime(2026, 11, 22, 23, 0, tzinfo=CHINA)) == (date(2026, 11, 9), date(2026, 11, 15))
    run_week()  # a channel manager's run of the same week is its own record
    made = audit.weekly_run(monday_two_am)
    assert (made.period_start, made.period_end, made.triggered_by) == (*WEEK, "scheduler")
    assert audit.weekly_run(monday_two_am + timedelta(hours=3)) is None
    assert db.session.execute(sa.select(sa.func.count(AuditRun.id)).where(
        AuditRun.triggered_by == "scheduler")).scalar() == 1


def test_the_weekly_job_runs_on_monday_at_two_in_china(app, monkeypatch):
    from apscheduler.schedulers.background import BackgroundScheduler
    jobs = BackgroundScheduler(timezone=CHINA)
    scheduler.add_jobs(jobs, app)
    trigger = jobs.get_job("weekly_audit").trigger
    wednesday = datetime(2026, 11, 25, 10, 0, tzinfo=CHINA)
    assert trigger.get_next_fire_time(None, wednesday) == datetime(2026, 11, 30, 2, 0, tzinfo=CHINA)

    monkeypatch.setattr(scheduler, "now_utc", lambda: datetime(2026, 11, 23, 2, 0, tzinfo=CHINA))
    scheduler.weekly_audit_job(app)
    scheduler.weekly_audit_job(app)
    db.session.expire_all()
    runs = db.session.execute(sa.select(AuditRun)).scalars().all()
    assert [(r.period_start, r.period_end, r.triggered_by) for r in runs] == [(*WEEK, "scheduler")]


def test_audit_run_command_stores_a_run_and_prints_the_flagged(app):
    partner = factories.partner(name="推诿代理商")
    offer_history(partner, offered=100, declined=40)
    result = app.test_cli_runner().invoke(args=[
        "audit", "run", "--from", "2026-11-16", "--to", "2026-11-22", "--threshold", "0.25"])
    assert result.exit_code == 0, result.output
    run = db.session.execute(sa.select(AuditRun)).scalar_one()
    assert (run.triggered_by, run.threshold, run.min_offers) == ("cli", Decimal("0.25"), 10)
    assert "1 flagged" in result.output and "推诿代理商" in result.output and "push_back" in result.output


def test_audit_run_command_refuses_a_period_that_is_not_over(app):
    from partnernet.timeclock import today_in_china
    today = today_in_china().isoformat()
    result = app.test_cli_runner().invoke(args=["audit", "run", "--from", today, "--to", today])
    assert result.exit_code == 2
    assert "period_end" in result.output


# --- decisions ---------------------------------------------------------------------------------

def flagged_finding(party) -> AuditFinding:
    offer_history(party, offered=100, declined=40)
    found = finding_of(run_week(), party)
    assert found.flagged
    return found


def test_probation_from_a_decision_changes_the_next_routing_decision(app):
    county, _ = certified_partner("330106")
    city, _ = certified_partner("330100")
    assert open_ticket().offered_party_id == county.id
    found = flagged_finding(county)
    boss = manager()

    audit.decide(found, "probation", "四成工单被退回，观察一个季度", boss, NOW)

    assert db.session.get(Party, county.id).status == "probation"
    event = db.session.execute(sa.select(PartyEvent).where(
        PartyEvent.party_id == county.id, PartyEvent.kind == "status_changed")).scalar_one()
    assert (event.to_status, event.actor_user_id) == ("probation", boss.id)
    ticket = open_ticket()
    assert ticket.offered_party_id == city.id
    skipped = {c["party_id"]: c["reason"] for c in ticket.route["candidates"] if c["outcome"] == "skipped"}
    assert skipped[county.id] == "probation"


def test_a_partner_with_more_push_back_in_the_latest_run_ranks_behind(app):
    first, _ = certified_partner("330106")
    second, _ = certified_partner("330106")
    assert open_ticket().offered_party_id == first.id  # equal otherwise: the lower id goes first
    offer_history(first, offered=10, declined=5)
    offer_history(second, offered=10)
    run_week()
    assert open_ticket().offered_party_id == second.id


def test_only_a_channel_manager_decides_a_flagged_finding_once_with_a_note(app):
    partner = factories.partner()
    found = flagged_finding(partner)
    for user in (factories.user("hq_agent"), factories.user("partner_admin", party=partner)):
        with pytest.raises(Forbidden):
            audit.decide(found, "warning", "注意", user, NOW)
    with pytest.raises(ValidationFailed) as error:
        audit.decide(found, "fine", "  ", manager(), NOW)
    assert set(error.value.fields) == {"decision", "note"}
    decision = audit.decide(found, "warning", "书面警告", manager(), NOW)
    assert (decision.decision, found.decision.note) == ("warning", "书面警告")
    assert db.session.get(Party, partner.id).status == "active"  # a warning changes no status
    with pytest.raises(Conflict):
        audit.decide(found, "suspension", "再议", manager(), NOW)
    clean = factories.partner()
    offer_history(clean, offered=10)
    second = run_week()  # the partner flagged again, the clean one not
    with pytest.raises(Conflict):
        audit.decide(finding_of(second, clean), "dismiss", "无", manager(), NOW)
    assert [f.id for f in audit.awaiting_decision()] == [finding_of(second, partner).id]


def test_a_decision_never_lifts_a_sanction(app):
    suspended = factories.partner(status="suspended")
    on_probation = factories.partner(status="probation")
    offer_history(suspended, offered=100, declined=40)
    offer_history(on_probation, offered=100, declined=40)
    run = run_week()
    audit.decide(finding_of(run, suspended), "probation", "观察", manager(), NOW)
    audit.decide(finding_of(run, on_probation), "probation", "继续观察", manager(), NOW)
    assert db.session.get(Party, suspended.id).status == "suspended"
    assert db.session.get(Party, on_probation.id).status == "probation"
    assert db.session.execute(sa.select(sa.func.count(PartyEvent.id)).where(
        PartyEvent.kind == "status_changed")).scalar() == 0
    again = finding_of(run_week(), on_probation)
    audit.decide(again, "suspension", "屡次推诿", manager(), NOW)
    assert db.session.get(Party, on_probation.id).status == "suspended"


def test_repeated_flags_show_as_a_history_across_runs(app):
    partner = factories.partner()
    offer_history(partner, offered=100, declined=40)
    first = run_week()
    offer_history(partner, offered=50, declined=30, at=datetime(2026, 11, 11, 2, 0, tzinfo=UTC))
    older = audit.start_run(date(2026, 11, 9), date(2026, 11, 15), None, "ui", manager(), NOW)
    latest = run_week()
    history = audit.history_for_party(partner.id)
    assert [f.run_id for f in history] == [latest.id, first.id, older.id]
    assert all(f.flagged for f in history)


# --- the partner's side ------------------------------------------------------------------------

def test_partner_admin_cannot_see_another_partners_finding(app):
    ours, theirs = factories.partner(), factories.partner()
    offer_history(ours, offered=12, declined=6)
    offer_history(theirs, offered=12, declined=6)
    run = run_week()
    our_finding, their_finding = finding_of(run, ours), finding_of(run, theirs)
    admin = factories.user("partner_admin", party=ours)
    engineer_user = factories.user("engineer", engineer_=factories.engineer(ours))

    assert audit.get_finding(our_finding.id, admin).id == our_finding.id
    with pytest.raises(NotFound):
        audit.get_finding(their_finding.id, admin)
    with pytest.raises(NotFound):
        audit.get_finding(our_finding.id, engineer_user)
    assert audit.get_finding(their_finding.id, manager()).id == their_finding.id
    with pytest.raises(NotFound):
        audit.get_run(run.id, admin)
    assert [f.party_id for f in audit.findings_of_run(run, admin)] == [ours.id]
    with pytest.raises(NotFound):
        audit.list_runs(admin)
    summary = audit.list_runs(manager())[0]
    assert (summary.run.id, summary.partners, summary.flagged, summary.decided) == (run.id, 2, 2, 0)


def test_partner_admin_answers_its_finding_and_hq_reads_the_answer(app):
    partner, other = factories.partner(), factories.partner()
    found = flagged_finding(partner)
    admin = factories.user("partner_admin", party=partner)
    later = NOW + timedelta(hours=1)

    audit.respond(found, "  这些工单超出我们的认证范围，已申请培训。 ", admin, later)

    with pytest.raises(NotFound):
        audit.respond(found, "不是我们的", factories.user("partner_admin", party=other), later)
    with pytest.raises(Forbidden):
        audit.respond(found, "总部代答", manager(), later)
    with pytest.raises(ValidationFailed):
        audit.respond(found, " ", admin, later)
    seen_by_hq = audit.get_finding(found.id, manager())
    assert [(r.text, r.author_id, r.created_at) for r in seen_by_hq.responses] == [
        ("这些工单超出我们的认证范围，已申请培训。", admin.id, later)]
