"""The certification workflow: engineers submit and renew, HQ approves or rejects; who may submit
for an engineer is decided here for the pages and the API alike."""
import os
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import contains_eager, joinedload

from partnernet.cursors import decode_cursor, encode_cursor
from partnernet.db_types import MAX_ID
from partnernet.errors import Conflict, DomainError, ValidationFailed
from partnernet.extensions import db
from partnernet.network.models import CERTIFICATION_LEVELS, Certification, Engineer, Party, ProductLine
from partnernet.network.service import can_manage_engineers
from partnernet.transitions import compare_and_set

MAX_SCAN_BYTES = 5 * 1024 * 1024
# What a scan may be, recognised by its first bytes rather than by the name the browser sent.
SCAN_TYPES = {b"%PDF-": ("application/pdf", "pdf"), b"\x89PNG\r\n\x1a\n": ("image/png", "png"),
              b"\xff\xd8\xff": ("image/jpeg", "jpg")}


@dataclass
class Scan:
    filename: str
    content: bytes


def scan_directory() -> str:
    return os.path.join(current_app.instance_path, "uploads", "certifications")


def store_scan(scan: Scan) -> tuple[str, str, str]:
    """Save an uploaded scan outside the web root; (stored name, original name, content type)."""
    if len(scan.content) > MAX_SCAN_BYTES:
        raise ValidationFailed(_("The scan is too large."), {"scan": _("At most 5 MB.")})
    for magic, (content_type, extension) in SCAN_TYPES.items():
        if scan.content.startswith(magic):
            break
    else:
        raise ValidationFailed(_("The scan must be a PDF, PNG or JPEG file."),
                               {"scan": _("Only PDF, PNG or JPEG.")})
    os.makedirs(scan_directory(), exist_ok=True)
    stored = f"{uuid.uuid4().hex}.{extension}"
    with open(os.path.join(scan_directory(), stored), "wb") as handle:
        handle.write(scan.content)
    return stored, os.path.basename(scan.filename or "")[:255] or stored, content_type


def can_submit_for(user, engineer: Engineer) -> bool:
    """An engineer submits their own certifications; whoever manages engineers submits for any
    engineer in their scope."""
    if user.role == "engineer":
        return user.engineer_id == engineer.id
    return can_manage_engineers(user)


def submit(engineer: Engineer, product_line_code: str, level: str, number: str, issued_on: date,
           expires_on: date, now: datetime, scan: Scan | None = None) -> Certification:
    """A new certification or a renewal, pending until HQ reviews it."""
    number = (number or "").strip()
    line = db.session.execute(
        sa.select(ProductLine).where(ProductLine.code == product_line_code, ProductLine.active)
    ).scalar_one_or_none()
    fields = {}
    if line is None:
        fields["product_line"] = _("Unknown product line.")
    if level not in CERTIFICATION_LEVELS:
        fields["level"] = _("Unknown level.")
    if not number:
        fields["number"] = _("The certificate number is required.")
    if issued_on and expires_on and expires_on <= issued_on:
        fields["expires_on"] = _("The expiry date must be after the issue date.")
    if line is not None and number and number_taken(line.id, number):
        fields["number"] = _("This certificate number is already registered for this product line.")
    if fields:
        raise ValidationFailed(_("The certification cannot be submitted."), fields)
    current = db.session.execute(
        sa.select(Certification)
        .where(Certification.engineer_id == engineer.id, Certification.product_line_id == line.id,
               Certification.status == "valid")
        .order_by(Certification.expires_on.desc()).limit(1)).scalar_one_or_none()
    certification = Certification(
        engineer_id=engineer.id, product_line_id=line.id, level=level, number=number,
        issued_on=issued_on, expires_on=expires_on, status="pending", submitted_at=now,
        renews_id=current.id if current else None)
    if scan is not None and scan.content:
        certification.scan_path, certification.scan_filename, certification.scan_content_type = store_scan(scan)
    db.session.add(certification)
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        # The same number submitted at the same moment by someone else: the unique index decides.
        db.session.rollback()
        raise ValidationFailed(_("The certification cannot be submitted."), {
            "number": _("This certificate number is already registered for this product line.")}) from None
    return certification


def number_taken(product_line_id: int, number: str) -> bool:
    return db.session.execute(
        sa.select(Certification.id).where(Certification.product_line_id == product_line_id,
                                          Certification.number == number,
                                          Certification.status != "rejected")).first() is not None


