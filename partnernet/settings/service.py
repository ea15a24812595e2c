"""The settings docs/design.md names, their defaults, and reading them with overrides from the table."""
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa

from partnernet.extensions import db
from partnernet.settings import changes
from partnernet.settings.cache import cached, watch
from partnernet.settings.models import Setting

watch(Setting)

DEFAULTS = {
    "offer_deadline_minutes": 15,
    "onsite_threshold_cny": "50000.00",
    "service_fee_rate": "0.18",
    "free_service_months": 12,
    "kind_priority": {"branch": 1, "joint_venture": 2, "franchisee": 3, "agent": 4},
    "audit_threshold": "0.20",
    "audit_min_offers": 10,
    "audit_sold_not_served_threshold": "0.30",
    "certification_reminder_days": 30,
    "audit_satisfaction_threshold": "0.60",
    "audit_satisfaction_min_answers": 10,
    "callback_share": "0.10",  # HQ calls back this share of resolved tickets, besides billable and low-rated
    # Reminders and escalation (partnernet.tickets.reminders). The warning point is set on a ticket
    # at intake: a new percentage applies to tickets opened from then on (0: no warnings).
    "remind_offer_half_way": True,
    "tell_hq_expired_offers": True,
    "sla_warning_percent": 80,
    "tell_hq_breaches": True,
}
# The annual service fee is a share of contract value within these bounds (docs/design.md: 15-20%).
SERVICE_FEE_RATE_RANGE = (Decimal("0.15"), Decimal("0.20"))


STORED = sa.select(Setting.key, Setting.value)


def load_settings() -> dict:
    """All settings: the stored value where HQ set one, the default otherwise (kept per process
    for a few seconds: partnernet.settings.cache)."""
    return dict(cached("settings", read_settings))


def save_settings(values: dict, actor_id: int, now) -> list[str]:
    """Store the settings whose value changed, with who changed them and when; every process uses
    them within seconds (partnernet.settings.cache). Returns the keys changed."""
    current = load_settings()
    changed = [key for key, value in values.items() if key in DEFAULTS and not same(current[key], value)]
    for key in changed:
        changes.record("setting_changed", actor_id, now, target=key, **{"from": current[key], "to": values[key]})
        row = db.session.get(Setting, key) or Setting(key=key)
        row.value, row.updated_at, row.updated_by_id = values[key], now, actor_id
        db.session.add(row)
    db.session.commit()
    return changed


POLICY_COLUMNS = ("day_start", "day_end", "response_minutes", "resolution_simple_minutes", "resolution_complex_minutes")


def save_sla_policy(policy, values: dict, actor_id: int | None, now) -> list[str]:
    """New hours and targets for an SLA policy (24x7 keeps no hours), logged with what changed.
    New tickets use them; open tickets keep their due times. Returns the columns changed."""
    after = {name: values[name] for name in POLICY_COLUMNS}
    if policy.kind == "always":
        after["day_start"] = after["day_end"] = None
    changed = changes.differences({name: getattr(policy, name) for name in POLICY_COLUMNS}, after)
    if changed:
        changes.record("sla_policy_changed", actor_id, now, target=policy.code, **changed)
        for name, (_before, value) in changed.items():
            setattr(policy, name, value)
    db.session.commit()
    return list(changed)


def same(stored, new) -> bool:
    """Equal values: "0.30" and "0.3" are one share."""
    try:
        return Decimal(str(stored)) == Decimal(str(new))
    except InvalidOperation:
        return stored == new


def read_settings() -> dict:
    values = dict(DEFAULTS)
    for key, value in db.session.connection().execute(STORED):
        if key in values:
            values[key] = value
    return values
