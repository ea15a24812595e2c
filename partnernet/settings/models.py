"""Settings HQ can change, the SLA policies contracts name, and the working-day calendar."""
from datetime import date, datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from partnernet.db_types import UTCDateTime, one_of, utcnow
from partnernet.extensions import db

SLA_POLICY_KINDS = ("business_hours", "always")
CALENDAR_SOURCES = ("package", "import", "manual")


class Setting(db.Model):
    """One setting's value as JSON; keys and defaults live in partnernet.settings.service."""

    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[object] = mapped_column(sa.JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))


class SlaPolicy(db.Model):
    """Targets per complexity, counted either on business hours or around the clock (24x7)."""

    __tablename__ = "sla_policy"
    __table_args__ = (
        one_of("kind", SLA_POLICY_KINDS),
        sa.CheckConstraint("response_minutes > 0", name="response_positive"),
        sa.CheckConstraint("resolution_simple_minutes > 0", name="resolution_simple_positive"),
        sa.CheckConstraint("resolution_complex_minutes > 0", name="resolution_complex_positive"),
        sa.CheckConstraint(
            "kind = 'always' OR (day_start IS NOT NULL AND day_end IS NOT NULL AND day_end > day_start)",
            name="business_day_has_hours",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(sa.String(64))
    name_en: Mapped[str] = mapped_column(sa.String(64))
    kind: Mapped[str] = mapped_column(sa.String(16))
    timezone: Mapped[str] = mapped_column(sa.String(64), default="Asia/Shanghai")
    day_start: Mapped[time | None] = mapped_column(default=time(9, 0))  # None for 24x7
    day_end: Mapped[time | None] = mapped_column(default=time(18, 0))
    response_minutes: Mapped[int] = mapped_column(default=30)
    resolution_simple_minutes: Mapped[int] = mapped_column(default=60)
    resolution_complex_minutes: Mapped[int] = mapped_column(default=480)


class CalendarDay(db.Model):
    """Whether a date is a working day in China (holidays and make-up working days, 调休)."""

    __tablename__ = "calendar_day"
    __table_args__ = (one_of("source", CALENDAR_SOURCES),)

    day: Mapped[date] = mapped_column(primary_key=True)
    is_working: Mapped[bool]
    note: Mapped[str | None] = mapped_column(sa.String(64))
    source: Mapped[str] = mapped_column(sa.String(16), default="package")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# What the change log records; ChangeEvent.data for each is in partnernet.settings.changes.
CHANGE_KINDS = ("user_created", "user_changed", "password_set", "token_created", "token_revoked",
                "setting_changed", "sla_policy_changed", "calendar_day_set", "calendar_imported",
                "customer_created", "customer_changed", "contract_created", "contract_changed", "service_paid")


class ChangeEvent(db.Model):
    """Append-only log of HQ's privileged changes that have no history of their own: users and
    their rights, API tokens, settings, SLA policies, the working calendar, customers, contracts
    and service fees paid (partners, coverage, tickets and audit decisions keep theirs in
    party_event, ticket_event and audit_decision)."""

    __tablename__ = "change_event"
    # (the change log of one kind, newest first, a page at a time)
    __table_args__ = (one_of("kind", CHANGE_KINDS), sa.Index("ix_change_event_kind_id", "kind", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)  # the log's order
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))  # None: the command line
    kind: Mapped[str] = mapped_column(sa.String(32))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"), index=True)  # the user concerned
    target: Mapped[str | None] = mapped_column(sa.String(255))  # a setting's key, a policy's code, a day…
    data: Mapped[dict | None] = mapped_column(sa.JSON)

    actor = relationship("User", foreign_keys=[actor_user_id])
    user = relationship("User", foreign_keys=[user_id])
