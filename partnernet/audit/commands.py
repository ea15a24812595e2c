"""`flask audit run`: measure every partner over a period and print the flagged ones, as the
weekly job and the audit page do."""
import click

from partnernet.audit.service import start_run
from partnernet.errors import ValidationFailed
from partnernet.timeclock import now_utc

audit = click.Group("audit", help="The push-back audit.")


def init_app(app):
    app.cli.add_command(audit)


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
