"""Parties, their coverage, engineers and certifications, as docs/design.md describes them."""
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from partnernet import scope
from partnernet.collation import SORT_KEY_LENGTH, name_sort_default, pinyin_key
from partnernet.db_types import UTCDateTime, one_of, utcnow
from partnernet.extensions import db

PARTNER_KINDS = ("branch", "joint_venture", "franchisee", "agent")
PARTY_KINDS = ("hq",) + PARTNER_KINDS
PARTY_STATUSES = ("onboarding", "active", "probation", "suspended", "terminated")
ROUTABLE_STATUSES = ("active", "probation")  # the statuses that receive tickets (docs/design.md)
TIERS = ("L1", "L2", "L3")
CERTIFICATION_LEVELS = ("associate", "professional", "expert")
CERTIFICATION_STATUSES = ("pending", "valid", "rejected", "expired", "revoked")
PARTY_EVENT_KINDS = ("created", "updated", "status_changed", "coverage_added", "coverage_ended")


class ProductLine(db.Model):
    __tablename__ = "product_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(sa.String(64))
    name_en: Mapped[str] = mapped_column(sa.String(64))
    active: Mapped[bool] = mapped_column(default=True)

    def __repr__(self):
        return f"<ProductLine {self.code}>"


class TierColumns:
    """Three booleans for the tiers L1 (phone/e-mail/IM), L2 (remote), L3 (on-site)."""

    tier_l1: Mapped[bool] = mapped_column(default=True)
    tier_l2: Mapped[bool] = mapped_column(default=True)
    tier_l3: Mapped[bool] = mapped_column(default=False)

    @property
    def tiers(self) -> list[str]:
        return [t for t in TIERS if getattr(self, "tier_" + t.lower())]

    @tiers.setter
    def tiers(self, values):
        for tier in TIERS:
            setattr(self, "tier_" + tier.lower(), tier in values)

    def offers(self, tier: str) -> bool:
        return bool(getattr(self, "tier_" + tier.lower()))


