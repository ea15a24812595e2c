"""The working-day calendar table: seeded from chinese-calendar, Monday–Friday where a year has no
data (and the dashboard is told), HQ's manual edits, a year's CSV import, the `calendar` commands.
"""
from datetime import date

import sqlalchemy as sa

from partnernet.extensions import db
from partnernet.settings.calendar import (import_year_csv, load_calendar, package_years, set_day,
                                          years_without_data)
from partnernet.settings.models import CalendarDay
from tests import factories

# An example arrangement for 2027 in the shape the State Council publishes (not the real one:
# it is not out yet): weekday holidays, and weekend days made up as working days.
ARRANGEMENT_2027 = """date,is_working,note
2027-01-01,0,元旦
2027-02-05,0,春节
2027-02-06,0,春节
2027-02-08,0,春节
2027-02-09,0,春节
2027-02-10,0,春节
2027-02-11,0,春节
2027-02-20,1,调休
2027-10-01,0,国庆节
2027-10-04,0,国庆节
2027-10-05,0,国庆节
2027-10-06,0,国庆节
2027-10-07,0,国庆节
2027-10-09,1,调休
"""


def stored(day: date) -> CalendarDay | None:
    db.session.expire_all()
    return db.session.get(CalendarDay, day)


def days_in(year: int) -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(CalendarDay).where(
        CalendarDay.day.between(date(year, 1, 1), date(year, 12, 31)))).scalar_one()


# -- the seed -------------------------------------------------------------------------------------

def test_migration_seeds_make_up_sunday_as_working_and_national_day_as_off(app):
    calendar = load_calendar(date(2025, 1, 1), date(2026, 12, 31))
    assert calendar.is_working(date(2025, 9, 28))        # Sunday, 调休
    assert not calendar.is_working(date(2025, 10, 1))    # Wednesday, 国庆节
    assert calendar.is_working(date(2026, 2, 14))        # Saturday before the Spring Festival
    assert stored(date(2025, 10, 1)).note == "国庆节"
    assert stored(date(2025, 9, 28)).note == "调休"
    assert stored(date(2025, 9, 28)).source == "package"


def test_migration_stores_every_day_of_every_year_the_package_knows(app):
    years = package_years()
    assert years[0] == 2004 and 2026 in years
    total = db.session.execute(sa.select(sa.func.count()).select_from(CalendarDay)).scalar_one()
    assert total == (date(years[-1], 12, 31) - date(years[0], 1, 1)).days + 1
    assert load_calendar(date(years[0], 1, 1), date(years[-1], 1, 1)).missing_years(years) == []


# -- a year without data ---------------------------------------------------------------------------

def test_year_without_data_falls_back_to_monday_to_friday(app):
    calendar = load_calendar(date(2031, 9, 1), date(2031, 10, 31))
    assert calendar.is_working(date(2031, 10, 1))        # a Wednesday: no one said it is a holiday
    assert not calendar.is_working(date(2031, 10, 4))    # a Saturday
    assert calendar.missing_years([2031]) == [2031]


def test_dashboard_is_told_which_years_have_no_calendar(app):
    assert years_without_data(date(2026, 11, 25)) == [2027]
    assert years_without_data(date(2030, 3, 1)) == [2030, 2031]
    assert years_without_data(date(2025, 3, 1)) == []


def test_one_manual_day_does_not_make_a_year_count_as_having_data(app):
    set_day(date(2031, 1, 1), False, "元旦", None)
    assert years_without_data(date(2031, 1, 1)) == [2031, 2032]


# -- a year's CSV import -----------------------------------------------------------------------------

def test_csv_import_of_next_year_writes_the_whole_year(app):
    result = import_year_csv(ARRANGEMENT_2027)
    assert result.ok, result.errors
    assert (result.year, result.days_written) == (2027, 365)
    assert (result.days_off_on_weekdays, result.working_weekend_days) == (11, 2)
    assert days_in(2027) == 365
    calendar = load_calendar(date(2027, 1, 1), date(2027, 12, 31))
    assert not calendar.is_working(date(2027, 10, 1))
    assert calendar.is_working(date(2027, 10, 9))        # Saturday, made up
    assert calendar.is_working(date(2027, 10, 8))        # a Friday the file does not list
    assert not calendar.is_working(date(2027, 10, 10))   # a Sunday the file does not list
    assert stored(date(2027, 2, 20)).source == "import" and stored(date(2027, 2, 20)).note == "调休"
    assert years_without_data(date(2026, 12, 20)) == []


