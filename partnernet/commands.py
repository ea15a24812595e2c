"""The commands about the whole database and the process rather than one feature: the invariants
check, backup and restore, the database check, the scheduler, the one-machine server."""
import logging

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext
from werkzeug.serving import run_simple

from partnernet.backup import BackupError, backup, restore
from partnernet.extensions import db
from partnernet.invariants import check
from partnernet.scheduler import run_forever, start_in_process
from partnernet.timeclock import now_utc


def init_app(app):
    for command in (scheduler_command, serve_command, check_command, backup_command, restore_command,
                    check_db_command):
        app.cli.add_command(command)


@click.command("scheduler")
@with_appcontext
def scheduler_command():
    """Run the scheduled jobs in this process until stopped."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    click.echo("scheduler running; Ctrl+C to stop", err=True)
    run_forever(current_app._get_current_object())


@click.command("serve")
@with_appcontext
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
def serve_command(host, port):
    """Development server with the scheduler inside the same process (one machine setups)."""
    app_object = current_app._get_current_object()
    start_in_process(app_object)
    click.echo(f"partnernet on http://{host}:{port}/ (scheduler running; Ctrl+C to stop)")
    run_simple(host, port, app_object, threaded=True, use_reloader=False)


@click.command("check")
@with_appcontext
def check_command():
    """Verify the invariants: one holder per open ticket, certified engineers, events that match
    ticket states, no stale offers. Exits 1 when any is broken."""
    report = check(now_utc())
    for line in report.lines():
        click.echo(f"BROKEN {line}", err=True)
    if not report.ok:
        raise SystemExit(1)
    click.echo("all invariants hold")


@click.command("backup")
@with_appcontext
@click.argument("file", type=click.Path(dir_okay=False))
def backup_command(file):
    """Write a consistent backup of the live database to FILE (SQLite backup API, or pg_dump)."""
    try:
        backup(db.engine.url, file)
    except BackupError as error:
        click.echo(f"error: {error}", err=True)
        raise SystemExit(1)
    click.echo(f"backup written to {file}")


@click.command("restore")
@with_appcontext
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore_command(file, yes):
    """Replace the database's contents with the backup in FILE. Stop the app and scheduler first."""
    if not yes and not click.confirm(f"Replace everything in {db.engine.url.render_as_string()} with {file}?"):
        raise SystemExit(1)
    db.session.remove()
    db.engine.dispose()
    try:
        restore(db.engine.url, file)
    except BackupError as error:
        click.echo(f"error: {error}", err=True)
        raise SystemExit(1)
    click.echo(f"restored from {file}")


@click.command("check-db")
@with_appcontext
def check_db_command():
    """Print the database URL in use and whether it answers (a start-up sanity check)."""
    db.session.execute(sa.text("SELECT 1"))
    click.echo(f"database ok: {db.engine.url.render_as_string(hide_password=True)}")
