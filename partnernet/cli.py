"""The `flask --app wsgi …` commands: users, demo data, regions, audit, scheduler, import and export."""
import sys

import click
import sqlalchemy as sa
from flask import current_app

from partnernet.auth.models import ROLES
from partnernet.errors import ValidationFailed
from partnernet.extensions import db
from partnernet.network.transfer import KINDS as TRANSFER_KINDS


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

    def user_or_exit(email):
        from partnernet.auth.service import find_user
        user = find_user(email)
        if user is None:
            click.echo(f"error: no user {email}", err=True)
            raise SystemExit(2)
        return user

    def refused(error: ValidationFailed):
        for field, message in error.fields.items():
            click.echo(f"error: {field}: {message}", err=True)
        raise SystemExit(2)

    @users.command("set-password")
    @click.argument("email")
    def set_password_command(email):
        """A new password (prompted, or read from standard input when piped); the user is signed
        out everywhere. The way back in for an hq_admin who forgot theirs."""
        from partnernet.auth.service import reset_password
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
            from partnernet.auth.service import update_user
            user = user_or_exit(email)
            try:
                update_user(user, None, user.role, active)
            except ValidationFailed as error:
                refused(error)
            click.echo(f"{user.email} is {'active' if active else 'deactivated'}")

    app.cli.add_command(users)

    api_tokens = click.Group("tokens", help="API tokens (Authorization: Bearer <token>).")

    @api_tokens.command("create")
    @click.argument("email")
    @click.option("--name", default="cli", show_default=True, help="What the token is for.")
    def create_token_command(email, name):
        """Create a token for the user EMAIL and print it; it is shown this once, stored hashed."""
        from partnernet.auth.tokens import issue_token
        from partnernet.auth.service import find_user
        from partnernet.timeclock import now_utc
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

    @api_tokens.command("revoke")
    @click.argument("token_id", metavar="ID", type=int)
    def revoke_token_command(token_id):
        """Revoke the token ID: requests carrying it are refused from now on."""
        from partnernet.auth.tokens import revoke_token
        from partnernet.auth.models import ApiToken
        from partnernet.timeclock import now_utc
        token = db.session.get(ApiToken, token_id)
        if token is None:
            raise click.BadParameter(f"no token {token_id}", param_hint="ID")
        revoke_token(token, now_utc())
        click.echo(f"token {token.id} \"{token.name}\" of {token.user.email} revoked")

    @api_tokens.command("list")
    @click.argument("email")
    def list_tokens_command(email):
        """List the tokens of the user EMAIL (names and dates, never the tokens)."""
        from partnernet.auth.tokens import tokens_of
        from partnernet.auth.service import find_user
        user = find_user(email)
        if user is None:
            raise click.BadParameter(f"no user {email}", param_hint="EMAIL")
        for token in tokens_of(user):
            state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}Z" if token.revoked_at else "live"
            used = f"{token.last_used_at:%Y-%m-%d %H:%M}Z" if token.last_used_at else "never"
            click.echo(f"{token.id:>6}  {token.name:<24} created {token.created_at:%Y-%m-%d}  last used {used}  {state}")

    app.cli.add_command(api_tokens)

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

    calendar_commands = click.Group("calendar", help="The working-day calendar and the SLA clocks.")

    @calendar_commands.command("due")
    @click.argument("start")
    @click.argument("minutes", type=click.IntRange(min=0))
    @click.option("--policy", "policy_code", default="business-hours", show_default=True,
                  help="SLA policy code (business-hours, 24x7).")
    def calendar_due_command(start, minutes, policy_code):
        """Print the instant MINUTES business minutes after START (ISO 8601; naive means Asia/Shanghai)."""
        from datetime import datetime

        from partnernet import sla
        from partnernet.errors import NotFound
        from partnernet.settings.calendar import calendar_for_due, load_policy, policy_of
        from partnernet.timeclock import CHINA
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
        from partnernet.settings.calendar import import_year_csv
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
        from partnernet.settings.calendar import set_day
        row = set_day(day.date(), state == "working", note, None)
        click.echo(f"{row.day.isoformat()}: {state}" + (f" ({row.note})" if row.note else ""))

    app.cli.add_command(calendar_commands)

    audit = click.Group("audit", help="The push-back audit.")

    @audit.command("run")
    @click.option("--from", "period_start", type=click.DateTime(formats=["%Y-%m-%d"]), required=True,
                  help="First day of the period (2026-11-16), in China.")
    @click.option("--to", "period_end", type=click.DateTime(formats=["%Y-%m-%d"]), required=True,
                  help="Last day of the period, included; yesterday at the latest.")
    @click.option("--threshold", type=click.FloatRange(0, 1), default=None,
                  help="Flag push-back whose 95% lower bound exceeds this share (default: the setting).")
    @click.option("--min-offers", type=click.IntRange(min=0), default=None,
                  help="Fewest offers (and sold tickets) to flag on (default: the setting).")
    @click.option("--sold-not-served-threshold", type=click.FloatRange(0, 1), default=None,
                  help="Flag a larger share of sold tickets served by HQ (default: the setting).")
    def audit_run_command(period_start, period_end, threshold, min_offers, sold_not_served_threshold):
        """Measure every partner over the period, store the run and print the flagged ones."""
        from partnernet.audit.service import start_run
        from partnernet.timeclock import now_utc
        params = {"threshold": threshold, "min_offers": min_offers,
                  "sold_not_served_threshold": sold_not_served_threshold}
        try:
            run = start_run(period_start.date(), period_end.date(), params, "cli", None, now_utc())
        except ValidationFailed as error:
            for field, message in error.fields.items():
                click.echo(f"error: {field}: {message}", err=True)
            raise SystemExit(2)
        flagged = [finding for finding in run.findings if finding.flagged]
        click.echo(f"audit run {run.id}: {run.period_start.isoformat()} to {run.period_end.isoformat()}, "
                   f"{len(run.findings)} partners, {len(flagged)} flagged")
        for finding in flagged:
            bound = finding.push_back_lower_bound
            click.echo(f"  {finding.party.name} (party {finding.party_id}): {', '.join(finding.flag_reasons)}; "
                       f"pushed back {finding.push_back} of {finding.offered} offers"
                       + (f" (lower bound {bound:.3f})" if bound is not None else "")
                       + f"; {finding.sold_not_served} of {finding.sold_tickets} sold tickets served by HQ")

    app.cli.add_command(audit)

    @app.cli.command("scheduler")
    def scheduler_command():
        """Run the scheduled jobs in this process until stopped."""
        import logging

        from partnernet.scheduler import run_forever
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        click.echo("scheduler running; Ctrl+C to stop", err=True)
        run_forever(current_app._get_current_object())

    @app.cli.command("serve")
    @click.option("--host", default="127.0.0.1")
    @click.option("--port", default=5000, type=int)
    def serve_command(host, port):
        """Development server with the scheduler inside the same process (one machine setups)."""
        from werkzeug.serving import run_simple

        from partnernet.scheduler import start_in_process
        app_object = current_app._get_current_object()
        start_in_process(app_object)
        click.echo(f"partnernet on http://{host}:{port}/ (scheduler running; Ctrl+C to stop)")
        run_simple(host, port, app_object, threaded=True, use_reloader=False)

    @app.cli.command("check")
    def check_command():
        """Verify the invariants: one holder per open ticket, certified engineers, events that match
        ticket states, no stale offers. Exits 1 when any is broken."""
        from partnernet.invariants import check
        from partnernet.timeclock import now_utc
        report = check(now_utc())
        for line in report.lines():
            click.echo(f"BROKEN {line}", err=True)
        if not report.ok:
            raise SystemExit(1)
        click.echo("all invariants hold")

    @app.cli.command("backup")
    @click.argument("file", type=click.Path(dir_okay=False))
    def backup_command(file):
        """Write a consistent backup of the live database to FILE (SQLite backup API, or pg_dump)."""
        from partnernet.backup import BackupError, backup
        try:
            backup(db.engine.url, file)
        except BackupError as error:
            click.echo(f"error: {error}", err=True)
            raise SystemExit(1)
        click.echo(f"backup written to {file}")

    @app.cli.command("restore")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    def restore_command(file, yes):
        """Replace the database's contents with the backup in FILE. Stop the app and scheduler first."""
        from partnernet.backup import BackupError, restore
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

    @app.cli.command("check-db")
    def check_db_command():
        """Print the database URL in use and whether it answers (a start-up sanity check)."""
        db.session.execute(sa.text("SELECT 1"))
        click.echo(f"database ok: {db.engine.url.render_as_string(hide_password=True)}")

    @app.cli.command("import")
    @click.argument("kind", type=click.Choice(TRANSFER_KINDS))
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    @click.option("--dry-run", is_flag=True, help="Check the file and print the plan; write nothing.")
    def import_command(kind, path, dry_run):
        """Import partners, coverage, engineers or certifications from a .csv or .xlsx file, all rows or none."""
        from partnernet.errors import DomainError
        from partnernet.network import transfer
        from partnernet.timeclock import now_utc
        file_format = transfer.file_format_of(path)
        if file_format is None:
            raise click.BadParameter("the file must end in .csv or .xlsx", param_hint="FILE")
        with open(path, "rb") as handle:
            content = handle.read()
        try:
            plan = transfer.run_import(kind, content, file_format, None, now_utc(), dry_run=dry_run,
                                       limits=transfer.ImportLimits.from_config(current_app.config))
        except transfer.ImportRejected as rejected:
            plan = rejected.plan
        except DomainError as error:
            click.echo(f"error: {error.message}", err=True)
            raise SystemExit(1)
        counts = plan.counts
        click.echo(f"{kind}: {counts['rows']} rows — {counts['create']} to create, {counts['update']} to update, "
                   f"{counts['unchanged']} unchanged, {counts['errors']} errors")
        for error in plan.errors:
            click.echo(f"row {error.row}, {error.column}: {error.message}", err=True)
        if plan.errors:
            click.echo("nothing written", err=True)
            raise SystemExit(1)
        click.echo("dry run: nothing written" if dry_run else "written")

    @app.cli.command("export")
    @click.argument("kind", type=click.Choice(TRANSFER_KINDS))
    @click.argument("path", type=click.Path(dir_okay=False, writable=True))
    def export_command(kind, path):
        """Export every partner (or their coverage, engineers, certifications) to a .csv or .xlsx file."""
        from partnernet.network import transfer
        from partnernet.network.service import partner_list_statement
        from partnernet.timeclock import today_in_china
        file_format = transfer.file_format_of(path)
        if file_format is None:
            raise click.BadParameter("the file must end in .csv or .xlsx", param_hint="FILE")
        content = transfer.export_file(kind, file_format, partner_list_statement(today_in_china()))
        with open(path, "wb") as handle:
            handle.write(content)
        click.echo(f"{kind} written to {path}")
