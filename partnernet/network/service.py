"""Rules over partners, coverage, engineers and certifications, including who may manage them;
views and the API call these, so a rule is written once."""
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from partnernet.roles import MANAGER_ROLES
from partnernet.db_types import utcnow
from partnernet.errors import Conflict, Forbidden, InvalidTransition, ValidationFailed
from partnernet.extensions import db
from partnernet.labels import label
from partnernet.names import read_name
from partnernet.network.models import (
    PARTNER_KINDS, TIERS, Certification, Coverage, Engineer, Party, PartyEvent, ProductLine,
    coverage_product_line)
from partnernet.regions import service as regions
from partnernet.regions.models import Region
from partnernet import signals
from partnernet.settings.cache import cached, watch
from partnernet.transitions import compare_and_set

watch(ProductLine)

# onboarding → active ⇄ probation → suspended → terminated (docs/design.md). An active partner may be
# suspended at once (an audit decision), a suspended one may be reinstated on probation, and any
# living partner may be terminated.
TRANSITIONS = {
    "onboarding": ("active", "terminated"),
    "active": ("probation", "suspended", "terminated"),
    "probation": ("active", "suspended", "terminated"),
    "suspended": ("probation", "terminated"),
    "terminated": (),
}


def product_lines() -> dict[str, tuple[int, bool]]:
    """code -> (id, active) of every product line, kept per process for a few seconds
    (partnernet.settings.cache): intake looks a line up by code, the API names it by id."""
    return cached("product_lines", lambda: {code: (line_id, active) for line_id, code, active in db.session.connection()
                                            .execute(sa.select(ProductLine.id, ProductLine.code, ProductLine.active))})


def product_line_id(code: str) -> int | None:
    """The id of the line with this code, retired or not (filters name old lines too)."""
    return product_lines().get(code, (None, False))[0]


def active_product_line_id(code: str) -> int | None:
    line_id, active = product_lines().get(code, (None, False))
    return line_id if active else None


def product_line_code(product_line_id: int) -> str:
    return next(code for code, (line_id, _active) in product_lines().items() if line_id == product_line_id)


def active_product_lines() -> list[ProductLine]:
    """The lines offered today, in their order: what a form's product line picker lists."""
    return list(db.session.execute(db.select(ProductLine).where(ProductLine.active).order_by(ProductLine.id)).scalars())


def hq_party_id() -> int:
    """HQ's party (there is exactly one)."""
    return db.session.execute(sa.select(Party.id).where(Party.kind == "hq")).scalar_one()


def can_see_partner_records(user) -> bool:
    """A partner's records (status history with HQ's reasons, audit findings): HQ and the partner's
    own admin see them, never its engineers. (Which partner a user sees at all is partnernet.scope's.)"""
    return user.is_hq or user.role == "partner_admin"


def allowed_transitions(status: str) -> tuple[str, ...]:
    return TRANSITIONS.get(status, ())


def change_status(party: Party, to_status: str, reason: str, actor_id: int | None, now: datetime) -> PartyEvent:
    """Move a partner along an allowed transition; the reason is required and recorded."""
    reason = (reason or "").strip()
    if party.is_hq:
        raise InvalidTransition(_("HQ has no lifecycle status."))
    if to_status not in allowed_transitions(party.status):
        raise InvalidTransition(
            _("A partner cannot go from %(from)s to %(to)s.", **{"from": label(party.status), "to": label(to_status)}),
            {"status": _("Not an allowed transition.")})
    if not reason:
        raise ValidationFailed(_("Say why the status changes."), {"reason": _("A reason is required.")})
    event = set_status(party, to_status, reason, actor_id, now)
    db.session.commit()
    return event


