"""The `flask --app wsgi …` commands: users, demo data, regions, scheduler."""
import sys

import click
import sqlalchemy as sa
from flask import current_app

from partnernet.auth.models import ROLES
from partnernet.errors import ValidationFailed
from partnernet.extensions import db


def read_password(email: str) -> str:
    """Prompt twice on a terminal; read one line when the password is piped in."""
    if sys.stdin.isatty():
        return click.prompt(f"Password for {email}", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


def register_commands(app):
    users = click.Group("users", help="Manage user accounts.")

    @users.command("create")
    @click.argument("email")
    @click.option("--role", type=click.Choice(ROLES), required=True)
    @click.option("--partner", "partner_id", type=int, help="Partner (party id) for partner roles.")
    @click.option("--engineer", "engineer_id", type=int, help="Engineer record for the engineer role.")
    @click.option("--name", default=None, help="Display name (default: the part before @).")
    def create_user_command(email, role, partner_id, engineer_id, name):
        """Create a user; the password is prompted for, or read from standard input when piped."""
        from partnernet.auth.service import create_user
        password = read_password(email)
        try:
            user = create_user(email, name, role, password, party_id=partner_id, engineer_id=engineer_id)
        except ValidationFailed as error:
            for field, message in error.fields.items():
                click.echo(f"error: {field}: {message}", err=True)
            raise SystemExit(2)
        click.echo(f"created user {user.id} {user.email} ({user.role}, party {user.party_id})")

    app.cli.add_command(users)

    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Do nothing when partners already exist.")
    def seed_demo_command(if_empty):
        """Build the demo network (idempotent, deterministic) and print the demo logins."""
        from partnernet.demo import DEMO_PASSWORD, demo_logins, has_partners, seed_demo
        if if_empty and has_partners():
            click.echo("The database already holds a network; demo data not loaded.")
        else:
            counts = seed_demo()
            click.echo("Demo network ready: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
        click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for email, role, party in demo_logins():
            click.echo(f"  {role:<14} {email:<32} {party}")

    regions = click.Group("regions", help="China's administrative divisions.")

    @regions.command("load")
    def load_regions_command():
        """Load or refresh the regions from the shipped GB/T 2260 data file (idempotent)."""
        from partnernet.regions.service import load_regions
        with db.engine.begin() as connection:
            counts = load_regions(connection)
        click.echo("regions: {inserted} inserted, {updated} updated, {total} in the data file".format(**counts))

    app.cli.add_command(regions)

    @app.cli.command("scheduler")
    def scheduler_command():
        """Run the scheduled jobs in this process until stopped."""
        from partnernet.scheduler import run_forever
        click.echo("scheduler running; Ctrl+C to stop")
        run_forever(current_app._get_current_object())

    @app.cli.command("serve")
    @click.option("--host", default="127.0.0.1")
    @click.option("--port", default=5000, type=int)
    def serve_command(host, port):
        """Development server with the scheduler inside the same process (one machine setups)."""
        from partnernet.scheduler import start_in_process
        app_object = current_app._get_current_object()
        start_in_process(app_object)
        app_object.run(host=host, port=port, threaded=True, use_reloader=False)

    @app.cli.command("check-db")
    def check_db_command():
        """Print the database URL in use and whether it answers (a start-up sanity check)."""
        db.session.execute(sa.text("SELECT 1"))
        click.echo(f"database ok: {db.engine.url.render_as_string(hide_password=True)}")
