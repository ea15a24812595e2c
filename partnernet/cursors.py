"""Opaque list cursors: URL-safe base64 of "<kind>:<where the next page starts>". A cursor of
another list, or a forged one, is a ValidationFailed naming the field. And the one way a long list
reads a page by keyset (cursor_page): the rows after (or before) a cursor in the list's order, so
that page 100 costs what page 1 costs."""
import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date, datetime, timezone

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from partnernet.errors import ValidationFailed
from partnernet.extensions import db


def encode_cursor(kind: str, value) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{value}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, kind: str) -> str | None:
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    found, _sep, value = text.partition(":")
    if found != kind or not value or "\x00" in value:  # a forged cursor; PostgreSQL takes no NUL
        raise ValidationFailed("Invalid cursor.", {"cursor": "Not a cursor of this list."})
    return value


PER_PAGE = 50
COUNT_CAP = 10_000  # beyond this a list says "10000+": counting a million rows is not worth it


@dataclass
class CursorPage:
    """One page of a list read by keyset. `next_cursor` and `previous_cursor` name the neighbouring
    pages (None: there is none); the page macro `cursor_pager` links them."""
    items: list
    next_cursor: str | None
    previous_cursor: str | None


def cursor_page(statement, order: list[tuple], kind: str, after: str | None = None, before: str | None = None,
                per_page: int = PER_PAGE) -> CursorPage:
    """The page of `statement` (a select of one entity, its filters and eager loads, no ORDER BY)
    after the cursor `after`, or the one ending before `before`, or the first, in one statement.
    `order` is [(key, descending), ...], NOT NULL keys ending in the row's id; `kind` names the list,
    so that another list's cursor is refused."""
    backwards = before is not None and not after
    cursor = before if backwards else after
    if cursor:
        statement = statement.where(beyond(order, cursor_key(cursor, kind, order), backwards))
    statement = statement.add_columns(*(key for key, _descending in order)).order_by(None).order_by(
        *(key.desc() if descending != backwards else key.asc() for key, descending in order))
    rows = db.session.execute(statement.limit(per_page + 1)).unique().all()
    further = len(rows) > per_page
    rows = rows[:per_page]
    if backwards:
        rows.reverse()
    has_next = further if not backwards else bool(cursor)
    has_previous = further if backwards else bool(cursor)
    return CursorPage([row[0] for row in rows],
                      encode_key(kind, rows[-1][1:]) if rows and has_next else None,
                      encode_key(kind, rows[0][1:]) if rows and has_previous else None)


def beyond(order: list[tuple], values: list, backwards: bool = False):
    """SQL: the rows after `values` in `order` (before them when `backwards`). One direction for
    every key: a row comparison, which an index on the keys serves as one range."""
    later = [descending == backwards for _key, descending in order]  # does "after" mean greater?
    keys = [key for key, _descending in order]
    values = [sa.literal(value, key.type) for value, key in zip(values, keys)]  # (True and False too)
    if all(later) or not any(later):
        row, key = sa.tuple_(*keys), sa.tuple_(*values)
        return row > key if later[0] else row < key
    return sa.or_(*(sa.and_(*(keys[j] == values[j] for j in range(i)),
                            keys[i] > values[i] if later[i] else keys[i] < values[i]) for i in range(len(keys))))


def encode_key(kind: str, key) -> str:
    return encode_cursor(kind, json.dumps([v.isoformat() if isinstance(v, date) else v for v in key],
                                          ensure_ascii=False))


def cursor_key(cursor: str, kind: str, order: list[tuple]) -> list:
    """The key values encode_key wrote, each of its key's type; anything else is refused."""
    refused = ValidationFailed(_l("This link to a page of the list is not valid. Start again from the first page."),
                               {"cursor": _l("Not a cursor of this list.")})
    try:
        values = json.loads(decode_cursor(cursor, kind))
        if not isinstance(values, list) or len(values) != len(order):
            raise refused
        types = [key.type.impl if isinstance(key.type, sa.types.TypeDecorator) else key.type for key, _d in order]
        return [key_value(value, type_.python_type) for value, type_ in zip(values, types)]
    except (ValidationFailed, ValueError, TypeError, OverflowError, NotImplementedError):
        raise refused from None


def key_value(value, python_type):
    if python_type is datetime:
        value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            raise ValueError(value)
        return value.astimezone(timezone.utc)  # (year 1 at +08:00 overflows: refused)
    if python_type is date:
        return date.fromisoformat(value)
    if python_type is bool and isinstance(value, bool):
        return value
    if python_type is int and isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63:
        return value
    if python_type is str and isinstance(value, str) and "\x00" not in value and len(value) <= 300:
        return value
    raise ValueError(value)


def count_capped(statement) -> tuple[int, bool]:
    """(how many rows, up to COUNT_CAP; more than that?) of a list's statement, in one statement."""
    rows = statement.with_only_columns(sa.literal(1)).order_by(None).limit(COUNT_CAP + 1)
    counted = db.session.execute(sa.select(sa.func.count()).select_from(rows.subquery())).scalar_one()
    return min(counted, COUNT_CAP), counted > COUNT_CAP
