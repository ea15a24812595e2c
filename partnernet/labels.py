"""Human names, in the user's language, for the codes the product stores (roles, kinds, statuses)."""
from flask_babel import lazy_gettext as _l

LABELS = {
    # roles
    "hq_admin": _l("HQ administrator"), "hq_manager": _l("Channel manager"),
    "hq_agent": _l("HQ support agent"), "partner_admin": _l("Partner administrator"),
    "engineer": _l("Engineer"),
    # party kinds
    "hq": _l("HQ"), "branch": _l("Branch"), "joint_venture": _l("Joint venture"),
    "franchisee": _l("Franchisee"), "agent": _l("Agent"),
    # party statuses
    "onboarding": _l("Onboarding"), "active": _l("Active"), "probation": _l("Probation"),
    "suspended": _l("Suspended"), "terminated": _l("Terminated"),
    # ticket statuses
    "new": _l("New"), "offered": _l("Offered"), "accepted": _l("Accepted"),
    "in_progress": _l("In progress"), "waiting_on_customer": _l("Waiting on customer"),
    "resolved": _l("Resolved"), "closed": _l("Closed"), "hq_queue": _l("HQ queue"),
    # certification statuses and levels
    "pending": _l("Pending review"), "valid": _l("Valid"), "rejected": _l("Rejected"),
    "expired": _l("Expired"), "revoked": _l("Revoked"),
    "associate": _l("Associate"), "professional": _l("Professional"), "expert": _l("Expert"),
    # region levels
    "province": _l("Province"), "city": _l("City"), "county": _l("County"),
    # why a county has no eligible partner (also the HQ queue's causes)
    "no_coverage": _l("No coverage"), "no_certified_engineer": _l("No certified engineer"),
    "only_inactive": _l("Only inactive partners"),
    # tickets
    "simple": _l("Simple"), "complex": _l("Complex"),
    "phone": _l("Phone"), "email": _l("E-mail"), "im": _l("Instant messaging"), "web": _l("Web"), "api": _l("API"),
    "onsite_not_included": _l("on-site service not included"), "service_unpaid": _l("service fee unpaid"),
    "no_contract": _l("no contract"),
    "all_at_capacity": _l("All at capacity"), "all_declined": _l("All declined"),
    "all_expired": _l("All offers expired"), "returned_by_partner": _l("Returned by partner"),
    "no_capacity": _l("No capacity"), "no_engineer_available": _l("No engineer available"),
    "outside_expertise": _l("Outside our expertise"), "customer_unreachable": _l("Customer unreachable"),
    "not_our_region": _l("Not our region"), "other": _l("Other"),
    "beyond_our_skills": _l("Beyond our skills"), "needs_hq_development": _l("Needs HQ development"),
    "customer_request": _l("Customer's request"), "capacity": _l("Capacity"),
    "created": _l("Ticket opened"), "routed": _l("Routed"), "declined": _l("Declined"),
    "offer_expired": _l("Offer expired"), "returned_to_hq": _l("Returned to HQ"),
    "queued_to_hq": _l("Queued at HQ"), "taken_by_hq": _l("Taken by HQ"), "rerouted": _l("Routed again"),
    "assigned": _l("Engineer assigned"), "status_changed": _l("Status changed"), "note": _l("Note"),
    "response_met": _l("Response target met"), "response_breached": _l("Response target breached"),
    "resolution_met": _l("Resolution target met"), "resolution_breached": _l("Resolution target breached"),
    "escalated": _l("Escalated"),
    "attachment_added": _l("Attachment added"), "visit_planned": _l("Visit planned"),
    "visit_checked_in": _l("Checked in on site"), "visit_checked_out": _l("Checked out"),
    # audit decisions ("probation" is the party status's label above) and why a finding is flagged
    "dismiss": _l("Dismissed"), "warning": _l("Warning"), "suspension": _l("Suspension"),
    "push_back": _l("Push-back"), "sold_not_served": _l("Sold, not served"),
    "satisfaction": _l("Low satisfaction"),
    # who started an audit run ("api" is the channel's label above)
    "ui": _l("Web page"), "cli": _l("Command line"), "scheduler": _l("Weekly job"),
    # what can be imported and exported
    "partners": _l("Partners"), "coverage": _l("Coverage"), "engineers": _l("Engineers"),
    "certifications": _l("Certifications"),
    # the change log
    "user_created": _l("User created"), "user_changed": _l("User changed"), "password_set": _l("Password set"),
    "token_created": _l("API token created"), "token_revoked": _l("API token revoked"),
    "setting_changed": _l("Setting changed"), "sla_policy_changed": _l("SLA policy changed"),
    "calendar_day_set": _l("Calendar day set"), "calendar_imported": _l("Calendar year imported"),
    "customer_created": _l("Customer created"), "contract_created": _l("Contract created"),
    "customer_changed": _l("Customer changed"), "contract_changed": _l("Contract changed"),
    "service_paid": _l("Service fee paid"),
    # the customer's answer, and HQ's call-backs
    "reopened": _l("Reopened"), "confirmed_by_customer": _l("Confirmed solved by the customer"),
    "not_solved_by_customer": _l("Not solved, says the customer"),
    "no_answer_in_time": _l("No answer from the customer in 14 days"),
    "customer": _l("Customer's link"), "callback": _l("HQ call-back"),
    "billable_ticket": _l("Billable"), "rated_low": _l("Rated 2 or less"), "sample": _l("Random sample"),
    # a contract's service entitlement today
    "free": _l("Free period"), "paid": _l("Paid up"), "unpaid": _l("Unpaid"),
}


def label(value) -> str:
    return str(LABELS.get(value, value))


def choices(values) -> list:
    """Select options whose text is the code's label, translated when the form is rendered."""
    from wtforms.fields.choices import SelectChoice
    return [SelectChoice(value, LABELS.get(value, value)) for value in values]


def reads_chinese() -> bool:
    """Whether the reader of what is being rendered reads Chinese (the request's or a notification's locale)."""
    from flask_babel import get_locale
    return get_locale() is not None and get_locale().language == "zh"


def product_line_name(line) -> str:
    """A product line as people call it, in the reader's language: never its code."""
    return line.name_zh if reads_chinese() else line.name_en


def product_line_choices(lines, value=lambda line: line.code) -> list:
    """Product-line options in the reader's language."""
    from wtforms.fields.choices import SelectChoice
    return [SelectChoice(str(value(line)), product_line_name(line)) for line in lines]
