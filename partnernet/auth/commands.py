"""`flask users …`: create users and, without the web pages, reset a password or (de)activate a
user, the way back in for an hq_admin who cannot sign in. `flask tokens …`: issue, list and revoke
API tokens."""
import sys

import click

from partnernet.auth.models import ROLES, ApiToken
from partnernet.auth.service import create_user, find_user, reset_password, update_user
from partnernet.auth.tokens import issue_token, revoke_token, tokens_of
from partnernet.errors import ValidationFailed
from partnernet.extensions import db
from partnernet.timeclock import now_utc

users = click.Group("users", help="Manage user accounts.")
tokens = click.Group("tokens", help="API tokens (Authorization: Bearer <token>).")


def init_app(app):
    app.cli.add_command(users)
    app.cli.add_command(tokens)


def read_password(email: str) -> str:
    """Prompt twice on a terminal; read one line when the password is piped in."""
    if sys.stdin.isatty():
        return click.prompt(f"Password for {email}", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


def user_or_exit(email):
    user = find_user(email)
    if user is None:
        click.echo(f"error: no user {email}", err=True)
        raise SystemExit(2)
    return user


def refused(error: ValidationFailed):
    for field, message in error.fields.items():
        click.echo(f"error: {field}: {message}", err=True)
    raise SystemExit(2)


@users.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--partner", "partner_id", type=int, help="Partner (party id) for partner roles.")
@click.option("--engineer", "engineer_id", type=int, help="Engineer record for the engineer role.")
@click.option("--name", default=None, help="Display name (default: the part before @).")
def create_user_command(email, role, partner_id, engineer_id, name):
    """Create a user; the password is prompted for, or read from standard input when piped."""
    password = read_password(email)
    try:
        user = create_user(email, name, role, password, party_id=partner_id, engineer_id=engineer_id)
    except ValidationFailed as error:
        refused(error)
    click.echo(f"created user {user.id} {user.email} ({user.role}, party {user.party_id})")


@users.command("set-password")
@click.argument("email")
def set_password_command(email):
    """A new password (prompted, or read from standard input when piped); the user is signed
    out everywhere. The way back in for an hq_admin who forgot theirs."""
    user = user_or_exit(email)
    try:
        reset_password(user, read_password(user.email))
    except ValidationFailed as error:
        refused(error)
    click.echo(f"new password set for {user.email}; signed out everywhere")


for name, active in (("activate", True), ("deactivate", False)):
    @users.command(name, help=f"{name.capitalize()} a user: a deactivated one can neither sign in nor use "
                              "API tokens, at once. The last active hq_admin stays.")
    @click.argument("email")
    def set_active_command(email, active=active):
        user = user_or_exit(email)
        try:
            update_user(user, None, user.role, active)
        except ValidationFailed as error:
            refused(error)
        click.echo(f"{user.email} is {'active' if active else 'deactivated'}")


@tokens.command("create")
@click.argument("email")
@click.option("--name", default="cli", show_default=True, help="What the token is for.")
def create_token_command(email, name):
    """Create a token for the user EMAIL and print it; it is shown this once, stored hashed."""
    user = find_user(email)
    if user is None:
        raise click.BadParameter(f"no user {email}", param_hint="EMAIL")
    try:
        token, secret = issue_token(user, name, now_utc())
    except ValidationFailed as error:
        for field, message in error.fields.items():
            click.echo(f"error: {field}: {message}", err=True)
        raise SystemExit(2)
    click.echo(f"token {token.id} \"{token.name}\" for {user.email} ({user.role}); it is not shown again:")
    click.echo(secret)


@tokens.command("revoke")
@click.argument("token_id", metavar="ID", type=int)
def revoke_token_command(token_id):
    """Revoke the token ID: requests carrying it are refused from now on."""
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise click.BadParameter(f"no token {token_id}", param_hint="ID")
    revoke_token(token, now_utc())
    click.echo(f"token {token.id} \"{token.name}\" of {token.user.email} revoked")


@tokens.command("list")
@click.argument("email")
def list_tokens_command(email):
    """List the tokens of the user EMAIL (names and dates, never the tokens)."""
    user = find_user(email)
    if user is None:
        raise click.BadParameter(f"no user {email}", param_hint="EMAIL")
    for token in tokens_of(user):
        state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}Z" if token.revoked_at else "live"
        used = f"{token.last_used_at:%Y-%m-%d %H:%M}Z" if token.last_used_at else "never"
        click.echo(f"{token.id:>6}  {token.name:<24} created {token.created_at:%Y-%m-%d}  last used {used}  {state}")