def set_status(party: Party, to_status: str, reason: str, actor_id: int | None, now: datetime) -> PartyEvent:
    """Record and apply a status change, without checks and without a commit (change_status and
    the import): a compare-and-set on the status the caller saw, so of two changes at once the
    second is a Conflict and writes nothing. It announces the change (signals.partner_status_changed):
    the tickets take back the live offers of a partner that may no longer receive them."""
    before = party.status
    compare_and_set(party, {"status": before}, {"status": to_status},
                    _("Someone else changed this partner's status meanwhile. Look at it again."))
    event = PartyEvent(party_id=party.id, at=now, actor_user_id=actor_id, kind="status_changed",
                       from_status=before, to_status=to_status, reason=reason)
    db.session.add(event)
    db.session.flush()  # what reacts (routing, for one) must see the new status
    signals.partner_status_changed.send(party, from_status=before, to_status=to_status, actor_id=actor_id, now=now)
    return event


def record_event(party_id: int, kind: str, actor_id: int | None, now: datetime, data=None, reason=None):
    db.session.add(PartyEvent(party_id=party_id, at=now, actor_user_id=actor_id, kind=kind,
                              data=data, reason=reason))


# --- certified before serving (持证上岗) -------------------------------------------------------

def valid_certification_clause(product_line_id, day: date):
    """SQL: a certification that lets its engineer serve `product_line_id` on `day`."""
    return sa.and_(Certification.product_line_id == product_line_id,
                   Certification.status == "valid",
                   Certification.issued_on <= day,
                   Certification.expires_on >= day)


def is_certified(engineer_id: int, product_line_id: int, day: date) -> bool:
    """Is this engineer certified for this product line on this day? The one answer routing uses."""
    statement = (sa.select(Certification.id)
                 .join(Engineer, Engineer.id == Certification.engineer_id)
                 .where(Certification.engineer_id == engineer_id, Engineer.active,
                        valid_certification_clause(product_line_id, day))
                 .limit(1))
    return db.session.execute(statement).first() is not None


def certified_engineers(party_id: int, product_line_id: int, day: date) -> list[Engineer]:
    statement = (sa.select(Engineer)
                 .where(Engineer.party_id == party_id, Engineer.active,
                        Engineer.id.in_(sa.select(Certification.engineer_id)
                                        .where(valid_certification_clause(product_line_id, day))))
                 .order_by(Engineer.name))
    return list(db.session.execute(statement).scalars())


def status_in(*statuses: str):
    """SQL: the certification's status is one of these. On SQLite `+certification.status`, a term
    no index on status serves: without statistics SQLite would read every certificate of the
    network with that status through an index led by status (the review queue's) rather than a
    few engineers' certificates through theirs (as tickets.queries.open_clause does for tickets)."""
    if db.session.get_bind().dialect.name == "sqlite":
        return sa.literal_column("+certification.status", sa.String).in_(statuses)
    return Certification.status.in_(statuses)


def valid_certifications(engineer_ids, day: date) -> dict[int, list[Certification]]:
    """Each engineer's certifications that let them serve on `day`, by product line code, in one
    query: who may take a ticket of which line, without a request per engineer."""
    statement = (sa.select(Certification)
                 .where(Certification.engineer_id.in_(list(engineer_ids)), status_in("valid"),
                        Certification.issued_on <= day, Certification.expires_on >= day)
                 .options(sa.orm.selectinload(Certification.product_line))
                 .order_by(Certification.engineer_id, Certification.expires_on.desc(), Certification.id))
    found: dict[int, list[Certification]] = {engineer_id: [] for engineer_id in engineer_ids}
    for certification in db.session.execute(statement).scalars():
        found[certification.engineer_id].append(certification)
    return found


def parties_with_certified_engineer(product_line_id, day: date):
    """SQL subquery: ids of parties with at least one active engineer certified for the line."""
    return (sa.select(Engineer.party_id)
            .join(Certification, Certification.engineer_id == Engineer.id)
            .where(Engineer.active, valid_certification_clause(product_line_id, day)))


def expire_lapsed_certifications(today: date) -> int:
    """Mark valid certifications whose expiry date has passed as expired; safe to run twice."""
    result = db.session.execute(
        sa.update(Certification)
        .where(Certification.status == "valid", Certification.expires_on < today)
        .values(status="expired"))
    db.session.commit()
    return result.rowcount


