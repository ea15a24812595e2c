"""Making the monthly reports (by the scheduler on the first working day of a month, or by hand),
keeping them, telling the partner's administrators, and reading them: a partner its own, HQ any,
and HQ a month's PDFs as one ZIP archive.

Making is idempotent: a partner's report of a month is made once (unique party and month); making
it again, or two schedulers making it at once, leaves the one report there is.
"""
import logging
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, gettext as _
from sqlalchemy.exc import IntegrityError

from partnernet.auth.models import LOCALES
from partnernet.errors import Forbidden, NotFound
from partnernet.extensions import db
from partnernet.fieldwork.pdf import render_pdf
from partnernet.labels import reads_chinese
from partnernet.network.models import TIERS, Party
from partnernet.notifications.providers import Card
from partnernet.notifications.robots import post_to_party, public_link
from partnernet.notifications.service import notify_party, party_notification
from partnernet.reports.models import MonthlyReport
from partnernet.reports.partner_month import measures_of_month, month_label, partner_month
from partnernet.scope import get_or_404, scoped
from partnernet.scorecards.service import add_months, month_of
from partnernet.settings.calendar import load_calendar
from partnernet.tickets.models import TICKET_STATUSES
from partnernet.timeclock import today_in_china

log = logging.getLogger(__name__)

# The partners reported on: those that serve tickets (on probation too: its report matters most).
REPORTED_STATUSES = ("active", "probation")
# The language of the PDF a partner is sent: Chinese, the language of the partners' documents.
PDF_LOCALE = LOCALES[0]
STREAM_BATCH = 20  # PDFs read from the database at a time while an archive is written


# --- when ------------------------------------------------------------------------------------------

def first_working_day(month: date) -> date:
    """The month's first working day on China's calendar (the calendar table, 调休 included)."""
    calendar = load_calendar(month, month)
    day = month
    while not calendar.is_working(day):
        day += timedelta(days=1)
    return day


def month_due(now: datetime) -> date | None:
    """The month whose reports are due at `now`: last month, from this month's first working day
    on (a scheduler stopped that day catches up later in the month); None before it."""
    today = today_in_china(now)
    this_month = month_of(today)
    return add_months(this_month, -1) if today >= first_working_day(this_month) else None


# --- making ----------------------------------------------------------------------------------------

@dataclass
class MadeReports:
    month: date
    made: int = 0
    existing: int = 0


def make_due_reports(now: datetime) -> MadeReports | None:
    """The scheduler's work: last month's reports once this month's first working day has come."""
    month = month_due(now)
    return make_month_reports(month, now) if month is not None else None


def make_month_reports(month: date, now: datetime) -> MadeReports:
    """One report per reported partner for `month` (its first day), each committed on its own; a
    partner that has its report already is skipped."""
    result = MadeReports(month)
    done = set(db.session.execute(sa.select(MonthlyReport.party_id).where(MonthlyReport.month == month)).scalars())
    parties = db.session.execute(
        sa.select(Party).where(Party.kind != "hq", Party.status.in_(REPORTED_STATUSES), Party.id.not_in(done))
        .order_by(Party.id)).scalars().all()
    result.existing = len(done)
    if not parties:
        return result
    measures = measures_of_month(month, now)
    for party in parties:
        if make_report(party, month, now, measures.get(party.id)) is None:
            result.existing += 1
        else:
            result.made += 1
    return result


def make_report(party: Party, month: date, now: datetime, measures=None) -> MonthlyReport | None:
    """The party's report of `month`, made, kept and announced; None when it exists already."""
    if report_exists(party.id, month):
        return None
    figures = partner_month(party, month, now, measures)
    pdf = report_pdf(figures)
    report = MonthlyReport(party_id=party.id, month=month, made_at=now, figures=figures, pdf=pdf, pdf_size=len(pdf))
    db.session.add(report)
    try:
        db.session.flush()
    except IntegrityError:  # another scheduler made it meanwhile
        db.session.rollback()
        return None
    announce(report, party, now)
    db.session.commit()
    log.info("made the monthly report of %s for %s (%d bytes)", party.name, month_label(month), len(pdf))
    return report


