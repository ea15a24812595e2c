"""Idempotent ticket intake: a retry with the same Idempotency-Key and body gets the first ticket.

A retry is found by one indexed read before anything else. A new key is a row committed with
its ticket, and (user, key) is unique: of several requests racing with one key the database
admits one; the others fail on the constraint, roll back their own ticket, and answer with the
winner's. A key is good for 24 hours; after that the same key opens a new ticket.
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


def open_once(user: User, key: str, body_fingerprint: str, open_ticket, now: datetime) -> tuple[Ticket, bool]:
    """(ticket, replayed). A retry is answered from the key's record; otherwise
    `open_ticket(linked)` opens the ticket with the key's row committed with it
    (tickets.service.intake). If a concurrent request with the key commits first, ours fails on
    the unique key, is rolled back whole, and the first ticket is answered."""
    record = find(user.id, key)
    if record is not None and record.created_at > now - LIFETIME:
        return replay(record, body_fingerprint), True
    if record is not None:
        # Expired: the key is free again (unless a concurrent request renewed it meanwhile).
        db.session.execute(sa.delete(IdempotencyKey).where(
            IdempotencyKey.id == record.id, IdempotencyKey.created_at == record.created_at))
        db.session.commit()
    key_row = IdempotencyKey(user_id=user.id, key=key, fingerprint=body_fingerprint, created_at=now)
    try:
        return open_ticket([key_row]), False
    except IntegrityError:
        db.session.rollback()  # our ticket, its events and notifications go with it
        record = find(user.id, key)
        if record is None:
            raise  # not the key: a constraint of the ticket itself
        return replay(record, body_fingerprint), True


def purge_expired_keys(now: datetime) -> int:
    """Delete keys older than 24 hours (for a scheduled job; expired keys are ignored anyway)."""
    result = db.session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.created_at <= now - LIFETIME))
    db.session.commit()
    return result.rowcount
