"""The routing rules, on plain data: no app, no database, the clock passed in."""
import dataclasses
from datetime import date, datetime, timezone

from partnernet.routing import Candidate, TicketFacts, decide

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)
PRIORITY = {"branch": 1, "joint_venture": 2, "franchisee": 3, "agent": 4}
TICKET = TicketFacts(product_line="workflow", tier="L2", region_chain=("330106", "330100", "330000"))


def candidate(party_id, level="county", kind="agent", status="active", tiers=("L1", "L2"), certified=True,
              open_tickets=0, capacity=10, **extra):
    region = {"county": "330106", "city": "330100", "province": "330000"}[level]
    return Candidate(party_id=party_id, name=f"P{party_id}", kind=kind, status=status, level=level,
                     region_code=region, tiers=frozenset(tiers), certified=certified,
                     open_tickets=open_tickets, capacity=capacity, **extra)


def outcome(decision, party_id):
    return next(c for c in decision.candidates if c.party_id == party_id)


def test_county_coverage_beats_city_beats_province():
    decision = decide(TICKET, [candidate(1, "province", "branch"), candidate(2, "city", "joint_venture"),
                               candidate(3, "county", "agent")], PRIORITY, NOW)
    assert decision.offered_party_id == 3
    assert [c.party_id for c in decision.ranked()] == [3, 2, 1]


def test_within_a_level_kind_priority_then_load_decide():
    decision = decide(TICKET, [candidate(1, kind="agent"), candidate(2, kind="franchisee", open_tickets=8),
                               candidate(3, kind="franchisee", open_tickets=2)], PRIORITY, NOW)
    assert [c.party_id for c in decision.ranked()] == [3, 2, 1]


def test_kind_priority_is_configurable():
    priority = dict(PRIORITY, agent=0)
    decision = decide(TICKET, [candidate(1, kind="agent"), candidate(2, kind="branch")], priority, NOW)
    assert decision.offered_party_id == 1


def test_equal_candidates_are_ordered_by_id_deterministically():
    decision = decide(TICKET, [candidate(9), candidate(4)], PRIORITY, NOW)
    assert [c.party_id for c in decision.ranked()] == [4, 9]


def test_probation_only_when_nobody_in_good_standing_is_eligible():
    on_probation = candidate(1, "county", status="probation")
    in_good_standing = candidate(2, "province", kind="branch")
    decision = decide(TICKET, [on_probation, in_good_standing], PRIORITY, NOW)
    assert decision.offered_party_id == 2
    assert outcome(decision, 1).reason == "probation"
    alone = decide(TICKET, [on_probation, candidate(2, "province", certified=False)], PRIORITY, NOW)
    assert alone.offered_party_id == 1


def test_partner_whose_only_certificate_expired_yesterday_is_skipped():
    decision = decide(TICKET, [candidate(1, certified=False, last_certificate_expiry=date(2026, 11, 24))],
                      PRIORITY, NOW)
    skipped = outcome(decision, 1)
    assert (skipped.outcome, skipped.reason, skipped.detail) == ("skipped", "no_valid_certification", "2026-11-24")
    assert decision.cause == "no_certified_engineer"


def test_partner_at_capacity_is_skipped():
    decision = decide(TICKET, [candidate(1, open_tickets=10, capacity=10), candidate(2, "city")], PRIORITY, NOW)
    assert outcome(decision, 1).reason == "at_capacity" and decision.offered_party_id == 2


def test_partner_that_declined_is_never_offered_the_same_ticket_again():
    ticket = TicketFacts("workflow", "L2", TICKET.region_chain, declined_by=frozenset({1}))
    decision = decide(ticket, [candidate(1)], PRIORITY, NOW)
    assert decision.offered_party_id is None and outcome(decision, 1).reason == "declined_before"
    assert decision.cause == "all_declined"


def test_expired_before_and_tier_not_offered_and_inactive_are_skip_reasons():
    ticket = TicketFacts("workflow", "L3", TICKET.region_chain, expired_by=frozenset({1}))
    decision = decide(ticket, [candidate(1, tiers=("L3",)), candidate(2), candidate(3, status="suspended")],
                      PRIORITY, NOW)
    assert [outcome(decision, p).reason for p in (1, 2, 3)] == ["expired_before", "tier_not_offered", "inactive"]
    assert decision.cause == "all_expired"


def test_no_candidates_means_no_coverage():
    decision = decide(TICKET, [], PRIORITY, NOW)
    assert (decision.offered_party_id, decision.cause) == (None, "no_coverage")


def test_only_suspended_coverage_also_means_no_coverage():
    decision = decide(TICKET, [candidate(1, status="suspended")], PRIORITY, NOW)
    assert decision.cause == "no_coverage"


def test_everyone_at_capacity_is_its_own_cause():
    decision = decide(TICKET, [candidate(1, open_tickets=3, capacity=3), candidate(2, certified=False)], PRIORITY, NOW)
    assert decision.cause == "all_at_capacity"


def test_a_partner_covering_several_levels_is_considered_once_at_its_most_specific():
    decision = decide(TICKET, [candidate(1, "province"), candidate(1, "county"), candidate(2, "city")], PRIORITY, NOW)
    assert [(c.party_id, c.level) for c in decision.ranked()] == [(1, "county"), (2, "city")]


def test_a_partner_is_considered_at_its_nearest_coverage_that_offers_the_tier():
    """Two coverages of one partner: a county one for L1 only and a province one for L1–L3. An L3
    ticket goes to it by the province coverage; with no coverage for L3 it is skipped for the tier."""
    county_l1 = candidate(1, "county", tiers=("L1",))
    province_all = candidate(1, "province", tiers=("L1", "L2", "L3"))
    l3 = dataclasses.replace(TICKET, tier="L3")
    assert [(c.party_id, c.level) for c in decide(l3, [county_l1, province_all], PRIORITY, NOW).ranked()] \
        == [(1, "province")]
    assert [(c.party_id, c.level) for c in decide(l3, [province_all, county_l1], PRIORITY, NOW).ranked()] \
        == [(1, "province")]
    skipped = decide(l3, [county_l1, candidate(1, "city", tiers=("L1", "L2"))], PRIORITY, NOW)
    assert [(c.party_id, c.level, c.reason) for c in skipped.candidates] == [(1, "county", "tier_not_offered")]


def test_every_queued_decision_has_exactly_one_cause_and_every_offer_none():
    for candidates in ([], [candidate(1)], [candidate(1, certified=False)], [candidate(1, status="terminated")]):
        decision = decide(TICKET, candidates, PRIORITY, NOW)
        assert (decision.offered_party_id is None) == (decision.cause is not None)


def test_the_stored_route_is_the_whole_decision_as_plain_data():
    decision = decide(TICKET, [candidate(1), candidate(2, certified=False), candidate(3, "city", open_tickets=1)],
                      PRIORITY, NOW)
    route = decision.as_dict()
    assert route == dataclasses.asdict(decision)
    route["candidates"][0]["outcome"] = "changed"  # a copy: the decision is not touched
    assert decision.candidates[0].outcome != "changed"
