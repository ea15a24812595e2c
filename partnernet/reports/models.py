"""A partner's monthly report as it was made: its figures and its PDF, kept once per party and month."""
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from partnernet import scope
from partnernet.db_types import UTCDateTime, utcnow
from partnernet.extensions import db


class MonthlyReport(db.Model):
    """The figures are JSON (partnernet.reports.partner_month), rendered again for the page in the
    reader's language; the PDF is the document the partner was sent, kept as made. Its bytes live
    in the database, not in a file: a report and its PDF are written in one transaction (no file
    without a row, no row without a file), every web host reads them (several hosts share the
    database, not a disk), and the backup carries them. A PDF is some tens of kilobytes."""

    __tablename__ = "monthly_report"
    __table_args__ = (
        # One report per partner and month, even when two schedulers make it at once.
        sa.UniqueConstraint("party_id", "month"),
        sa.Index("ix_monthly_report_month", "month"),  # HQ's list and archive of a month
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(sa.ForeignKey("party.id"))
    month: Mapped[date]  # the month's first day (in China)
    made_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    figures: Mapped[dict] = mapped_column(sa.JSON)
    pdf: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)  # read only when the PDF is asked for
    pdf_size: Mapped[int] = mapped_column(default=0)

    party = relationship("Party")


@scope.rule(MonthlyReport)
def _report_in_scope(user):
    """A partner's administrators read their own partner's reports; engineers none."""
    return scope.NOTHING if user.role != "partner_admin" else MonthlyReport.party_id == user.party_id