class Party(TierColumns, db.Model):
    """Anyone who can own a ticket: the one built-in HQ, or a partner of one of four kinds."""

    __tablename__ = "party"
    __table_args__ = (
        one_of("kind", PARTY_KINDS),
        one_of("status", PARTY_STATUSES),
        sa.CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity_not_negative"),
        sa.CheckConstraint(
            "contract_end IS NULL OR contract_start IS NULL OR contract_end >= contract_start",
            name="contract_ends_after_start",
        ),
        sa.CheckConstraint("tier_l1 OR tier_l2 OR tier_l3", name="offers_a_tier"),
        # Exactly one HQ: the partial unique index makes a second one impossible.
        sa.Index(
            "uq_party_single_hq", "kind", unique=True,
            sqlite_where=sa.text("kind = 'hq'"), postgresql_where=sa.text("kind = 'hq'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16), index=True)
    name: Mapped[str] = mapped_column(sa.String(128), unique=True)
    # The name's pinyin key (partnernet.collation): Chinese readers' lists sort by it.
    name_sort: Mapped[str] = mapped_column(sa.String(SORT_KEY_LENGTH), default=name_sort_default,
                                           server_default="", index=True)
    name_en: Mapped[str | None] = mapped_column(sa.String(128))
    status: Mapped[str] = mapped_column(sa.String(16), default="onboarding", index=True)
    capacity: Mapped[int | None] = mapped_column(default=20)
    # Its push-back lower bound in the latest audit run (written by the audit); routing prefers
    # the lower among partners of one level. None: not audited (routing reads 0).
    audit_standing: Mapped[float | None]
    province_code: Mapped[str | None] = mapped_column(sa.ForeignKey("region.code"), index=True)
    address: Mapped[str | None] = mapped_column(sa.String(255))
    contact_name: Mapped[str | None] = mapped_column(sa.String(64))
    contact_phone: Mapped[str | None] = mapped_column(sa.String(32))
    contact_email: Mapped[str | None] = mapped_column(sa.String(255))
    contract_start: Mapped[date | None]
    contract_end: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    province = relationship("Region")
    coverages = relationship("Coverage", back_populates="party", order_by="Coverage.id")
    engineers = relationship("Engineer", back_populates="party", order_by="Engineer.id")

    @validates("name")
    def _keep_name_sort(self, _key, name):
        self.name_sort = pinyin_key(name)
        return name

    @property
    def is_hq(self) -> bool:
        return self.kind == "hq"

    def __repr__(self):
        return f"<Party {self.id} {self.kind} {self.name}>"


class PartyEvent(db.Model):
    """Append-only history of a party: creation, edits, status changes, coverage changes."""

    __tablename__ = "party_event"
    __table_args__ = (one_of("kind", PARTY_EVENT_KINDS),)

    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(sa.ForeignKey("party.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    kind: Mapped[str] = mapped_column(sa.String(32))
    from_status: Mapped[str | None] = mapped_column(sa.String(16))
    to_status: Mapped[str | None] = mapped_column(sa.String(16))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    data: Mapped[dict | None] = mapped_column(sa.JSON)

    actor = relationship("User")


coverage_product_line = sa.Table(
    "coverage_product_line",
    db.metadata,
    sa.Column("coverage_id", sa.ForeignKey("coverage.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("product_line_id", sa.ForeignKey("product_line.id"), primary_key=True),
)


class Coverage(TierColumns, db.Model):
    """A partner serves a region (and everything below it) for some product lines and tiers."""

    __tablename__ = "coverage"
    __table_args__ = (
        sa.CheckConstraint(
            "effective_to IS NULL OR effective_to >= effective_from", name="ends_after_start"
        ),
        sa.CheckConstraint("tier_l1 OR tier_l2 OR tier_l3", name="covers_a_tier"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(sa.ForeignKey("party.id"), index=True)
    region_code: Mapped[str] = mapped_column(sa.ForeignKey("region.code"), index=True)
    all_product_lines: Mapped[bool] = mapped_column(default=True)
    effective_from: Mapped[date]
    effective_to: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    party = relationship("Party", back_populates="coverages")
    region = relationship("Region")
    product_lines = relationship("ProductLine", secondary=coverage_product_line, order_by="ProductLine.id")

    def is_effective(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)


class Engineer(db.Model):
    __tablename__ = "engineer"

    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(sa.ForeignKey("party.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    email: Mapped[str | None] = mapped_column(sa.String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    party = relationship("Party", back_populates="engineers")
    certifications = relationship("Certification", back_populates="engineer", order_by="Certification.id")


class Certification(db.Model):
    """An engineer's certificate for one product line; HQ reviews it before it counts."""

    __tablename__ = "certification"
    __table_args__ = (
        one_of("level", CERTIFICATION_LEVELS),
        one_of("status", CERTIFICATION_STATUSES),
        sa.CheckConstraint("expires_on > issued_on", name="expires_after_issue"),
        # A certificate number is unique per product line; a rejected submission frees it again.
        sa.Index(
            "uq_certification_number_per_line", "product_line_id", "number", unique=True,
            sqlite_where=sa.text("status <> 'rejected'"), postgresql_where=sa.text("status <> 'rejected'"),
        ),
        # Engineer first: "has one of these partners' engineers a valid certificate for the line?"
        # must start from the engineers, not read every certificate of the line (migration 0005).
        sa.Index("ix_certification_engineer_line", "engineer_id", "product_line_id", "status", "expires_on"),
        # HQ's review queue, oldest submission first, paged by (submitted_at, id). Pending ones only:
        # an index led by status would be SQLite's choice (it has no statistics) for routing's
        # "a valid certificate of this partner's engineers", reading every valid certificate.
        sa.Index("ix_certification_pending_submitted", "submitted_at", "id",
                 sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'")),
        # HQ's certification list, by expiry, a page at a time: all of them, of a status (walking the same
        # index: no index led by status, for the reason above), expiring soon.
        sa.Index("ix_certification_expires_id", "expires_on", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    engineer_id: Mapped[int] = mapped_column(sa.ForeignKey("engineer.id"), index=True)
    product_line_id: Mapped[int] = mapped_column(sa.ForeignKey("product_line.id"))
    level: Mapped[str] = mapped_column(sa.String(16))
    number: Mapped[str] = mapped_column(sa.String(64))
    issued_on: Mapped[date]
    expires_on: Mapped[date]
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    review_note: Mapped[str | None] = mapped_column(sa.Text)
    # A renewal points at the certificate it renews, which stays valid until the renewal is approved.
    renews_id: Mapped[int | None] = mapped_column(sa.ForeignKey("certification.id"))
    # The optional scanned certificate, stored under instance/uploads (outside the web root).
    scan_path: Mapped[str | None] = mapped_column(sa.String(255))
    scan_filename: Mapped[str | None] = mapped_column(sa.String(255))
    scan_content_type: Mapped[str | None] = mapped_column(sa.String(64))

    engineer = relationship("Engineer", back_populates="certifications")
    product_line = relationship("ProductLine")

    def is_valid_on(self, day: date) -> bool:
        # A certificate reads "valid until <expires_on>" (有效期至): the expiry day still counts.
        return self.status == "valid" and self.issued_on <= day <= self.expires_on


# --- who sees what (partnernet.scope; HQ sees everything) ------------------------------------------

@scope.rule(Party)
def _party_in_scope(user):
    return Party.id == user.party_id


@scope.rule(Coverage)
def _coverage_in_scope(user):
    return scope.NOTHING if user.role == "engineer" else Coverage.party_id == user.party_id


@scope.rule(Engineer)
def _engineer_in_scope(user):
    if user.role == "engineer":
        return Engineer.id == user.engineer_id  # their own record, not their colleagues'
    return Engineer.party_id == user.party_id


@scope.rule(Certification)
def _certification_in_scope(user):
    if user.role == "engineer":
        return Certification.engineer_id == user.engineer_id
    return Certification.engineer_id.in_(sa.select(Engineer.id).where(Engineer.party_id == user.party_id))


IMPORT_KINDS = ("partners", "coverage", "engineers", "certifications")
IMPORTED_ROW_ACTIONS = ("create", "update")


class ImportRecord(db.Model):
    """A confirmed import (upload page or command line): who, when, which file, how many rows."""

    __tablename__ = "import_record"
    __table_args__ = (one_of("kind", IMPORT_KINDS), sa.Index("ix_import_record_at_id", "at", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    kind: Mapped[str] = mapped_column(sa.String(16))
    filename: Mapped[str | None] = mapped_column(sa.String(255))
    sha256: Mapped[str | None] = mapped_column(sa.String(64))  # of the file as uploaded
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)

    actor = relationship("User")


class ImportedRow(db.Model):
    """A row an import created or updated: its spreadsheet row, what it is about, and `data`:
    {"cells": the new row's values} or {"changes": {column: [before, after]}}."""

    __tablename__ = "imported_row"
    __table_args__ = (one_of("action", IMPORTED_ROW_ACTIONS), sa.Index("ix_imported_row_import_id_row", "import_id", "row"))

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(sa.ForeignKey("import_record.id"))
    row: Mapped[int]
    action: Mapped[str] = mapped_column(sa.String(16))
    subject: Mapped[str] = mapped_column(sa.String(255))
    data: Mapped[dict] = mapped_column(sa.JSON)