def review(certification: Certification, decision: str, reason: str, reviewer_id: int,
           now: datetime, today: date) -> Certification:
    """Approve or reject a pending certification; an expired one cannot be approved."""
    reason = (reason or "").strip()
    if certification.status != "pending":
        raise Conflict(_("This certification has already been reviewed."))
    if decision not in ("approve", "reject"):
        raise ValidationFailed(_("Approve or reject."), {"decision": _("Approve or reject.")})
    if decision == "approve" and certification.expires_on < today:
        raise ValidationFailed(_("An expired certificate cannot be approved."),
                               {"decision": _("The certificate expired on %(day)s.", day=certification.expires_on)})
    if decision == "reject" and not reason:
        raise ValidationFailed(_("Say why it is rejected."), {"reason": _("A reason is required.")})
    return settle(certification, "pending", _("This certification has already been reviewed."),
                  status="valid" if decision == "approve" else "rejected", reviewed_at=now,
                  reviewed_by_id=reviewer_id, review_note=reason or None)


def revoke(certification: Certification, reason: str, reviewer_id: int, now: datetime) -> Certification:
    reason = (reason or "").strip()
    if certification.status != "valid":
        raise Conflict(_("Only a valid certification can be revoked."))
    if not reason:
        raise ValidationFailed(_("Say why it is revoked."), {"reason": _("A reason is required.")})
    return settle(certification, "valid", _("Only a valid certification can be revoked."),
                  status="revoked", review_note=reason, reviewed_at=now, reviewed_by_id=reviewer_id)


def settle(certification: Certification, from_status: str, conflict: str, **values) -> Certification:
    """Compare-and-set on the status the caller's checks saw: of two reviewers deciding at once,
    one wins and the other gets a conflict, instead of the second overwriting the first."""
    compare_and_set(certification, {"status": from_status}, values, conflict)
    db.session.commit()
    db.session.refresh(certification)
    return certification


def approval_effect(certification: Certification, today: date, engineer_certified: bool,
                    party_certified: bool) -> dict:
    """What approving this certification would change, for the reviewer's queue."""
    return {
        "renewal": certification.renews_id is not None,
        "engineer_becomes_certified": not engineer_certified and certification.issued_on <= today,
        "party_gains_first_engineer": not party_certified and certification.issued_on <= today,
        "expired": certification.expires_on < today,
        "not_yet_valid": certification.issued_on > today,
    }


# --- the review queue: HQ's pending certificates, a page at a time ------------------------------------

REVIEW_PAGE_SIZE = 50


@dataclass
class ReviewFilters:
    party_id: int | None = None
    product_line_id: int | None = None
    older_than_days: int | None = None  # submitted more than this many days ago


@dataclass
class ReviewPage:
    items: list  # (certification, effect), oldest submission first
    previous_key: tuple | None  # (submitted_at, id) the previous page ends before
    next_key: tuple | None  # (submitted_at, id) the next page starts after


def pending_statement(filters: ReviewFilters, now: datetime):
    """The pending certificates the filters select, each with its engineer and partner joined."""
    statement = (sa.select(Certification)
                 .join(Engineer, Engineer.id == Certification.engineer_id)
                 .join(Party, Party.id == Engineer.party_id)
                 # A literal, not a bound value: the partial index of pending certificates is then
                 # the planner's to use (SQLite and PostgreSQL match an index's WHERE to literals).
                 .where(Certification.status == sa.literal_column("'pending'")))
    if filters.party_id is not None:
        statement = statement.where(Engineer.party_id == filters.party_id)
    if filters.product_line_id is not None:
        statement = statement.where(Certification.product_line_id == filters.product_line_id)
    if filters.older_than_days is not None:
        statement = statement.where(Certification.submitted_at < now - timedelta(days=filters.older_than_days))
    return statement


def key_of(certification: Certification) -> tuple:
    return certification.submitted_at, certification.id


def queue_cursor(key: tuple) -> str:
    """A queue position for a link or the API's next_cursor (opaque to its reader)."""
    submitted_at, id_ = key
    return encode_cursor("k", f"{submitted_at.isoformat()}~{id_}")


def queue_key(cursor: str | None) -> tuple | None:
    """The position queue_cursor wrote; a cursor it did not write is refused."""
    value = decode_cursor(cursor, "k")
    if value is None:
        return None
    at, _sep, id_ = value.rpartition("~")
    try:
        submitted_at, id_ = datetime.fromisoformat(at), int(id_)
    except ValueError:
        submitted_at = None
    if submitted_at is None or submitted_at.tzinfo is None or not 0 <= id_ <= MAX_ID:
        raise ValidationFailed("Invalid cursor.", {"cursor": "Not a cursor of this list."})
    return submitted_at, id_


