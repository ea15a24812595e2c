"""The roles a user can have; every part of the app asks for them by these names."""
HQ_ROLES = ("hq_admin", "hq_manager", "hq_agent")
MANAGER_ROLES = ("hq_admin", "hq_manager")  # may change partners, coverage, reviews, audits
PARTNER_ROLES = ("partner_admin", "engineer")
ROLES = HQ_ROLES + PARTNER_ROLES
