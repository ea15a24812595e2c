"""China's working-day calendar in the calendar_day table: seeding, lookups, HQ's edits and CSV import.

A day in the table says whether it is a working day; a day not in it falls back to Monday–Friday.
A year counts as having data only when the table holds every one of its days (the package seed
and a CSV import write whole years), so a single manual edit does not hide a missing year.
"""
import calendar as gregorian
import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext

from partnernet import sla
from partnernet.errors import NotFound
from partnernet.extensions import db
from partnernet.settings import changes
from partnernet.settings.cache import cached, watch
from partnernet.settings.models import CalendarDay, SlaPolicy
from partnernet.timeclock import now_utc

watch(CalendarDay)


MAKE_UP_DAY_NOTE = "调休"
NOTE_LENGTH = 64
DATE_PATTERN = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
YES = ("1", "yes", "y", "true", "working", "work", "是", "班", "上班")
NO = ("0", "no", "n", "false", "off", "holiday", "否", "休", "休息")

# A lightweight table so that migrations can write days without the ORM models.
calendar_day_table = sa.table(
    "calendar_day",
    sa.column("day", sa.Date), sa.column("is_working", sa.Boolean), sa.column("note", sa.String),
    sa.column("source", sa.String), sa.column("updated_at", sa.DateTime),
)


def days_of_year(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=n) for n in range(366 if gregorian.isleap(year) else 365)]


# --- reading the calendar ------------------------------------------------------------------------

class WorkingCalendar:
    """The table's days for whole years, with Monday–Friday for days it does not hold."""

    def __init__(self, first: date, last: date, working: dict[date, bool]):
        self.first, self.last = first, last
        self.working = working

    def is_working(self, day: date) -> bool:
        if not self.first <= day <= self.last:
            raise ValueError(f"{day.isoformat()} is outside the loaded calendar "
                             f"({self.first.isoformat()} to {self.last.isoformat()})")
        held = self.working.get(day)
        return sla.monday_to_friday(day) if held is None else held

    def missing_years(self, years) -> list[int]:
        """Which of `years` the table does not hold completely (those fall back to Monday–Friday)."""
        held = Counter(day.year for day in self.working)
        missing = []
        for year in sorted(set(years)):
            if not self.first.year <= year <= self.last.year:
                raise ValueError(f"{year} is outside the loaded calendar")
            if held[year] < len(days_of_year(year)):
                missing.append(year)
        return missing


def load_calendar(start: date, end: date) -> WorkingCalendar:
    """The calendar for the whole years from `start`'s to `end`'s."""
    first, last = date(start.year, 1, 1), date(end.year, 12, 31)
    return WorkingCalendar(first, last, {day: working for day, working in stored_days().items() if first <= day <= last})


def load_days(first: date, last: date) -> WorkingCalendar:
    """The calendar for exactly `first` to `last` (for arithmetic; years need load_calendar)."""
    return WorkingCalendar(first, last, stored_days())


def stored_days() -> dict[date, bool]:
    """Every day the table holds (a few thousand), kept per process for a few seconds
    (partnernet.settings.cache)."""
    return cached("calendar_days", lambda: dict(db.session.connection().execute(
        sa.select(CalendarDay.day, CalendarDay.is_working)).all()))