def after(key: tuple):
    """SQL: later than `key` in the queue's order (submitted_at, id)."""
    submitted_at, id_ = key
    return sa.or_(Certification.submitted_at > submitted_at,
                  sa.and_(Certification.submitted_at == submitted_at, Certification.id > id_))


def before(key: tuple):
    submitted_at, id_ = key
    return sa.or_(Certification.submitted_at < submitted_at,
                  sa.and_(Certification.submitted_at == submitted_at, Certification.id < id_))


def pending_page(filters: ReviewFilters, now: datetime, today: date, after_key: tuple | None = None,
                 before_key: tuple | None = None, limit: int = REVIEW_PAGE_SIZE) -> ReviewPage:
    """A page of the queue after `after_key` (or ending before `before_key`), keyset-paged so that a
    deep page costs what the first does and a certificate approved meanwhile shifts nothing. Its
    rows and what approving each would change are read in a fixed number of queries."""
    statement = pending_statement(filters, now).options(
        contains_eager(Certification.engineer).contains_eager(Engineer.party),
        joinedload(Certification.product_line))
    ascending = (Certification.submitted_at, Certification.id)
    if before_key is not None:
        statement = statement.where(before(before_key)).order_by(*(c.desc() for c in ascending))
    else:
        if after_key is not None:
            statement = statement.where(after(after_key))
        statement = statement.order_by(*ascending)
    rows = list(db.session.execute(statement.limit(limit + 1)).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    if before_key is not None:
        rows.reverse()
        has_previous, has_next = more, True
    else:
        has_previous, has_next = after_key is not None, more
    if not rows:
        return ReviewPage([], None, None)
    if has_previous and before_key is None:  # what came before may have been approved since
        has_previous = queue_has(pending_statement(filters, now).where(before(key_of(rows[0]))))
    if has_next and before_key is not None:
        has_next = queue_has(pending_statement(filters, now).where(after(key_of(rows[-1]))))
    return ReviewPage(list(zip(rows, approval_effects(rows, today))),
                      key_of(rows[0]) if has_previous else None, key_of(rows[-1]) if has_next else None)


def pending_count(filters: ReviewFilters, now: datetime) -> int:
    statement = pending_statement(filters, now).with_only_columns(sa.func.count(Certification.id))
    return db.session.execute(statement).scalar_one()


def queue_has(statement) -> bool:
    return db.session.execute(statement.with_only_columns(Certification.id).limit(1)).first() is not None


def approval_effects(pending: list[Certification], today: date) -> list[dict]:
    """approval_effect for each certificate, the engineers and partners already certified for
    their product lines read in one query for all of them. The certificates are found through the
    partners' active engineers (ix_certification_engineer_line): joined the other way round,
    SQLite (without statistics) reads every valid certificate of the network first."""
    engineers_of_partners = (sa.select(Engineer.id)
                             .where(Engineer.party_id.in_({c.engineer.party_id for c in pending}), Engineer.active))
    certified = set(db.session.execute(
        sa.select(Engineer.id, Engineer.party_id, Certification.product_line_id).distinct()
        .join(Engineer, Engineer.id == Certification.engineer_id)
        .where(Certification.engineer_id.in_(engineers_of_partners),
               Certification.product_line_id.in_({c.product_line_id for c in pending}),
               Certification.status == "valid", Certification.issued_on <= today,
               Certification.expires_on >= today)).all())
    engineers = {(engineer_id, line_id) for engineer_id, _party_id, line_id in certified}
    parties = {(party_id, line_id) for _engineer_id, party_id, line_id in certified}
    return [approval_effect(c, today, (c.engineer_id, c.product_line_id) in engineers,
                            (c.engineer.party_id, c.product_line_id) in parties) for c in pending]


def approve_many(certification_ids: list[int], reviewer_id: int, now: datetime, today: date):
    """Approve each of these certificates as `review` would, one by one with the same
    compare-and-set: one reviewed, expired or gone meanwhile is skipped with the reason, the
    others approved. Returns (approved, [(certificate number or id, reason)])."""
    found = {c.id: c for c in db.session.execute(
        sa.select(Certification).where(Certification.id.in_(certification_ids))).scalars()}
    approved, skipped = [], []
    for certification_id in dict.fromkeys(certification_ids):
        certification = found.get(certification_id)
        if certification is None:
            skipped.append((str(certification_id), _("No such certification.")))
            continue
        number = certification.number
        try:
            approved.append(review(certification, "approve", "", reviewer_id, now, today))
        except DomainError as error:
            db.session.rollback()
            skipped.append((number, error.message))
    return approved, skipped
