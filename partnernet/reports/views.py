"""The monthly reports' pages: the list (HQ a month's, a partner its own), one report as a page and
as its PDF, and HQ's ZIP of a month's PDFs. The rules are the service's."""
import tempfile

from flask import Blueprint, render_template, request, send_file
from flask_babel import gettext as _
from flask_login import current_user, login_required

from partnernet.errors import ValidationFailed
from partnernet.fieldwork.views import pdf_response
from partnernet.reports import service
from partnernet.reports.partner_month import month_label
from partnernet.scorecards.service import add_months, month_of, parse_month
from partnernet.scorecards.views import chosen_month
from partnernet.timeclock import now_utc, today_in_china

bp = Blueprint("reports", __name__)


def last_month():
    return add_months(month_of(today_in_china(now_utc())), -1)


@bp.get("/reports")
@login_required
def index():
    month, month_error = chosen_month(last_month())
    reports = service.reports_list(current_user, month if current_user.is_hq else None)
    return render_template("reports/index.html", reports=reports, month=month, month_error=month_error)


@bp.get("/reports/<int:report_id>")
@login_required
def detail(report_id):
    report = service.report_for(report_id, current_user)
    return render_template("reports/report.html", report=report, **service.report_context(report.figures))


@bp.get("/reports/<int:report_id>/report.pdf")
@login_required
def pdf(report_id):
    report = service.report_for(report_id, current_user)
    return pdf_response(service.pdf_of(report),
                        f"monthly-report-{month_label(report.month)}-{report.party_id}.pdf")


@bp.get("/reports/archive.zip")
@login_required
def archive():
    """HQ's ZIP of a month's PDFs (?month=2026-11; last month by default), written to a temporary
    file that is deleted once sent."""
    try:
        month = parse_month(request.args.get("month")) or last_month()
    except ValidationFailed:
        raise ValidationFailed(_("A month such as 2026-11."), {"month": _("A month such as 2026-11.")}) from None
    handle = tempfile.TemporaryFile()
    try:
        service.write_archive(month, handle, current_user)
    except BaseException:
        handle.close()
        raise
    handle.seek(0)
    return send_file(handle, mimetype="application/zip", as_attachment=True,
                     download_name=service.archive_name(month))
