"""`flask tokens …`: issue, list and revoke the API's bearer tokens from the command line."""
import click

from partnernet.api.tokens import issue_token, revoke_token, tokens_of
from partnernet.auth.models import ApiToken
from partnernet.auth.service import find_user
from partnernet.errors import ValidationFailed
from partnernet.extensions import db
from partnernet.timeclock import now_utc

tokens = click.Group("tokens", help="API tokens (Authorization: Bearer <token>).")


def init_app(app):
    app.cli.add_command(tokens)


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