# --- the partner list ---------------------------------------------------------------------------

PARTNER_SORTS = {
    "name": Party.name, "kind": Party.kind, "status": Party.status,
    "province": Party.province_code, "capacity": Party.capacity, "created": Party.created_at,
}


def effective_coverage_clause(day: date):
    return sa.and_(Coverage.effective_from <= day,
                   sa.or_(Coverage.effective_to.is_(None), Coverage.effective_to >= day))


def covers_product_line_clause(product_line_id):
    return sa.or_(Coverage.all_product_lines,
                  Coverage.id.in_(sa.select(coverage_product_line.c.coverage_id)
                                  .where(coverage_product_line.c.product_line_id == product_line_id)))


def partner_list_statement(day: date, q: str = "", kind: str = "", status: str = "", province: str = "",
                           product_line_id: int | None = None, uncertified: bool = False,
                           sort: str = "name", descending: bool = False, pinyin: bool = False):
    """The partners HQ's list shows for these filters (export writes the same rows); by name, in
    pinyin order with `pinyin` (for Chinese readers), else as written."""
    statement = sa.select(Party).where(Party.kind != "hq")
    if q:
        pattern = f"%{q.strip()}%"
        statement = statement.where(sa.or_(Party.name.ilike(pattern), Party.name_en.ilike(pattern)))
    if kind:
        statement = statement.where(Party.kind == kind)
    if status:
        statement = statement.where(Party.status == status)
    if province:
        statement = statement.where(Party.province_code == province)
    if product_line_id:
        statement = statement.where(Party.id.in_(
            sa.select(Coverage.party_id).where(effective_coverage_clause(day),
                                               covers_product_line_clause(product_line_id))))
    if uncertified:
        if product_line_id:
            certified = parties_with_certified_engineer(product_line_id, day)
        else:
            certified = (sa.select(Engineer.party_id)
                         .join(Certification, Certification.engineer_id == Engineer.id)
                         .where(Engineer.active, Certification.status == "valid",
                                Certification.issued_on <= day, Certification.expires_on >= day))
        statement = statement.where(Party.id.not_in(certified))
    return statement.order_by(*(key.desc() if down else key.asc() for key, down in
                                partner_list_order(sort, descending, pinyin)))


def partner_list_order(sort: str = "name", descending: bool = False, pinyin: bool = False) -> list[tuple]:
    """The partner list's keyset order, [(key, descending)], ending in the id. A partner without
    a capacity or a province sorts before the others, on either database."""
    column = PARTNER_SORTS.get(sort, Party.name)
    keys = {Party.capacity: [sa.func.coalesce(Party.capacity, -1)],
            Party.province_code: [sa.func.coalesce(Party.province_code, "")],
            Party.name: [Party.name_sort, Party.name] if pinyin else [Party.name]}.get(column, [column])
    return [(key, descending) for key in keys + [Party.id]]


# --- creating and editing partners, coverage and engineers ---------------------------------------

PARTNER_FIELDS = ("name", "name_en", "kind", "province_code", "capacity", "tiers", "contact_name",
                  "contact_phone", "contact_email", "address", "contract_start", "contract_end")


# The names of a partner: (field, longest, required).
PARTNER_NAMES = (("name", 128, True), ("name_en", 128, False), ("contact_name", 64, False))


def check_partner(values: dict, party_id: int | None = None) -> dict:
    """`values` with the names as stored (names.read_name), or ValidationFailed with a message per field."""
    fields, values = {}, dict(values)
    for field, longest, required in PARTNER_NAMES:
        values[field], problem = read_name(values.get(field), longest, required)
        if problem:
            fields[field] = problem
    name = values["name"]
    clash = name and db.session.execute(
        sa.select(Party.id).where(Party.name == name, Party.id != (party_id or 0))).first()
    if clash:
        fields["name"] = _("Another partner already has this name.")
    province = db.session.get(Region, values.get("province_code") or "")
    if province is None or province.level != "province":
        fields["province_code"] = _("Choose a province.")
    if values.get("kind") not in PARTNER_KINDS:
        fields["kind"] = _("Unknown kind.")
    if not values.get("tiers"):
        fields["tiers"] = _("Offer at least one tier.")
    start, end = values.get("contract_start"), values.get("contract_end")
    if start and end and end < start:
        fields["contract_end"] = _("The contract must end after it starts.")
    if fields:
        raise ValidationFailed(_("The partner cannot be saved."), fields)
    return values


