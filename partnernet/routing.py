"""Routing: which local party gets a ticket, and why. A pure function over plain data.

decide() takes the ticket's facts, the candidate partners found by their coverage, the settings
and the time, and returns the whole decision: who is offered the ticket, who ranks behind, who
was skipped and why, or the cause that sends the ticket to the HQ queue. No database, no Flask.
"""
from dataclasses import dataclass, field
from datetime import date, datetime

LEVEL_ORDER = {"county": 0, "city": 1, "province": 2}
GOOD_STANDING = "active"
SKIP_REASONS = ("inactive", "probation", "no_valid_certification", "tier_not_offered",
                "at_capacity", "declined_before", "expired_before")


@dataclass(frozen=True)
class TicketFacts:
    product_line: str                 # code, e.g. "workflow"
    tier: str                         # L1, L2, L3
    region_chain: tuple[str, ...]     # the ticket's region and its ancestors, most specific first
    declined_by: frozenset = frozenset()   # party ids that declined this ticket before
    expired_by: frozenset = frozenset()    # party ids that let an offer of it expire


@dataclass(frozen=True)
class Candidate:
    """A partner whose effective coverage reaches the ticket's region for its product line."""
    party_id: int
    name: str
    kind: str
    status: str
    level: str                        # the level of its most specific coverage here
    region_code: str                  # that coverage's region
    tiers: frozenset                  # tiers the coverage and the partner both offer
    certified: bool                   # has an active engineer certified for the line today
    open_tickets: int
    capacity: int
    audit_standing: float = 0.0       # lower is better: the last audit's push-back lower bound
    last_certificate_expiry: date | None = None  # for the explanation when not certified


@dataclass
class Outcome:
    party_id: int
    name: str
    kind: str
    level: str
    outcome: str                      # offered, ranked or skipped
    rank: int | None = None
    reason: str | None = None         # a SKIP_REASONS value when skipped
    detail: str | None = None         # e.g. the date the last certificate expired


@dataclass
class Decision:
    decided_at: str
    offered_party_id: int | None
    cause: str | None                 # why the HQ queue, when nobody is offered it
    candidates: list[Outcome] = field(default_factory=list)

    def as_dict(self) -> dict:
        # Flat dataclasses of plain values: shallow copies are whole copies (asdict deep-copies).
        return {**vars(self), "candidates": [dict(vars(c)) for c in self.candidates]}

    def ranked(self) -> list[Outcome]:
        return [c for c in self.candidates if c.outcome in ("offered", "ranked")]


def most_specific(candidates, tier: str) -> list[Candidate]:
    """One entry per partner: of its coverages, the nearest the ticket's region among those that
    offer the ticket's tier; only when none does, the nearest (which is then skipped for it)."""
    best = {}
    for candidate in candidates:
        current = best.get(candidate.party_id)
        if current is None or coverage_key(candidate, tier) < coverage_key(current, tier):
            best[candidate.party_id] = candidate
    return list(best.values())


def coverage_key(candidate: Candidate, tier: str) -> tuple:
    return tier not in candidate.tiers, LEVEL_ORDER[candidate.level]


def skip_reason(ticket: TicketFacts, candidate: Candidate) -> tuple[str | None, str | None]:
    if candidate.status not in ("active", "probation"):
        return "inactive", candidate.status
    if candidate.party_id in ticket.declined_by:
        return "declined_before", None
    if candidate.party_id in ticket.expired_by:
        return "expired_before", None
    if ticket.tier not in candidate.tiers:
        return "tier_not_offered", ticket.tier
    if not candidate.certified:
        expired = candidate.last_certificate_expiry
        return "no_valid_certification", expired.isoformat() if expired else None
    if candidate.open_tickets >= candidate.capacity:
        return "at_capacity", f"{candidate.open_tickets}/{candidate.capacity}"
    return None, None


def rank_key(kind_priority: dict):
    def key(candidate: Candidate):
        load = candidate.open_tickets / candidate.capacity if candidate.capacity else 1.0
        return (LEVEL_ORDER[candidate.level], kind_priority.get(candidate.kind, 99),
                candidate.audit_standing, load, candidate.party_id)
    return key


def queue_cause(skipped: list[Outcome]) -> str:
    """Why nobody could take it, from the furthest any candidate got."""
    reasons = [s.reason for s in skipped if s.reason not in ("inactive", "tier_not_offered")]
    if not reasons:
        return "no_coverage"
    declined = reasons.count("declined_before")
    expired = reasons.count("expired_before")
    if declined or expired:
        return "all_declined" if declined >= expired else "all_expired"
    if "at_capacity" in reasons:
        return "all_at_capacity"
    return "no_certified_engineer"


def decide(ticket: TicketFacts, candidates, kind_priority: dict, now: datetime) -> Decision:
    """Offer the ticket to the best eligible partner, or say why it goes to the HQ queue."""
    outcomes, eligible = [], []
    for candidate in most_specific(candidates, ticket.tier):
        reason, detail = skip_reason(ticket, candidate)
        if reason:
            outcomes.append(Outcome(candidate.party_id, candidate.name, candidate.kind, candidate.level,
                                    "skipped", reason=reason, detail=detail))
        else:
            eligible.append(candidate)
    # Probation receives tickets only when nobody in good standing can take them.
    if any(c.status == GOOD_STANDING for c in eligible):
        for candidate in [c for c in eligible if c.status != GOOD_STANDING]:
            outcomes.append(Outcome(candidate.party_id, candidate.name, candidate.kind, candidate.level,
                                    "skipped", reason="probation"))
        eligible = [c for c in eligible if c.status == GOOD_STANDING]
    eligible.sort(key=rank_key(kind_priority))
    ranked = [Outcome(c.party_id, c.name, c.kind, c.level, "offered" if i == 0 else "ranked", rank=i + 1)
              for i, c in enumerate(eligible)]
    skipped = sorted(outcomes, key=lambda o: (LEVEL_ORDER[o.level], o.party_id))
    return Decision(
        decided_at=now.isoformat(),
        offered_party_id=eligible[0].party_id if eligible else None,
        cause=None if eligible else queue_cause(skipped),
        candidates=ranked + skipped,
    )
