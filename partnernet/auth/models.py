"""Users (each bound to one party, an engineer user also to an engineer record) and API tokens."""
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from partnernet.db_types import UTCDateTime, one_of, utcnow
from partnernet.extensions import db
from partnernet.roles import HQ_ROLES, MANAGER_ROLES, PARTNER_ROLES, ROLES  # noqa: F401 (named here too)

LOCALES = ("zh_CN", "en")


class User(UserMixin, db.Model):
    __tablename__ = "user"
    __table_args__ = (
        one_of("role", ROLES),
        sa.CheckConstraint(
            "locale IS NULL OR locale IN (%s)" % ", ".join("'%s'" % l for l in LOCALES),
            name="locale_valid",
        ),
        sa.CheckConstraint("(role = 'engineer') = (engineer_id IS NOT NULL)", name="engineer_role_has_engineer"),
        sa.CheckConstraint("email = lower(email)", name="email_lowercase"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(255), unique=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(16))
    party_id: Mapped[int] = mapped_column(sa.ForeignKey("party.id"), index=True)
    engineer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("engineer.id"), unique=True)
    locale: Mapped[str | None] = mapped_column(sa.String(8))
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped on password change: sessions carrying an older value are signed out everywhere.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    party = relationship("Party")
    engineer = relationship("Engineer")

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)  # scrypt, werkzeug's current default

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_hq(self) -> bool:
        return self.role in HQ_ROLES


class ApiToken(db.Model):
    """A bearer token for /api/v1; only its SHA-256 is stored, the token is shown once."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user = relationship("User")
