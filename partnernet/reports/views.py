"""Report pages and their files: the ticket list as CSV/XLSX, each month's SLA results per partner,
a partner's settlement for a month, and the partners' monthly reports (a page, its PDF, and HQ's
ZIP of a month's PDFs). HQ reads every partner's; a partner's administrator its
own (another's is a 404). The rules are in reports.monthly, reports.settlement and
reports.ticket_export and reports.service; these views parse the request and check who asks."""
import tempfile

from flask import Blueprint, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from partnernet.errors import NotFound, ValidationFailed
from partnernet.fieldwork.views import pdf_response
from partnernet.reports import monthly, service, settlement as settlements
from partnernet.reports.partner_month import month_label
from partnernet.reports.served import parse_month
from partnernet.reports.ticket_export import ticket_export
from partnernet.scorecards.service import add_months, month_of, scored_partner
from partnernet.tickets.queries import TicketFilters
from partnernet.timeclock import now_utc, today_in_china
from partnernet.web import download

bp = Blueprint("reports", __name__, url_prefix="/reports")


@bp.before_request
def only_readers_of_reports():
    """The reports are HQ's and partners' administrators': an engineer gets 403 on each (a role
    mismatch), whatever its id; the ticket export is the ticket list's, which every role has."""
    if current_user.is_authenticated and request.endpoint != "reports.tickets":
        service.require_reader(current_user)


def chosen_month():
    """?month=YYYY-MM, else last month in China; (month, the message for a month that is not one)."""
    last_month = add_months(month_of(today_in_china(now_utc())), -1)
    text = request.args.get("month")
    month = parse_month(text)
    if text and month is None:
        return last_month, _("A month such as 2026-11.")
    return month or last_month, None


def month_for_file():
    """The month of a file: a month that is not one is a 422 with the reason, rather than a file of another month."""
    month, error = chosen_month()
    if error:
        raise ValidationFailed(_("This report cannot be made."), {"month": error})
    return month


def file_name(kind: str, month, party=None) -> str:
    return "-".join(part for part in ("partnernet", kind, party and str(party.id), month.strftime("%Y-%m")) if part)


@bp.get("/tickets.<any(csv, xlsx):format>")
@login_required
def tickets(format):  # noqa: A002 (the URL's name for it, as on every export)
    """The ticket list (/tickets/) as a file: its filters and order, the user's scope."""
    filters = TicketFilters.from_args(request.args)
    return download(format, ticket_export(current_user, filters, now_utc()), "partnernet-tickets")


def reading_party():
    """None for HQ (every partner); a partner's administrator's own party; anyone else: NotFound."""
    if current_user.is_hq:
        return None
    if current_user.role != "partner_admin":
        raise NotFound()
    return scored_partner(current_user.party_id, current_user)


@bp.get("/sla")
@login_required
def sla():
    party = reading_party()
    month, month_error = chosen_month()
    results = monthly.sla_results(party.id if party else None, month)
    return render_template("reports/sla.html", results=results, party=party, month=month, month_error=month_error)


@bp.get("/sla.<any(csv, xlsx):format>")
@login_required
def sla_file(format):  # noqa: A002
    party = reading_party()
    month = month_for_file()
    results = monthly.sla_results(party.id if party else None, month)
    return download(format, monthly.results_export(results), file_name("sla", month, party))


@bp.get("/settlement")
@login_required
def settlement_start():
    """A partner's administrator to its own settlement; HQ chooses a partner on the SLA results."""
    party = reading_party()
    if party is None:
        return redirect(url_for("reports.sla", **request.args))
    return redirect(url_for("reports.settlement", party_id=party.id, **request.args))


@bp.get("/settlement/<int:party_id>")
@login_required
def settlement(party_id):
    party = scored_partner(party_id, current_user)
    month, month_error = chosen_month()
    found = settlements.settlement(party, month)
    rows = list(settlements.settlement_rows(party.id, month)) if not found.empty else []
    return render_template("reports/settlement.html", settlement=found, rows=rows, party=party, month=month,
                           month_error=month_error)


@bp.get("/settlement/<int:party_id>.<any(csv, xlsx):format>")
@login_required
def settlement_file(party_id, format):  # noqa: A002
    party = scored_partner(party_id, current_user)
    month = month_for_file()
    return download(format, settlements.settlement_export(party, month), file_name("settlement", month, party))


# --- the monthly reports ----------------------------------------------------------------------------

@bp.get("/monthly")
@login_required
def monthly_reports():
    """HQ: the reports of a month (?month=, last month by default); a partner's administrator: its own."""
    month, month_error = chosen_month()
    reports = service.reports_list(current_user, month if current_user.is_hq else None)
    return render_template("reports/index.html", reports=reports, month=month, month_error=month_error)


@bp.get("/monthly/<int:report_id>")
@login_required
def monthly_report(report_id):
    report = service.report_for(report_id, current_user)
    return render_template("reports/report.html", report=report, **service.report_context(report.figures))


@bp.get("/monthly/<int:report_id>.pdf")
@login_required
def monthly_report_pdf(report_id):
    """The PDF as it was made and sent."""
    report = service.report_for(report_id, current_user)
    return pdf_response(service.pdf_of(report), f"monthly-report-{month_label(report.month)}-{report.party_id}.pdf")


@bp.get("/monthly.zip")
@login_required
def monthly_archive():
    """HQ's ZIP of a month's PDFs (?month=2026-11, last month by default), written to a temporary
    file that is deleted once sent."""
    month = month_for_file()
    handle = tempfile.TemporaryFile()
    try:
        service.write_archive(month, handle, current_user)
    except BaseException:
        handle.close()
        raise
    handle.seek(0)
    return send_file(handle, mimetype="application/zip", as_attachment=True, download_name=service.archive_name(month))
