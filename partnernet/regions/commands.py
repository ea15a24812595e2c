"""`flask regions load`: load or refresh China's administrative divisions from the shipped data file."""
import click

from partnernet.extensions import db
from partnernet.regions.service import load_regions

regions = click.Group("regions", help="China's administrative divisions.")


def init_app(app):
    app.cli.add_command(regions)


@regions.command("load")
def load_regions_command():
    """Load or refresh the regions from the shipped GB/T 2260 data file (idempotent)."""
    with db.engine.begin() as connection:
        counts = load_regions(connection)
    click.echo("regions: {inserted} inserted, {updated} updated, {total} in the data file".format(**counts))
