"""The kinds of notification a user may choose to receive by e-mail or not (Notification.kind,
ChannelMessage.kind), with their labels in the user's language."""
from flask_babel import lazy_gettext as _l

KINDS = {
    "offer": _l("A ticket is offered to my partner"),
    "offer_reminder": _l("An offer is still unopened half-way to its deadline"),
    "offer_expired": _l("An offer expired unanswered"),
    "response_warning": _l("A ticket is near its response time"),
    "resolution_warning": _l("A ticket is near its resolution time"),
    "response_breached": _l("A ticket missed its response time"),
    "resolution_breached": _l("A ticket missed its resolution time"),
    "certification_expiring": _l("A certification expires soon"),
    "monthly_report": _l("My partner's monthly report is ready"),
}
