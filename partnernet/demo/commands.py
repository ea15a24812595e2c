"""`flask seed-demo`: load the demo network into a database (what `make run` does first)."""
import click
from flask.cli import with_appcontext

from partnernet.demo import DEMO_PASSWORD, demo_logins, has_partners, seed_demo


def init_app(app):
    app.cli.add_command(seed_demo_command)


@click.command("seed-demo")
@with_appcontext
@click.option("--if-empty", is_flag=True, help="Do nothing when partners already exist.")
def seed_demo_command(if_empty):
    """Build the demo network (idempotent, deterministic) and print the demo logins."""
    if if_empty and has_partners():
        click.echo("The database already holds a network; demo data not loaded.")
    else:
        counts = seed_demo()
        click.echo("Demo network ready: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for email, role, party in demo_logins():
        click.echo(f"  {role:<14} {email:<32} {party}")
