"""Column types and constraints shared by the models: UTC instants, enumeration checks, and the
largest id a column holds (which pages, forms and the API check ids against)."""
from datetime import timezone

import sqlalchemy as sa
import sqlalchemy.ext.compiler

from partnernet.timeclock import now_utc as utcnow  # noqa: F401  (the models' default)

MAX_ID = 2**31 - 1  # the largest id both databases' integer columns hold


class UTCDateTime(sa.types.TypeDecorator):
    """An instant stored as naive UTC and always returned timezone-aware.

    Storing naive UTC keeps SQLite and PostgreSQL identical; refusing naive input keeps a
    local time from ever being stored as if it were UTC.
    """

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; pass an aware datetime (UTC)")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)



def one_of(column: str, values, name: str | None = None) -> sa.CheckConstraint:
    """A CHECK constraint keeping an enumeration column within its values."""
    listed = ", ".join("'%s'" % v for v in values)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=name or f"{column}_valid")


class china_date(sa.sql.functions.GenericFunction):
    """SQL: the calendar day in China (UTC+8, no daylight saving) of a stored UTC instant."""

    type = sa.Date()
    inherit_cache = True
    name = "china_date"


@sa.ext.compiler.compiles(china_date, "sqlite")
def _china_date_sqlite(element, compiler, **kw):
    return "date(%s, '+8 hours')" % compiler.process(element.clauses, **kw)


@sa.ext.compiler.compiles(china_date, "postgresql")
def _china_date_postgresql(element, compiler, **kw):
    return "CAST((%s) + INTERVAL '8 hours' AS DATE)" % compiler.process(element.clauses, **kw)
