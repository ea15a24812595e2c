"""Audit runs and their findings (immutable), and what people later say about a finding."""
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from partnernet import scope
from partnernet.db_types import UTCDateTime, one_of, utcnow
from partnernet.extensions import db

RUN_TRIGGERS = ("ui", "cli", "api", "scheduler")
DECISIONS = ("dismiss", "warning", "probation", "suspension")


class AuditRun(db.Model):
    __tablename__ = "audit_run"
    __table_args__ = (
        one_of("triggered_by", RUN_TRIGGERS),
        sa.CheckConstraint("period_end >= period_start", name="period_ends_after_start"),
        sa.CheckConstraint("threshold >= 0 AND threshold <= 1", name="threshold_is_share"),
        sa.CheckConstraint("min_offers >= 0", name="min_offers_not_negative"),
        sa.CheckConstraint(
            "sold_not_served_threshold >= 0 AND sold_not_served_threshold <= 1",
            name="sold_not_served_threshold_is_share",
        ),
        # The weekly job runs each period once, even when it runs twice at the same moment.
        sa.Index("uq_audit_run_scheduled_period", "period_start", "period_end", unique=True,
                 sqlite_where=sa.text("triggered_by = 'scheduler'"),
                 postgresql_where=sa.text("triggered_by = 'scheduler'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period_start: Mapped[date]
    period_end: Mapped[date]
    threshold: Mapped[Decimal] = mapped_column(sa.Numeric(5, 4))
    min_offers: Mapped[int]
    sold_not_served_threshold: Mapped[Decimal] = mapped_column(sa.Numeric(5, 4))
    triggered_by: Mapped[str] = mapped_column(sa.String(16))
    # Satisfaction's threshold (a share of satisfied answers) and minimum of rated answers; None
    # on runs made before the audit measured satisfaction.
    satisfaction_threshold: Mapped[Decimal | None] = mapped_column(sa.Numeric(5, 4))
    satisfaction_min_answers: Mapped[int | None]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    findings = relationship("AuditFinding", back_populates="run", order_by="AuditFinding.party_id")


class AuditFinding(db.Model):
    """One partner's measures in one run, and whether (and why) it is flagged."""

    __tablename__ = "audit_finding"
    __table_args__ = (sa.UniqueConstraint("run_id", "party_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("audit_run.id"))
    party_id: Mapped[int] = mapped_column(sa.ForeignKey("party.id"), index=True)
    offered: Mapped[int] = mapped_column(default=0)
    accepted: Mapped[int] = mapped_column(default=0)
    declined: Mapped[int] = mapped_column(default=0)
    expired: Mapped[int] = mapped_column(default=0)
    returned: Mapped[int] = mapped_column(default=0)
    push_back: Mapped[int] = mapped_column(default=0)
    push_back_rate: Mapped[float | None]
    push_back_lower_bound: Mapped[float | None]
    sold_tickets: Mapped[int] = mapped_column(default=0)
    sold_not_served: Mapped[int] = mapped_column(default=0)
    sold_not_served_share: Mapped[float | None]
    sla_kept: Mapped[int] = mapped_column(default=0)
    sla_met: Mapped[int] = mapped_column(default=0)
    sla_attainment: Mapped[float | None]
    satisfaction_answers: Mapped[int] = mapped_column(default=0, server_default="0")
    satisfied: Mapped[int] = mapped_column(default=0, server_default="0")
    satisfaction_upper_bound: Mapped[float | None]
    flagged: Mapped[bool] = mapped_column(default=False)
    flag_reasons: Mapped[list | None] = mapped_column(sa.JSON)

    run = relationship("AuditRun", back_populates="findings")
    party = relationship("Party")
    decision = relationship("AuditDecision", uselist=False, back_populates="finding")
    responses = relationship("AuditResponse", back_populates="finding", order_by="AuditResponse.id")


class AuditDecision(db.Model):
    """A channel manager's decision on a finding; one per finding."""

    __tablename__ = "audit_decision"
    __table_args__ = (one_of("decision", DECISIONS),)

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(sa.ForeignKey("audit_finding.id"), unique=True)
    decision: Mapped[str] = mapped_column(sa.String(16))
    note: Mapped[str] = mapped_column(sa.Text)
    decided_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    finding = relationship("AuditFinding", back_populates="decision")


class AuditResponse(db.Model):
    """The partner's written answer to a finding."""

    __tablename__ = "audit_response"

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(sa.ForeignKey("audit_finding.id"), index=True)
    text: Mapped[str] = mapped_column(sa.Text)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    finding = relationship("AuditFinding", back_populates="responses")


@scope.rule(AuditFinding)
def _finding_in_scope(user):
    """A partner's administrators see their own findings (partnernet.scope); engineers none."""
    return scope.NOTHING if user.role == "engineer" else AuditFinding.party_id == user.party_id
