"""Idempotent ticket intake: a retry with the same Idempotency-Key and body gets the first ticket.

The key row is inserted before the ticket, in the same transaction, and (user, key) is unique:
of several requests racing with one key the database admits one; the others wait for it to
commit, fail on the constraint, and answer with the winner's ticket. A key is good for 24 hours;
after that the same key opens a new ticket.
"""
import hashlib
import json
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from partnernet.api.models import IdempotencyKey
from partnernet.auth.models import User
from partnernet.errors import Conflict, ValidationFailed
from partnernet.extensions import db
from partnernet.tickets.models import Ticket

LIFETIME = timedelta(hours=24)


class KeyReused(ValidationFailed):
    code = "idempotency_key_reused"


def fingerprint(body) -> str:
    """SHA-256 of the body as canonical JSON: key order and spacing do not matter."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def find(user_id: int, key: str) -> IdempotencyKey | None:
    return db.session.execute(sa.select(IdempotencyKey).where(
        IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)).scalar_one_or_none()


def replay(record: IdempotencyKey | None, body_fingerprint: str) -> Ticket:
    if record is None or record.ticket_id is None:
        raise Conflict("A request with this Idempotency-Key is still being processed; retry shortly.")
    if record.fingerprint != body_fingerprint:
        raise KeyReused("This Idempotency-Key was used with a different request body.",
                        {"Idempotency-Key": "Already used within 24 hours for another request body."})
    return db.session.get(Ticket, record.ticket_id)


INSERT_KEY = sa.insert(IdempotencyKey.__table__)
# SET ticket_id = :ticket_id, from the parameters.
LINK_KEY = sa.update(IdempotencyKey.__table__).where(IdempotencyKey.__table__.c.id == sa.bindparam("key_id"))


def open_once(user: User, key: str, body_fingerprint: str, open_ticket, now: datetime) -> tuple[Ticket, bool]:
    """(ticket, replayed): `open_ticket(on_opened)` runs, and commits, only if no live record of the
    key exists; `on_opened(ticket_id)` points the key at the new ticket in the same transaction."""
    record = find(user.id, key)
    if record is not None and record.created_at > now - LIFETIME:
        return replay(record, body_fingerprint), True
    if record is not None:
        # Expired: take the row over, unless a concurrent request took it first.
        claimed = db.session.execute(
            sa.update(IdempotencyKey)
            .where(IdempotencyKey.id == record.id, IdempotencyKey.created_at == record.created_at)
            .values(fingerprint=body_fingerprint, created_at=now, ticket_id=None)
            .execution_options(synchronize_session=False)).rowcount == 1
        if not claimed:
            db.session.rollback()
            return replay(find(user.id, key), body_fingerprint), True
        db.session.expire(record)
        key_id = record.id
    else:
        try:
            key_id = db.session.connection().execute(INSERT_KEY, {
                "user_id": user.id, "key": key, "fingerprint": body_fingerprint, "created_at": now,
                "ticket_id": None}).inserted_primary_key[0]
        except IntegrityError:
            db.session.rollback()  # another request with this key got in first and has committed
            return replay(find(user.id, key), body_fingerprint), True

    def link(ticket_id: int):
        db.session.connection().execute(LINK_KEY, {"key_id": key_id, "ticket_id": ticket_id})

    return open_ticket(link), False


def purge_expired_keys(now: datetime) -> int:
    """Delete keys older than 24 hours (for a scheduled job; expired keys are ignored anyway)."""
    result = db.session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.created_at <= now - LIFETIME))
    db.session.commit()
    return result.rowcount
