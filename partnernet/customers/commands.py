"""`flask customers import|export`: customers (with their contacts, address and location notes) to
and from .csv or .xlsx files, all rows or none."""
import click
from flask import current_app
from flask.cli import AppGroup

from partnernet.customers import transfer as customers_transfer
from partnernet.errors import DomainError
from partnernet.network import transfer
from partnernet.network.commands import echo_plan, format_of
from partnernet.timeclock import now_utc

customers_cli = AppGroup("customers", help="Import and export customers.")


def init_app(app):
    app.cli.add_command(customers_cli)


@customers_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check the file and print the plan; write nothing.")
def import_command(path, dry_run):
    """Import customers from a .csv or .xlsx file (columns: name, region_code, sold_by, contact_name,
    contact_phone, contact_email, address, location_notes); a customer is found by its name."""
    file_format = format_of(path)
    with open(path, "rb") as handle:
        content = handle.read()
    try:
        plan = customers_transfer.import_customers(content, file_format, None, now_utc(), dry_run=dry_run,
                                                   limits=transfer.ImportLimits.from_config(current_app.config))
    except transfer.ImportRejected as rejected:
        plan = rejected.plan
    except DomainError as error:
        click.echo(f"error: {error.message}", err=True)
        raise SystemExit(1)
    echo_plan("customers", plan, dry_run)


@customers_cli.command("export")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
def export_command(path):
    """Export every customer to a .csv or .xlsx file."""
    with open(path, "wb") as handle:
        customers_transfer.export().write(handle, format_of(path))
    click.echo(f"customers written to {path}")
