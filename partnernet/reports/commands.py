"""`flask reports make --month 2026-11`: make a month's monthly reports by hand, as the scheduler
does on the first working day of the next month (a partner's report already made is left as it is)."""
import click

from partnernet.errors import ValidationFailed
from partnernet.reports.partner_month import month_label
from partnernet.reports.service import make_month_reports
from partnernet.scorecards.service import month_of, parse_month
from partnernet.timeclock import now_utc, today_in_china

reports = click.Group("reports", help="Partners' monthly reports.")


def init_app(app):
    app.cli.add_command(reports)


@reports.command("make")
@click.option("--month", "month_text", required=True, help="The month, such as 2026-11 (a past month).")
def make_command(month_text):
    """Make every active partner's report of the month that is not made yet, and notify their administrators."""
    now = now_utc()
    try:
        month = parse_month(month_text)
    except ValidationFailed:
        month = None
    if month is None or month >= month_of(today_in_china(now)):
        click.echo(f"error: --month: a past month such as 2026-11, not {month_text!r}", err=True)
        raise SystemExit(2)
    result = make_month_reports(month, now)
    click.echo(f"monthly reports of {month_label(month)}: {result.made} made, {result.existing} made before")
