"""Lists: `?limit=` and an opaque `?cursor=` → {"items": [...], "next_cursor": "…" | null}.

A cursor is URL-safe base64 of where the next page starts: after a key in the list's keyset order
("k:<key>", or "<list>:<sort keys>" for a list in another order than its id's). Clients treat it
as opaque. Every list pages by keyset: a deep page costs what the first does.
"""
from functools import cache

import marshmallow as ma

from partnernet.api.fields import Text
from partnernet.cursors import cursor_page, decode_cursor, encode_cursor  # noqa: F401  (the API's lists use them from here)
from partnernet.errors import ValidationFailed
from partnernet.extensions import db

DEFAULT_LIMIT, MAX_LIMIT = 50, 500


class ListArgs(ma.Schema):
    limit = ma.fields.Integer(load_default=DEFAULT_LIMIT, validate=ma.validate.Range(min=1, max=MAX_LIMIT),
                              metadata={"description": f"Items per page (default {DEFAULT_LIMIT}, at most {MAX_LIMIT})."})
    cursor = Text(validate=ma.validate.Length(max=200),
                  metadata={"description": "`next_cursor` of the previous page."})


def keyset_page(statement, column, args: dict, descending: bool = False, integer: bool = True,
                scalars: bool = True) -> dict:
    """The page of an ordered statement after the cursor's key; `column` is the unique sort key.
    `scalars=False`: the items are the statement's rows, the key read from each row's first entity."""
    limit = args["limit"]
    after = decode_cursor(args.get("cursor"), "k")
    if after is not None:
        if integer:
            if not after.isdigit() or len(after) > 10:
                raise ValidationFailed("Invalid cursor.", {"cursor": "Not a cursor of this list."})
            after = int(after)
        statement = statement.where(column < after if descending else column > after)
    result = db.session.execute(statement.limit(limit + 1))
    rows = list(result.scalars() if scalars else result.all())
    more = len(rows) > limit
    rows = rows[:limit]
    if not more:
        return {"items": rows, "next_cursor": None}
    last = rows[-1] if scalars else rows[-1][0]
    return {"items": rows, "next_cursor": encode_cursor("k", getattr(last, column.key))}


def ordered_page(statement, order: list[tuple], kind: str, args: dict) -> dict:
    """The page of a statement in a keyset order of several keys (cursors.cursor_page) after the cursor."""
    page = cursor_page(statement, order, kind, after=args.get("cursor"), per_page=args["limit"])
    return {"items": page.items, "next_cursor": page.next_cursor}


@cache
def page_schema(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """The list envelope for one kind of item, named after it in the OpenAPI document."""
    return type(item_schema.__name__ + "Page", (ma.Schema,), {
        "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
        "next_cursor": ma.fields.String(required=True, allow_none=True),
    })
