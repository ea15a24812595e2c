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
    # what can be imported and exported
    "partners": _l("Partners"), "coverage": _l("Coverage"), "engineers": _l("Engineers"),
    "certifications": _l("Certifications"),
}


def label(value) -> str:
    return str(LABELS.get(value, value))
