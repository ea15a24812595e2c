"""Business-time arithmetic for the SLA clocks: due instants and elapsed business time on a calendar.

Pure: no Flask, no database, no clock. Instants are timezone-aware and come back in UTC; days
are counted in the policy's timezone; which days are working days is a function passed in.
"""
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable
from zoneinfo import ZoneInfo

IsWorkingDay = Callable[[date], bool]

# A calendar with no working time for this many days in a row is broken, not slow.
MAX_DAYS_WITHOUT_WORKING_TIME = 366 * 10
MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Policy:
    """How a clock runs: 'always' (24x7) or 'business_hours' from day_start to day_end on working days."""

    kind: str
    timezone: str = "Asia/Shanghai"
    day_start: time | None = None
    day_end: time | None = None

    def __post_init__(self):
        if self.kind not in ("business_hours", "always"):
            raise ValueError(f"unknown policy kind {self.kind!r}")
        if self.kind == "business_hours" and not (
                self.day_start is not None and self.day_end is not None and self.day_start < self.day_end):
            raise ValueError("business hours need day_start before day_end")


BUSINESS_HOURS = Policy("business_hours", "Asia/Shanghai", time(9, 0), time(18, 0))
ALWAYS = Policy("always", "Asia/Shanghai")


def monday_to_friday(day: date) -> bool:
    """The calendar used where no one published one."""
    return day.weekday() < 5


def add_business_minutes(start: datetime, minutes: int, policy: Policy, is_working_day: IsWorkingDay) -> datetime:
    """The instant `minutes` business minutes after `start` (see add_business_time)."""
    return add_business_time(start, minutes * MINUTE, policy, is_working_day)


def business_minutes_between(start: datetime, end: datetime, policy: Policy, is_working_day: IsWorkingDay) -> int:
    """Whole business minutes from `start` to `end`, cut towards zero; negative when `end` is earlier."""
    elapsed = business_time_between(start, end, policy, is_working_day)
    whole = abs(elapsed) // MINUTE
    return whole if elapsed >= timedelta(0) else -whole


def add_business_time(start: datetime, duration: timedelta, policy: Policy, is_working_day: IsWorkingDay) -> datetime:
    """The instant `duration` of business time after `start`, in UTC.

    Time before opening counts from opening; after closing or on a day off, from the next working
    day's opening. A clock that runs out exactly at closing is due at closing (18:00), not at the
    next opening, so for a non-zero duration the result lies inside working time or at its end.
    A zero duration gives `start` itself.
    """
    start = as_utc(start)
    if duration < timedelta(0):
        raise ValueError("a duration to add cannot be negative")
    if policy.kind == "always" or not duration:
        return start + duration
    remaining = duration
    for opening, closing in working_windows(start, policy, is_working_day):
        begin = max(start, opening)
        if begin >= closing:
            continue
        if remaining <= closing - begin:
            return begin + remaining
        remaining -= closing - begin
    raise AssertionError("unreachable: working_windows never ends")  # pragma: no cover


def business_time_between(start: datetime, end: datetime, policy: Policy, is_working_day: IsWorkingDay) -> timedelta:
    """The business time from `start` to `end`, exact; negative when `end` is before `start`."""
    start, end = as_utc(start), as_utc(end)
    if end < start:
        return -business_time_between(end, start, policy, is_working_day)
    if policy.kind == "always":
        return end - start
    zone = ZoneInfo(policy.timezone)
    total = timedelta(0)
    day, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    while day <= last:
        if is_working_day(day):
            opening, closing = window_of(day, policy, zone)
            overlap = min(end, closing) - max(start, opening)
            if overlap > timedelta(0):
                total += overlap
        day += timedelta(days=1)
    return total


def pause_excluded(due: datetime, paused_from: datetime, resumed_at: datetime,
                   policy: Policy, is_working_day: IsWorkingDay) -> datetime:
    """The due instant moved later by exactly the business time between pausing and resuming.

    Time waiting on the customer does not count: a ticket paused Friday 17:00 and resumed Monday
    10:00 (business hours 09:00–18:00) gets two business hours more; paused only overnight, none.
    """
    if as_utc(resumed_at) < as_utc(paused_from):
        raise ValueError("a pause cannot end before it starts")
    paused = business_time_between(paused_from, resumed_at, policy, is_working_day)
    return add_business_time(due, paused, policy, is_working_day)


def working_windows(start: datetime, policy: Policy, is_working_day: IsWorkingDay):
    """(opening, closing) in UTC of each working day from `start`'s local day on, in order, without end."""
    zone = ZoneInfo(policy.timezone)
    day = start.astimezone(zone).date()
    days_without_working_time = 0
    while True:
        if is_working_day(day):
            days_without_working_time = 0
            yield window_of(day, policy, zone)
        else:
            days_without_working_time += 1
            if days_without_working_time > MAX_DAYS_WITHOUT_WORKING_TIME:
                raise ValueError(f"the calendar has no working day in the {MAX_DAYS_WITHOUT_WORKING_TIME} days "
                                 f"before {day.isoformat()}")
        day += timedelta(days=1)


def window_of(day: date, policy: Policy, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """A working day's opening and closing as UTC instants (wall-clock times in the policy's zone)."""
    opening = datetime.combine(day, policy.day_start, tzinfo=zone).astimezone(timezone.utc)
    closing = datetime.combine(day, policy.day_end, tzinfo=zone).astimezone(timezone.utc)
    return opening, closing


def as_utc(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("naive datetime given; pass an aware datetime")
    return instant.astimezone(timezone.utc)
