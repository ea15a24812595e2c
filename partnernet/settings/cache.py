"""Reference data every ticket reads, kept per process for a few seconds: the settings, the product
lines and the working calendar.

Opening a ticket, expiring an offer and checking a clock all read them; HQ changes them a few
times a year. Each process keeps what it read for REFRESH_SECONDS. A commit in this process that
changes one of their tables clears the cache at once, so the worker that saved a change uses it
on its next request, and every other web worker, the scheduler included, within REFRESH_SECONDS.
A write from outside the app (SQL by hand, `flask` in another process) is seen within that time.
"""
import time

from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

REFRESH_SECONDS = 5.0
KEY = "partnernet.reference_cache"
clock = time.monotonic  # seconds; tests move it on


def cached(name: str, load):
    """`load()`'s value, read at most once per REFRESH_SECONDS per app (tests have one app each)."""
    store = current_app.extensions.setdefault(KEY, {})
    hit = store.get(name)
    now = clock()
    if hit is not None and now < hit[0]:
        return hit[1]
    value = load()
    store[name] = (now + REFRESH_SECONDS, value)
    return value


def clear() -> None:
    current_app.extensions.pop(KEY, None)


_tables: set[str] = set()  # the tables whose writes clear the cache, named by watch()


def watch(*models) -> None:
    """Clear the cache when these models' tables are written (each part names its own reference data)."""
    _tables.update(model.__table__.name for model in models)


@event.listens_for(Session, "after_flush")
def _note_changes(session, _flush_context):
    """A flush that writes one of the cached tables marks the transaction."""
    if any(obj.__table__.name in _tables for obj in (*session.new, *session.dirty, *session.deleted)):
        session.info[KEY] = True


@event.listens_for(Session, "do_orm_execute")
def _note_statements(state):
    """So does an INSERT, UPDATE or DELETE statement on one (a calendar import)."""
    if (state.is_insert or state.is_update or state.is_delete) and \
            getattr(state.statement, "table", None) is not None and state.statement.table.name in _tables:
        state.session.info[KEY] = True


@event.listens_for(Session, "after_commit")
def _clear_after_change(session):
    if session.info.pop(KEY, False) and has_app_context():
        clear()


@event.listens_for(Session, "after_rollback")
def _forget_changes(session):
    session.info.pop(KEY, None)