def create_partner(values: dict, actor_id: int | None, now: datetime) -> Party:
    """A new partner, in onboarding until HQ activates it."""
    values = check_partner(values)
    party = Party(status="onboarding")
    apply_partner_values(party, values)
    db.session.add(party)
    db.session.flush()
    record_event(party.id, "created", actor_id, now)
    db.session.commit()
    return party


def update_partner(party: Party, values: dict, actor_id: int | None, now: datetime) -> Party:
    if party.is_hq:
        raise InvalidTransition(_("HQ is edited in the settings."))
    values = check_partner(values, party.id)
    before = {f: partner_value(party, f) for f in PARTNER_FIELDS}
    apply_partner_values(party, values)
    changed = {f: [before[f], partner_value(party, f)] for f in PARTNER_FIELDS
               if before[f] != partner_value(party, f)}
    if changed:
        record_event(party.id, "updated", actor_id, now, data=changed)
    db.session.commit()
    return party


def partner_value(party: Party, field: str):
    value = getattr(party, field)
    return value.isoformat() if isinstance(value, date) else value


def partner_columns(values: dict) -> dict:
    """The party table's columns for the fields `values` has (a form's, or an import row's)."""
    columns = {}
    for field in PARTNER_FIELDS:
        if field not in values:
            continue
        value = values[field]
        if field == "tiers":
            columns.update({"tier_" + tier.lower(): tier in value for tier in TIERS})
        elif field == "name":
            columns["name"] = value.strip()
        else:
            columns[field] = value.strip() or None if isinstance(value, str) else value
    return columns


def apply_partner_values(party: Party, values: dict) -> None:
    for column, value in partner_columns(values).items():
        setattr(party, column, value)
    party.name = party.name.strip()


def add_coverage(party: Party, region_code: str, all_product_lines: bool, product_line_ids: list[int],
                 tiers: list[str], effective_from: date, effective_to: date | None,
                 actor_id: int | None, now: datetime) -> Coverage:
    fields = {}
    region = db.session.get(Region, region_code or "")
    if region is None:
        fields["region_code"] = _("Unknown region code.")
    lines = []
    if not all_product_lines:
        lines = list(db.session.execute(sa.select(ProductLine).where(ProductLine.id.in_(product_line_ids or []))).scalars())
        if not lines or len(lines) != len(set(product_line_ids)):
            fields["product_lines"] = _("Choose product lines, or all.")
    if not tiers:
        fields["tiers"] = _("Choose at least one tier.")
    elif not set(tiers) <= set(party.tiers):
        fields["tiers"] = _("The partner does not offer %(tiers)s.", tiers=", ".join(sorted(set(tiers) - set(party.tiers))))
    if effective_from is None:
        fields["effective_from"] = _("A start date is required.")
    elif effective_to is not None and effective_to < effective_from:
        fields["effective_to"] = _("Coverage must end after it starts.")
    if fields:
        raise ValidationFailed(_("The coverage cannot be added."), fields)
    coverage = Coverage(party_id=party.id, region_code=region.code, all_product_lines=all_product_lines,
                        effective_from=effective_from, effective_to=effective_to)
    coverage.tiers = tiers
    coverage.product_lines = lines
    db.session.add(coverage)
    db.session.flush()
    record_event(party.id, "coverage_added", actor_id, now, data={
        "coverage_id": coverage.id, "region_code": region.code, "tiers": tiers,
        "product_lines": None if all_product_lines else [l.code for l in lines]})
    db.session.commit()
    return coverage


