"""What every template can use: the navigation for the user's role, labels, date formatting."""
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from babel.dates import format_interval, format_skeleton

from flask import request, url_for
from flask_babel import format_date, format_datetime, get_locale, lazy_gettext as _l
from flask_login import current_user

from partnernet.auth.forms import LanguageForm
from partnernet.auth.models import HQ_ROLES, MANAGER_ROLES
from partnernet.labels import label, product_line_name

# (endpoint, label, roles that see it, the URL's arguments from the user), in menus: a menu's label,
# or None for a top-level link. A menu with one item for a role is shown as that item's link.
NAVIGATION = [
    (None, [
        ("home.hq", _l("Dashboard"), HQ_ROLES, None),
        ("home.partner", _l("Home"), ("partner_admin",), None),
        ("home.engineer", _l("My work"), ("engineer",), None),
    ]),
    (_l("Tickets"), [
        ("tickets.index", _l("Tickets"), ("hq_admin", "hq_manager", "hq_agent", "partner_admin", "engineer"), None),
        ("tickets.queue", _l("HQ queue"), HQ_ROLES, None),
        ("feedback.callbacks", _l("Call-backs"), HQ_ROLES, None),
        ("customers.index", _l("Customers"), HQ_ROLES, None),
    ]),
    (_l("Network"), [
        ("network.partners", _l("Partners"), HQ_ROLES, None),
        ("network.coverage_by_region", _l("Coverage"), HQ_ROLES, None),
        ("network.partner", _l("Our company"), ("partner_admin",), lambda u: {"party_id": u.party_id}),
        ("network.engineer", _l("My certifications"), ("engineer",), lambda u: {"engineer_id": u.engineer_id}),
        ("network.review_queue", _l("Certification reviews"), MANAGER_ROLES, None),
        ("transfer.import_page", _l("Import"), MANAGER_ROLES, None),
        ("regions.index", _l("Regions"), HQ_ROLES + ("partner_admin",), None),
    ]),
    (_l("Audit"), [
        ("audit.runs", _l("Audits"), HQ_ROLES, None),
        ("audit.our_findings", _l("Our audit findings"), ("partner_admin",), None),
        ("scorecards.ranking", _l("Scorecards"), HQ_ROLES, None),
    ]),
    (_l("Reports"), [
        ("reports.monthly_reports", _l("Monthly reports"), HQ_ROLES + ("partner_admin",), None),
        ("reports.sla", _l("Monthly SLA results"), HQ_ROLES + ("partner_admin",), None),
        ("reports.settlement", _l("Settlement"), ("partner_admin",), lambda u: {"party_id": u.party_id}),
    ]),
    (_l("System"), [
        ("users.index", _l("Users"), ("hq_admin",), None),
        ("settings.general", _l("Settings"), ("hq_admin",), None),
        ("settings.calendar_page", _l("Calendar"), ("hq_admin",), None),
        ("settings.sla_policies", _l("SLA policies"), ("hq_admin",), None),
        ("settings.changes_log", _l("Change log"), ("hq_admin",), None),
        ("notifications.deliveries", _l("Delivery log"), ("hq_admin", "partner_admin"), None),
    ]),
]


@dataclass
class NavLink:
    endpoint: str
    url: str
    text: str


@dataclass
class NavMenu:
    text: str
    links: list

    @property
    def endpoints(self) -> set:
        return {link.endpoint for link in self.links}


def navigation_for(user) -> list:
    """The user's navigation: links, and menus of links (a menu of one is its link)."""
    entries = []
    for menu, items in NAVIGATION:
        links = [NavLink(e, url_for(e, **(args(user) if args else {})), t)
                 for e, t, roles, args in items if user.role in roles]
        if menu is None or len(links) == 1:
            entries += links
        elif links:
            entries.append(NavMenu(menu, links))
    return entries


BADGE_COLOURS = {
    "active": "success", "valid": "success", "resolved": "success", "closed": "secondary",
    "onboarding": "info", "pending": "info", "offered": "info", "new": "info",
    "free": "info", "paid": "success", "unpaid": "warning",
    "probation": "warning", "waiting_on_customer": "warning", "hq_queue": "warning",
    "suspended": "danger", "terminated": "dark", "rejected": "danger", "expired": "secondary",
    "revoked": "danger",
    # audit decisions
    "dismiss": "secondary", "warning": "warning", "suspension": "danger",
}



def local_datetime(value, format="yyyy-MM-dd HH:mm") -> str:
    return format_datetime(value, format) if value else ""


def iso_local(value: str) -> str:
    """An ISO 8601 instant (as stored in JSON) shown in China's time."""
    return local_datetime(datetime.fromisoformat(value)) if value else ""


def week(monday: date) -> str:
    """A week as its days in the reader's language, by the locale's own interval pattern:
    12月1日至7日, Dec 1 – 7 (never an ISO week number such as 2026-W49)."""
    return format_interval(monday, monday + timedelta(days=6), "MMMd", locale=get_locale())


def day_month(day: date) -> str:
    """A day of this year in the reader's language: 12月1日, Dec 1."""
    return format_skeleton("MMMd", day, locale=get_locale())


def period(first: date, last: date) -> str:
    """Days from `first` to `last` in the reader's language: 2026年11月16日 – 22日, Nov 16 – 22, 2026."""
    return format_interval(first, last, "yMMMd", locale=get_locale())


def ui_language() -> str:
    """The interface language as our code ("zh_CN" or "en"); Babel spells Chinese zh_Hans_CN."""
    return "zh_CN" if get_locale().language == "zh" else "en"


def register_template_helpers(app):
    app.jinja_env.filters["label"] = label
    app.jinja_env.filters["product_line_name"] = product_line_name
    app.jinja_env.filters["local_datetime"] = local_datetime
    app.jinja_env.filters["iso_local"] = iso_local
    app.jinja_env.filters["weekday"] = lambda day: format_date(day, "EEE")
    app.jinja_env.filters["week"] = week
    app.jinja_env.filters["period"] = period
    app.jinja_env.filters["day_month"] = day_month
    app.jinja_env.globals["badge_colour"] = lambda value: BADGE_COLOURS.get(value, "secondary")

    @app.context_processor
    def shell():
        navigation, unread = [], 0
        if current_user.is_authenticated:
            from partnernet.notifications.service import unread_count
            unread = unread_count(current_user)
            navigation = navigation_for(current_user)
        return {
            "navigation": navigation,
            "language_form": LanguageForm(formdata=None, locale=ui_language(), next=request.full_path.rstrip("?")),
            "current_locale": ui_language(),
            "unread_notifications": unread,
        }