def calendar_for_due(start: datetime, minutes: int, policy: sla.Policy) -> WorkingCalendar:
    """A calendar long enough to find the due instant `minutes` business minutes after `start`:
    the days from the day before `start` (local) on, in one small query."""
    local_day = start.astimezone(ZoneInfo(policy.timezone)).date()
    if policy.kind == "always":
        return load_days(local_day - timedelta(days=1), local_day + timedelta(days=1))
    day_minutes = (datetime.combine(local_day, policy.day_end)
                   - datetime.combine(local_day, policy.day_start)) // sla.MINUTE
    # Twice the working days needed, plus a month: more than weekends and the longest holiday.
    span = (minutes // day_minutes + 2) * 2 + 31
    return load_days(local_day - timedelta(days=1), local_day + timedelta(days=span))


def years_without_data(today: date) -> list[int]:
    """This year and next year, those the table does not hold completely (for the dashboard warning)."""
    years = (today.year, today.year + 1)
    year = sa.cast(sa.extract("year", CalendarDay.day), sa.Integer)
    held = dict(db.session.execute(
        sa.select(year, sa.func.count())
        .where(CalendarDay.day.between(date(years[0], 1, 1), date(years[-1], 12, 31)))
        .group_by(year)).all())
    return [y for y in years if held.get(y, 0) < len(days_of_year(y))]


def policy_of(row: SlaPolicy) -> sla.Policy:
    """The pure policy the clock arithmetic takes, from a stored SLA policy."""
    return sla.Policy(row.kind, row.timezone, row.day_start, row.day_end)


def load_policy(code: str) -> SlaPolicy:
    row = db.session.execute(sa.select(SlaPolicy).where(SlaPolicy.code == code)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no SLA policy with code {code!r}")
    return row


# --- HQ's edits ----------------------------------------------------------------------------------

def set_day(day: date, is_working: bool, note: str | None, user_id: int | None) -> CalendarDay:
    """Mark one day as a working day or a day off (a manual edit; wins until a CSV import of its year)."""
    note = (note or "").strip()[:NOTE_LENGTH] or None
    row = db.session.get(CalendarDay, day)
    before = None if row is None else {"is_working": row.is_working, "note": row.note}
    if row is None:
        row = CalendarDay(day=day)
        db.session.add(row)
    now = now_utc()
    changes.record("calendar_day_set", user_id, now, target=day.isoformat(),
                   **{"from": before, "to": {"is_working": is_working, "note": note}})
    row.is_working, row.note, row.source, row.updated_at = is_working, note, "manual", now
    db.session.commit()
    return row


@dataclass
class CalendarRowError:
    row: int          # the line in the file, the header being line 1
    message: str


@dataclass
class YearImport:
    """What a CSV import did: the year written, or the errors (and then nothing was written)."""
    year: int | None = None
    days_written: int = 0
    days_off_on_weekdays: int = 0
    working_weekend_days: int = 0
    errors: list[CalendarRowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def import_year_csv(text: str | bytes, user_id: int | None = None) -> YearImport:
    """Replace one year of the calendar with the State Council's arrangement from a CSV file.

    Columns: `date,is_working[,note]` with a header row; dates as 2027-10-01 (or 2027/10/1),
    is_working as 1/0, yes/no, true/false, working/off, 是/否 or 班/休. The file lists the days
    that differ from Monday–Friday — holidays on weekdays and make-up working days (调休) on
    weekends — and may list others (a weekend inside a holiday, to carry its note). All dates must
    lie in one year. The import writes that whole year, every day, from the file where it lists
    the day and from Monday–Friday otherwise, with source 'import'; earlier rows of the year,
    manual edits included, are replaced. All or nothing: with any bad row (bad date, bad boolean,
    a date outside the year, a date listed twice, a note too long) nothing is written and each
    error names its line. `user_id`: who imported it (None: the command line), for the change log.
    """
    result = YearImport()
    if isinstance(text, bytes):
        try:
            text = decode_csv(text)
        except UnicodeDecodeError:
            text = None
    if text is None or "\x00" in text:  # not text (a spreadsheet, an image, UTF-16): one clear error
        result.errors.append(CalendarRowError(1, gettext("The file is not a CSV file in UTF-8 or GB18030.")))
        return result
    try:
        lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))
    except csv.Error:  # a cell over the csv module's limit (128 kB)
        result.errors.append(CalendarRowError(1, gettext("A cell of the file is longer than %(count)d characters.",
                                                         count=csv.field_size_limit())))
        return result
    header = [cell.strip().lower() for cell in lines[0]] if lines else []
    if "date" not in header or "is_working" not in header:
        result.errors.append(CalendarRowError(1, gettext("the first line must name the columns: date,is_working[,note]")))
        return result
    column = {name: header.index(name) for name in ("date", "is_working", "note") if name in header}

    listed: dict[date, tuple[int, bool, str | None]] = {}
    for number, line in enumerate(lines[1:], start=2):
        if not any(cell.strip() for cell in line):
            continue
        cells = {name: line[i].strip() if i < len(line) else "" for name, i in column.items()}
        day = parse_date(cells["date"])
        if day is None:
            result.errors.append(CalendarRowError(number, gettext("bad date %(value)r: write it as 2027-10-01", value=cells["date"])))
        is_working = parse_boolean(cells["is_working"])
        if is_working is None:
            result.errors.append(CalendarRowError(
                number, gettext("bad is_working %(value)r: write 1 (working day) or 0 (day off)", value=cells["is_working"])))
        note = cells.get("note") or None
        if note and len(note) > NOTE_LENGTH:
            result.errors.append(CalendarRowError(number, gettext("the note is longer than %(n)d characters", n=NOTE_LENGTH)))
        if day is None:
            continue
        if day in listed:
            result.errors.append(CalendarRowError(
                number, gettext("%(day)s is listed twice (first on line %(line)d)", day=day.isoformat(), line=listed[day][0])))
            continue
        listed[day] = (number, bool(is_working), note)

    if not listed and not result.errors:
        result.errors.append(CalendarRowError(1, gettext("the file lists no days")))
    if listed:
        # The year is the one most rows name; a row in any other year is the mistake.
        counts = Counter(day.year for day in listed).most_common()
        year = min(y for y, n in counts if n == counts[0][1])
        for day, (number, _, _) in sorted(listed.items(), key=lambda item: item[1][0]):
            if day.year != year:
                result.errors.append(CalendarRowError(
                    number, gettext("%(day)s is outside %(year)d: a file holds one year", day=day.isoformat(), year=year)))
        result.year = year
    if result.errors:
        result.errors.sort(key=lambda error: error.row)
        return result

    now = now_utc()
    rows = []
    for day in days_of_year(year):
        is_working, note = (listed[day][1], listed[day][2]) if day in listed else (sla.monday_to_friday(day), None)
        rows.append({"day": day, "is_working": is_working, "note": note, "source": "import", "updated_at": now})
        if not is_working and day.weekday() < 5:
            result.days_off_on_weekdays += 1
        if is_working and day.weekday() >= 5:
            result.working_weekend_days += 1
    db.session.execute(sa.delete(CalendarDay).where(CalendarDay.day.between(date(year, 1, 1), date(year, 12, 31))))
    db.session.execute(sa.insert(CalendarDay), rows)
    result.days_written = len(rows)
    changes.record("calendar_imported", user_id, now, target=year, days=result.days_written,
                   days_off_on_weekdays=result.days_off_on_weekdays, working_weekend_days=result.working_weekend_days)
    db.session.commit()
    return result


def decode_csv(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("gb18030")  # what Excel in Chinese saves as "CSV"


def parse_date(text: str) -> date | None:
    match = DATE_PATTERN.match(text)
    if not match:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def parse_boolean(text: str) -> bool | None:
    value = text.strip().lower()
    return True if value in YES else False if value in NO else None


# --- seeding from the chinese-calendar package ---------------------------------------------------

def package_years() -> list[int]:
    """The years the installed chinese-calendar package knows the arrangement of."""
    import chinese_calendar
    known = list(chinese_calendar.holidays) + list(chinese_calendar.workdays)
    years = []
    for year in range(min(known).year, max(known).year + 1):
        try:
            chinese_calendar.is_workday(date(year, 1, 1))
        except NotImplementedError:
            continue
        years.append(year)
    return years


def package_days(years) -> list[dict]:
    """Every day of `years` as the package has it: working or not, the holiday's Chinese name, 调休."""
    import chinese_calendar
    chinese_names = {holiday.value: holiday.chinese for holiday in chinese_calendar.Holiday}
    days = []
    for year in years:
        for day in days_of_year(year):
            on_holiday, name = chinese_calendar.get_holiday_detail(day)
            if not on_holiday:
                note = MAKE_UP_DAY_NOTE if day in chinese_calendar.workdays else None
            else:
                note = chinese_names.get(name, name)
            days.append({"day": day, "is_working": not on_holiday, "note": note})
    return days


def seed_from_package(connection) -> int:
    """Insert every day of every year the package knows that the table does not hold yet.

    Rows already there (an import, a manual edit) are kept, so running it again after upgrading
    the package only adds the new year. Returns the number of days inserted.
    """
    years = package_years()
    table = calendar_day_table
    held = set(connection.execute(sa.select(table.c.day).where(
        table.c.day.between(date(years[0], 1, 1), date(years[-1], 12, 31)))).scalars())
    now = now_utc().replace(tzinfo=None)  # the column holds naive UTC
    rows = [dict(day, source="package", updated_at=now) for day in package_days(years) if day["day"] not in held]
    if rows:
        connection.execute(table.insert(), rows)
    return len(rows)
