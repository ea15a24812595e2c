"""A region of China: province, prefecture-level city or county-level division."""
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from partnernet.db_types import one_of
from partnernet.extensions import db

LEVELS = ("province", "city", "county")


class Region(db.Model):
    __tablename__ = "region"
    __table_args__ = (
        one_of("level", LEVELS),
        sa.CheckConstraint("length(code) = 6", name="code_six_digits"),
        sa.CheckConstraint(
            "(level = 'province') = (parent_code IS NULL)", name="only_provinces_are_roots"
        ),
    )

    code: Mapped[str] = mapped_column(sa.String(6), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64), index=True)
    pinyin: Mapped[str] = mapped_column(sa.String(128), default="", index=True)
    level: Mapped[str] = mapped_column(sa.String(16))
    parent_code: Mapped[str | None] = mapped_column(sa.ForeignKey("region.code"), index=True)

    def __repr__(self):
        return f"<Region {self.code} {self.name}>"
