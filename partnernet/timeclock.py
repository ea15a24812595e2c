"""The product's wall clock: instants are UTC, days are counted in China (Asia/Shanghai)."""
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def today_in_china(now: datetime | None = None) -> date:
    return (now or now_utc()).astimezone(CHINA).date()