def end_coverage(coverage: Coverage, actor_id: int | None, now: datetime, today: date) -> None:
    """End a coverage today (its last day); its history stays. One that never took effect is
    withdrawn. Ending one that ends today or has ended is a conflict, and records nothing."""
    if coverage.effective_to is not None and coverage.effective_to <= today:
        raise Conflict(_("This coverage has already ended."))
    data = {"coverage_id": coverage.id, "region_code": coverage.region_code}
    if coverage.effective_from > today:
        data["withdrawn"] = True
        db.session.delete(coverage)
    else:
        coverage.effective_to = today
        data["effective_to"] = today.isoformat()
    record_event(coverage.party_id, "coverage_ended", actor_id, now, data=data)
    db.session.commit()


def overlapping_coverage(coverage: Coverage, today: date) -> list[Coverage]:
    """Other partners' effective coverage of the same region, a region above it or one below it."""
    region = coverage.region
    ancestors = [r.code for r in regions.chain(region.code)]
    statement = (sa.select(Coverage)
                 .where(Coverage.party_id != coverage.party_id, effective_coverage_clause(today),
                        sa.or_(Coverage.region_code.in_(ancestors), regions.at_or_under(region, Coverage.region_code)))
                 .order_by(Coverage.region_code))
    return list(db.session.execute(statement).scalars())


def can_manage_engineers(user) -> bool:
    """HQ managers manage every partner's engineers; a partner admin only their own (the engineer
    or the party is already in the user's scope)."""
    return user.role in MANAGER_ROLES or user.role == "partner_admin"


def require_engineer_manager(user) -> None:
    if not can_manage_engineers(user):
        raise Forbidden()


def save_engineer(party: Party, values: dict, engineer: Engineer | None = None, actor_id: int | None = None) -> Engineer:
    name, problem = read_name(values.get("name"), 64)
    if problem:
        raise ValidationFailed(_("The engineer cannot be saved."), {"name": problem})
    engineer = engineer or Engineer(party_id=party.id)
    engineer.name = name
    engineer.phone = (values.get("phone") or "").strip() or None
    engineer.email = (values.get("email") or "").strip().lower() or None
    engineer.active = bool(values.get("active", True))
    db.session.add(engineer)
    login_follows(engineer, actor_id, utcnow())
    db.session.commit()
    return engineer


def login_follows(engineer: Engineer, actor_id: int | None, now: datetime) -> None:
    """Announce the engineer's active flag: their login follows it (partnernet.auth)."""
    if engineer.id is not None:
        logins_follow({engineer.id: engineer.active}, actor_id, now)


def logins_follow(active_by_engineer: dict[int, bool], actor_id: int | None, now: datetime) -> None:
    """login_follows for many engineers at once (an import)."""
    if active_by_engineer:
        signals.engineers_activated.send(None, active_by_engineer=active_by_engineer, actor_id=actor_id, now=now)


def engineers_certified_on(days, parties) -> dict[tuple[int, date], int]:
    """{(party_id, day): how many of its active engineers held a certification valid on that
    day} for the partners selected by `parties` (a statement selecting Party.id), in one query.
    A certification since lapsed counts for the days it covered; a revoked or rejected one never."""
    if not days:
        return {}
    rows = db.session.execute(
        sa.select(Engineer.party_id, Engineer.id, Certification.issued_on, Certification.expires_on)
        .join(Certification, Certification.engineer_id == Engineer.id)
        .where(Engineer.active, Engineer.party_id.in_(parties), status_in("valid", "expired"),
               Certification.issued_on <= max(days), Certification.expires_on >= min(days))).all()
    engineers: dict[tuple[int, date], set[int]] = {}
    for party_id, engineer_id, issued_on, expires_on in rows:
        for day in days:
            if issued_on <= day <= expires_on:
                engineers.setdefault((party_id, day), set()).add(engineer_id)
    return {key: len(ids) for key, ids in engineers.items()}
