"""Opaque list cursors: URL-safe base64 of "<kind>:<where the next page starts>". A cursor of
another list, or a forged one, is a ValidationFailed naming the field."""
import base64
import binascii

from partnernet.errors import ValidationFailed


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
