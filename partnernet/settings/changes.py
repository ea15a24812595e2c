"""The change log: HQ's privileged changes to users, API tokens, settings, SLA policies, the
working calendar, customers and contracts, each an append-only event with the acting user (None:
the command line).

Each service records its change in the transaction that makes it, so the log and the change
commit together or not at all. What `data` holds, by kind:

- user_created: {"role", "party_id"}; user_changed: {"role": [before, after], "active": [...]},
  only what changed; password_set: {} (set by an hq_admin or the command line, never shown);
- token_created, token_revoked: {"token_id"}, target the token's name, user the token's owner;
- setting_changed: {"from", "to"}, target the setting's key;
- sla_policy_changed: {column: [before, after]} for what changed, target the policy's code;
- calendar_day_set: {"from": {"is_working", "note"} or None, "to": {…}}, target the day;
- calendar_imported: {"days", "days_off_on_weekdays", "working_weekend_days"}, target the year;
- customer_created: {"customer_id", "region_code", "sold_by_party_id"}, target the name;
- customer_changed, contract_changed: {"customer_id", column: [before, after]} for what changed;
- contract_created: {"customer_id", "value", "starts_on", "product_lines", "service_paid_until"},
  target the contract's number;
- service_paid: {"customer_id", "from", "to", "annual_fee"}: service paid up to `to` (was `from`),
  target the contract's number.
"""
from datetime import date, datetime, time
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from partnernet.extensions import db
from partnernet.settings.models import CHANGE_KINDS, ChangeEvent


def record(kind: str, actor_id: int | None, now: datetime, target=None, user_id: int | None = None,
           **data) -> ChangeEvent:
    """Add the event to the session; the caller's commit writes it with the change. `data` may
    hold dates, times and amounts: they are stored as text."""
    event = ChangeEvent(kind=kind, at=now, actor_user_id=actor_id, user_id=user_id,
                        target=None if target is None else str(target)[:255], data=storable(data) or None)
    db.session.add(event)
    return event


def storable(value):
    """`value` as the log's JSON holds it: dates as 2026-12-04, times as 09:00, amounts as text."""
    if isinstance(value, dict):
        return {key: storable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [storable(item) for item in value]
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value) if isinstance(value, Decimal) else value


def differences(before: dict, after: dict) -> dict:
    """{name: [before, after]} for the values that differ."""
    return {name: [before[name], after[name]] for name in after if before.get(name) != after[name]}


def changes_statement(kind: str | None = None, user_id: int | None = None):
    """The log, newest first: of one kind, or about one user; actors and users loaded with it."""
    statement = (sa.select(ChangeEvent).options(joinedload(ChangeEvent.actor), joinedload(ChangeEvent.user))
                 .order_by(ChangeEvent.id.desc()))
    if kind in CHANGE_KINDS:
        statement = statement.where(ChangeEvent.kind == kind)
    if user_id is not None:
        statement = statement.where(ChangeEvent.user_id == user_id)
    return statement
