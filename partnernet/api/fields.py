"""Marshmallow fields for the API: text both databases can store, China-time instants, money."""
import unicodedata
from datetime import datetime, timezone
from decimal import Decimal

import marshmallow as ma

from partnernet.db_types import MAX_ID
from partnernet.timeclock import CHINA
from partnernet.web import FIRST_DAY, LAST_DAY


def storable_text(value: str) -> None:
    """PostgreSQL cannot store NUL in text and neither database can store a lone surrogate."""
    if any(ch == "\x00" or unicodedata.category(ch) == "Cs" for ch in value):
        raise ma.ValidationError("Must not contain NUL or unpaired surrogate characters.")


class Text(ma.fields.String):
    """A string that both SQLite and PostgreSQL can store as given."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        storable_text(text)
        return text


class Id(ma.fields.Integer):
    """A row id: a positive integer a database column can hold."""

    def __init__(self, **kwargs):
        kwargs.setdefault("strict", True)
        super().__init__(validate=ma.validate.Range(min=1, max=MAX_ID), **kwargs)


class Day(ma.fields.Date):
    """A calendar date (2026-11-24) between 1970 and 2099: date arithmetic on it cannot overflow."""

    def _deserialize(self, value, attr, data, **kwargs):
        day = super()._deserialize(value, attr, data, **kwargs)
        if not FIRST_DAY <= day <= LAST_DAY:
            raise ma.ValidationError(f"Must be between {FIRST_DAY} and {LAST_DAY}.")
        return day


class ChinaDateTime(ma.fields.DateTime):
    """An instant written in China's time with its offset (2026-11-24T09:30:00+08:00)."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(CHINA).replace(microsecond=0).isoformat()

    def _deserialize(self, value, attr, data, **kwargs):
        instant: datetime = super()._deserialize(value, attr, data, **kwargs)
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=CHINA)  # a time without offset is China time
        return instant


class Money(ma.fields.Decimal):
    """An amount in CNY as a decimal string with two places ("58000.00"), more than zero."""

    LARGEST = Decimal("999999999999.99")  # Numeric(14, 2)

    def __init__(self, **kwargs):
        super().__init__(places=2, as_string=True, allow_nan=False, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise self.make_error("invalid")
        amount = super()._deserialize(value, attr, data, **kwargs)
        if Decimal(str(value)).as_tuple().exponent < -2:
            raise ma.ValidationError("At most two decimal places.")
        if not Decimal("0.01") <= amount <= self.LARGEST:
            raise ma.ValidationError(f"Must be between 0.01 and {self.LARGEST}.")
        return amount
