"""Idempotent ticket intake: a retry with the same Idempotency-Key and body gets the first ticket.

The key row is inserted before the ticket, in the same transaction, and (user, key) is unique:
of several requests racing with one key the database admits one; the others wait for it to
commit, fail on the constraint, and answer with the winner's ticket. A key is good for 24 hours;
after that the same key opens a new ticket.
"""
import hashlib
import json
from contextlib import contextmanager
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import event
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
    """(ticket, replayed): `open_ticket()` runs, and commits, only if no live record of the key exists."""
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
    else:
        record = IdempotencyKey(user_id=user.id, key=key, fingerprint=body_fingerprint, created_at=now)
        db.session.add(record)
        try:
            db.session.flush()
        except IntegrityError:
            db.session.rollback()  # another request with this key got in first and has committed
            return replay(find(user.id, key), body_fingerprint), True
    with linked_to_new_ticket(record):
        ticket = open_ticket()
    return ticket, False


@contextmanager
def linked_to_new_ticket(record: IdempotencyKey):
    """Point the key at the ticket the service creates, in the flush that inserts it, so that the
    service's own commit stores both together (the service knows nothing of idempotency)."""
    session = db.session()

    def link(session, _flush_context, _instances):
        if record.ticket_id is None and record.ticket is None:
            ticket = next((obj for obj in session.new if isinstance(obj, Ticket)), None)
            if ticket is not None:
                record.ticket = ticket

    event.listen(session, "before_flush", link)
    try:
        yield
    finally:
        event.remove(session, "before_flush", link)


def purge_expired_keys(now: datetime) -> int:
    """Delete keys older than 24 hours (for a scheduled job; expired keys are ignored anyway)."""
    result = db.session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.created_at <= now - LIFETIME))
    db.session.commit()
    return result.rowcount
