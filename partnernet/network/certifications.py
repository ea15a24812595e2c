"""The certification workflow: engineers submit and renew, HQ approves or rejects; who may submit
for an engineer is decided here for the pages and the API alike."""
import os
import uuid
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from partnernet.errors import Conflict, ValidationFailed
from partnernet.extensions import db
from partnernet.network.models import CERTIFICATION_LEVELS, Certification, Engineer, ProductLine
from partnernet.network.service import can_manage_engineers, certified_engineers, is_certified
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


def approval_effect(certification: Certification, today: date) -> dict:
    """What approving this certification would change, for the reviewer's queue."""
    engineer = certification.engineer
    line_id = certification.product_line_id
    engineer_certified = is_certified(engineer.id, line_id, today)
    party_certified = bool(certified_engineers(engineer.party_id, line_id, today))
    return {
        "renewal": certification.renews_id is not None,
        "engineer_becomes_certified": not engineer_certified and certification.issued_on <= today,
        "party_gains_first_engineer": not party_certified and certification.issued_on <= today,
        "expired": certification.expires_on < today,
        "not_yet_valid": certification.issued_on > today,
    }
