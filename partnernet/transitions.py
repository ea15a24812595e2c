"""The one way a state changes: compare-and-set, an UPDATE that names the state the caller's
checks saw and writes the new one in the same statement.

Of several requests making the same change at once, exactly one changes the row. On SQLite the
UPDATE waits for the one writer and then reads the row as committed; on PostgreSQL it waits for
the row's lock and checks the committed row again (READ COMMITTED). Either way a loser finds the
state moved on and updates nothing. The winner holds the row until it commits, so what it writes
next (events, notifications, offers) cannot interleave with another change. (A change that adds
a row instead, an audit decision, lets a unique index decide the same way: one per finding.)
"""
from partnernet.errors import Conflict
from partnernet.extensions import db


def compare_and_set(row, expected: dict, values: dict, conflict: str | None = None, where=()) -> bool:
    """UPDATE `row` SET `values` WHERE its columns still hold the `expected` values (and the
    further SQL conditions `where`). True for the one caller that changed it, whose attributes
    in `values` then read back as written.

    When nothing changed: with a `conflict` message, the transaction is rolled back (nothing the
    caller wrote before stays) and Conflict raised (409 on the API, a message on the page);
    without one, False, for a caller that skips the row (the scheduler, a batch)."""
    model = type(row)
    conditions = [model.id == row.id, *where]
    for name, value in expected.items():
        column = getattr(model, name)
        conditions.append(column.is_(None) if value is None else column == value)
    result = db.session.execute(db.update(model).where(*conditions).values(**values)
                                .execution_options(synchronize_session=False))
    if result.rowcount == 1:
        db.session.expire(row, list(values))
        return True
    if conflict is None:
        return False
    db.session.rollback()
    raise Conflict(conflict)
