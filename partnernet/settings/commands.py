"""`flask calendar …`: the working-day calendar from the command line: a due time on the SLA clock,
a year imported from CSV, one day marked working or off."""
from datetime import datetime

import click

from partnernet import sla
from partnernet.errors import NotFound
from partnernet.settings.calendar import calendar_for_due, import_year_csv, load_policy, policy_of, set_day
from partnernet.timeclock import CHINA

calendar_commands = click.Group("calendar", help="The working-day calendar and the SLA clocks.")


def init_app(app):
    app.cli.add_command(calendar_commands)


@calendar_commands.command("due")
@click.argument("start")
@click.argument("minutes", type=click.IntRange(min=0))
@click.option("--policy", "policy_code", default="business-hours", show_default=True,
              help="SLA policy code (business-hours, 24x7).")
def calendar_due_command(start, minutes, policy_code):
    """Print the instant MINUTES business minutes after START (ISO 8601; naive means Asia/Shanghai)."""
    try:
        instant = datetime.fromisoformat(start)
    except ValueError:
        raise click.BadParameter("write it as 2025-09-26T17:00 or 2025-09-26T09:00:00+00:00",
                                 param_hint="START") from None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=CHINA)
    try:
        policy = policy_of(load_policy(policy_code))
    except NotFound as error:
        raise click.BadParameter(error.message, param_hint="--policy") from None
    calendar = calendar_for_due(instant, minutes, policy)
    try:
        due = sla.add_business_minutes(instant, minutes, policy, calendar.is_working)
    except ValueError as error:
        click.echo(f"error: {error}", err=True)
        raise SystemExit(1)
    if policy.kind == "business_hours":
        for year in calendar.missing_years(range(instant.astimezone(CHINA).year, due.astimezone(CHINA).year + 1)):
            click.echo(f"warning: no calendar for {year}; counted Monday to Friday", err=True)
    click.echo(due.astimezone(CHINA).isoformat())


@calendar_commands.command("import")
@click.argument("path", metavar="FILE", type=click.Path(exists=True, dir_okay=False))
def calendar_import_command(path):
    """Replace a year with the CSV FILE (date,is_working[,note]) of the days that differ from Monday to Friday."""
    with open(path, "rb") as handle:
        result = import_year_csv(handle.read())
    for error in result.errors:
        click.echo(f"line {error.row}: {error.message}", err=True)
    if not result.ok:
        click.echo("nothing written", err=True)
        raise SystemExit(1)
    click.echo(f"{result.year}: {result.days_written} days written — {result.days_off_on_weekdays} weekdays off, "
               f"{result.working_weekend_days} weekend days working")


@calendar_commands.command("set")
@click.argument("day", metavar="DATE", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.argument("state", type=click.Choice(["working", "off"]))
@click.option("--note", default=None, help="Why, e.g. 国庆节 or 调休.")
def calendar_set_command(day, state, note):
    """Mark DATE (2027-10-01) as a working day or a day off."""
    row = set_day(day.date(), state == "working", note, None)
    click.echo(f"{row.day.isoformat()}: {state}" + (f" ({row.note})" if row.note else ""))