def report_context(figures: dict) -> dict:
    """What the report's templates need besides the figures, in the language being rendered."""
    return {"figures": figures, "month": date.fromisoformat(figures["month"] + "-01"), "statuses": TICKET_STATUSES,
            "tiers": TIERS, "zh": reads_chinese()}


def report_pdf(figures: dict) -> bytes:
    """The report as the partner is sent it: a PDF in Chinese. Rendered from the template alone (no
    request, no signed-in user: the scheduler makes it), by the service report's WeasyPrint setup."""
    with force_locale(PDF_LOCALE):
        html = current_app.jinja_env.get_template("reports/report_pdf.html").render(**report_context(figures))
    return render_pdf(html)


def report_exists(party_id: int, month: date) -> bool:
    return db.session.execute(sa.select(MonthlyReport.id).where(
        MonthlyReport.party_id == party_id, MonthlyReport.month == month)).first() is not None


def announce(report: MonthlyReport, party: Party, now: datetime) -> None:
    """The partner's administrators under the bell and by e-mail (as each one's preferences say), and
    its groups by a card: once per report."""
    key = f"monthly_report:{party.id}:{month_label(report.month)}"
    link = f"/reports/monthly/{report.id}"

    def render():
        return (_("Monthly report for %(month)s is ready", month=month_label(report.month)),
                _("%(party)s: tickets, SLA results, push-back, audit findings, expiring certificates and "
                  "customers' ratings of %(month)s.", party=party.name, month=month_label(report.month)))

    notify_party(party_notification(party.id, "partner_admin", "monthly_report", key, render, link, now))

    def card():
        title, line = render()
        return Card(title, (line,), public_link(link), _("Open the report"))

    post_to_party(party.id, "monthly_report", key, card, now)


# --- reading ---------------------------------------------------------------------------------------

def require_reader(user) -> None:
    """HQ and partners' administrators read monthly reports; engineers do not."""
    if not user.is_hq and user.role != "partner_admin":
        raise Forbidden()


def report_for(report_id: int, user) -> MonthlyReport:
    """One report the user may read: HQ any, a partner's administrator its own; else NotFound."""
    if not user.is_hq and user.role != "partner_admin":
        raise NotFound()
    return get_or_404(MonthlyReport, report_id, user)


def pdf_of(report: MonthlyReport) -> bytes:
    return db.session.execute(sa.select(MonthlyReport.pdf).where(MonthlyReport.id == report.id)).scalar_one()


def reports_list(user, month: date | None) -> list[MonthlyReport]:
    """The reports the user may read, newest month first, by partner name within a month; HQ's
    limited to `month` when one is given."""
    require_reader(user)
    statement = scoped(sa.select(MonthlyReport).join(Party, Party.id == MonthlyReport.party_id),
                       MonthlyReport, user)
    if month is not None:
        statement = statement.where(MonthlyReport.month == month)
    return list(db.session.execute(
        statement.order_by(MonthlyReport.month.desc(), Party.name_sort, Party.name, MonthlyReport.id)).scalars())


def archive_name(month: date) -> str:
    return f"monthly-reports-{month_label(month)}.zip"


def write_archive(month: date, handle, user) -> int:
    """Every partner's PDF of `month` into `handle` (a file) as a ZIP archive, the PDFs read from a
    server-side cursor a few at a time (never the month's all at once). HQ only. How many."""
    if not user.is_hq:
        raise Forbidden()
    statement = (sa.select(MonthlyReport.party_id, Party.name, MonthlyReport.pdf)
                 .join(Party, Party.id == MonthlyReport.party_id)
                 .where(MonthlyReport.month == month).order_by(MonthlyReport.party_id)
                 .execution_options(yield_per=STREAM_BATCH))
    count = 0
    # Stored, not deflated: a PDF is compressed already.
    with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED) as archive:
        for party_id, name, pdf in db.session.execute(statement):
            archive.writestr(f"{month_label(month)}-{party_id}-{file_safe(name)}.pdf", pdf)
            count += 1
    return count


def file_safe(name: str) -> str:
    """A partner's name as part of a file name in the archive (Chinese kept; no path separators)."""
    return "".join("_" if ch in '/\\:*?"<>|' or ord(ch) < 32 else ch for ch in name).strip() or "partner"
