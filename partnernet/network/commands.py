"""`flask import` and `flask export`: partners, coverage, engineers and certifications to and from
.csv or .xlsx files, through the same plan-then-write import as the upload page."""
import os

import click
from flask import current_app
from flask.cli import with_appcontext

from partnernet.errors import DomainError
from partnernet.network import transfer
from partnernet.network.service import partner_list_statement
from partnernet.timeclock import now_utc, today_in_china


def init_app(app):
    app.cli.add_command(import_command)
    app.cli.add_command(export_command)


@click.command("import")
@with_appcontext
@click.argument("kind", type=click.Choice(transfer.KINDS))
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check the file and print the plan; write nothing.")
def import_command(kind, path, dry_run):
    """Import partners, coverage, engineers or certifications from a .csv or .xlsx file, all rows or none."""
    file_format = format_of(path)
    with open(path, "rb") as handle:
        content = handle.read()
    try:
        plan = transfer.run_import(kind, content, file_format, None, now_utc(), dry_run=dry_run,
                                   limits=transfer.ImportLimits.from_config(current_app.config),
                                   filename=os.path.basename(path))
    except transfer.ImportRejected as rejected:
        plan = rejected.plan
    except DomainError as error:
        click.echo(f"error: {error.message}", err=True)
        raise SystemExit(1)
    echo_plan(kind, plan, dry_run)


def format_of(path: str) -> str:
    """The file's format from its name: .csv or .xlsx, else a usage error."""
    file_format = transfer.file_format_of(path)
    if file_format is None:
        raise click.BadParameter("the file must end in .csv or .xlsx", param_hint="FILE")
    return file_format


def echo_plan(kind: str, plan, dry_run: bool) -> None:
    """What an import planned (or did), its errors by row and cell; exit 1 when nothing was written."""
    counts = plan.counts
    click.echo(f"{kind}: {counts['rows']} rows — {counts['create']} to create, {counts['update']} to update, "
               f"{counts['unchanged']} unchanged, {counts['errors']} errors")
    for error in plan.errors:
        click.echo(f"row {error.row}, {error.column}: {error.message}", err=True)
    if plan.errors:
        click.echo("nothing written", err=True)
        raise SystemExit(1)
    click.echo("dry run: nothing written" if dry_run else "written")


@click.command("export")
@with_appcontext
@click.argument("kind", type=click.Choice(transfer.KINDS))
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
def export_command(kind, path):
    """Export every partner (or their coverage, engineers, certifications) to a .csv or .xlsx file."""
    file_format = format_of(path)
    with open(path, "wb") as handle:
        transfer.export_of(kind, partner_list_statement(today_in_china())).write(handle, file_format)
    click.echo(f"{kind} written to {path}")
