"""Idempotent ticket intake: a retry with the same Idempotency-Key and body gets the first ticket.

The key row is inserted after the ticket, with it, in the same transaction, and (user, key) is
unique: of several requests racing with one key the database admits one; the others wait for it
to commit, fail on the constraint, roll back their own ticket, and answer with the winner's. A
retry is found by that constraint, not by a read before every intake: most keys are new. A key is
good for 24 hours; after that the same key opens a new ticket.
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


class KeyTaken(Exception):
    """Another request with this key committed its ticket first."""


def open_once(user: User, key: str, body_fingerprint: str, open_ticket, now: datetime) -> tuple[Ticket, bool]:
    """(ticket, replayed). `open_ticket(on_opened)` opens the ticket; `on_opened(ticket_id)`
    stores the key with it, last, in the same transaction. If the key is taken, that transaction
    is rolled back whole and the first ticket answered; an expired key is removed and the ticket
    opened again."""

    def store_key(ticket_id: int):
        try:
            db.session.connection().execute(INSERT_KEY, {
                "user_id": user.id, "key": key, "fingerprint": body_fingerprint, "created_at": now,
                "ticket_id": ticket_id})
        except IntegrityError:
            raise KeyTaken() from None  # (user, key) is unique: the other request has committed

    for _attempt in range(2):
        try:
            return open_ticket(store_key), False
        except (KeyTaken, ValidationFailed) as error:
            db.session.rollback()  # our ticket, its events and notifications go with it
            record = find(user.id, key)
            if record is not None and record.created_at > now - LIFETIME:
                # A retry: the first ticket (or 422 for another body), even if this one would
                # no longer pass (a product line retired since, say).
                return replay(record, body_fingerprint), True
            if isinstance(error, ValidationFailed):
                raise
        if record is not None:
            # Expired: remove it (unless a concurrent request replaced it meanwhile) and try again.
            db.session.execute(sa.delete(IdempotencyKey).where(
                IdempotencyKey.id == record.id, IdempotencyKey.created_at == record.created_at))
            db.session.commit()
    raise Conflict("A request with this Idempotency-Key is being processed; retry shortly.")


def purge_expired_keys(now: datetime) -> int:
    """Delete keys older than 24 hours (for a scheduled job; expired keys are ignored anyway)."""
    result = db.session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.created_at <= now - LIFETIME))
    db.session.commit()
    return result.rowcount