def test_csv_import_replaces_earlier_rows_of_the_year(app):
    set_day(date(2027, 3, 1), False, "typo", None)
    assert import_year_csv(ARRANGEMENT_2027).ok
    assert stored(date(2027, 3, 1)).is_working and stored(date(2027, 3, 1)).source == "import"
    assert days_in(2027) == 365


def test_csv_import_with_a_bad_row_writes_nothing_and_names_the_row(app):
    text = ARRANGEMENT_2027.replace("2027-10-04,0,国庆节", "2027-10-04,maybe,国庆节")
    result = import_year_csv(text)
    assert not result.ok
    assert [(e.row, "is_working" in e.message) for e in result.errors] == [(11, True)]
    assert days_in(2027) == 0


def test_csv_import_reports_bad_dates_other_years_and_duplicates_by_line(app):
    text = "date,is_working\n2027-01-01,0\n2027-02-30,0\n2028-01-03,1\n2027-01-01,0\n"
    result = import_year_csv(text)
    assert [error.row for error in result.errors] == [3, 4, 5]
    assert "bad date" in result.errors[0].message
    assert "outside 2027" in result.errors[1].message
    assert "twice" in result.errors[2].message and "line 2" in result.errors[2].message
    assert days_in(2027) == 0 and days_in(2028) == 0


def test_csv_import_needs_the_header(app):
    result = import_year_csv("2027-01-01,0\n")
    assert [error.row for error in result.errors] == [1]


# -- HQ edits one day ----------------------------------------------------------------------------------

def test_hq_can_mark_a_single_day(app):
    hq_admin = factories.user("hq_admin")
    set_day(date(2026, 12, 31), False, "公司年会", hq_admin.id)
    row = stored(date(2026, 12, 31))
    assert (row.is_working, row.note, row.source) == (False, "公司年会", "manual")
    assert not load_calendar(date(2026, 12, 31), date(2026, 12, 31)).is_working(date(2026, 12, 31))


# -- the commands --------------------------------------------------------------------------------------

def test_calendar_due_prints_the_due_instant_in_china_time(app):
    result = app.test_cli_runner().invoke(args=["calendar", "due", "2025-09-26T17:00", "480"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "2025-09-28T16:00:00+08:00"


def test_calendar_due_on_24x7_and_with_an_offset(app):
    result = app.test_cli_runner().invoke(
        args=["calendar", "due", "2025-09-26T09:00:00+00:00", "480", "--policy", "24x7"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "2025-09-27T01:00:00+08:00"


def test_calendar_due_warns_about_a_year_without_data(app):
    result = app.test_cli_runner().invoke(args=["calendar", "due", "2031-10-01T17:30", "60"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "2031-10-02T09:30:00+08:00"
    assert "2031" in result.stderr


def test_calendar_due_refuses_an_unknown_policy(app):
    result = app.test_cli_runner().invoke(args=["calendar", "due", "2025-09-26T17:00", "480", "--policy", "gold"])
    assert result.exit_code == 2
    assert "gold" in result.output


def test_calendar_import_and_set_commands(app, tmp_path):
    path = tmp_path / "2027.csv"
    path.write_text(ARRANGEMENT_2027, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["calendar", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "2027: 365 days written" in result.stdout
    result = app.test_cli_runner().invoke(args=["calendar", "set", "2027-10-08", "off", "--note", "国庆节"])
    assert result.exit_code == 0, result.output
    assert stored(date(2027, 10, 8)).is_working is False and stored(date(2027, 10, 8)).source == "manual"


def test_calendar_import_command_with_a_bad_file_fails_and_writes_nothing(app, tmp_path):
    path = tmp_path / "2027.csv"
    path.write_text("date,is_working\n2027-13-01,0\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["calendar", "import", str(path)])
    assert result.exit_code == 1
    assert "line 2" in result.stderr and "nothing written" in result.stderr
    assert days_in(2027) == 0
