"""A ticket as a group robot's card: what, where, tier, the deadline (with its date when it is not
today, in China time) and a link to the ticket's page. Rendered in the channel's language by
notifications.robots.post_to_party; nothing on a card acts without signing in."""
from datetime import datetime

from flask_babel import gettext as _

from partnernet.labels import label, product_line_name
from partnernet.notifications.providers import Card
from partnernet.notifications.robots import public_link
from partnernet.tickets.models import Ticket
from partnernet.timeclock import CHINA, today_in_china


def deadline_text(at: datetime, now: datetime) -> str:
    """A deadline as people read it in China: the time today, the date and time on another day."""
    local = at.astimezone(CHINA)
    return local.strftime("%H:%M" if local.date() == today_in_china(now) else "%Y-%m-%d %H:%M")


def ticket_card(ticket: Ticket, title: str, deadline_line: str | None) -> Card:
    """The card of a ticket under `title` (what happened), in the current locale."""
    lines = [_("%(subject)s", subject=ticket.subject),
             _("Where: %(region)s", region=ticket.region.name),
             _("Tier %(tier)s · %(line)s", tier=label(ticket.tier), line=product_line_name(ticket.product_line))]
    if deadline_line:
        lines.append(deadline_line)
    return Card(title, tuple(lines), public_link(f"/tickets/{ticket.id}"), _("Open the ticket"))
