"""Business-time arithmetic (partnernet.sla): due instants on China's working calendar, pauses, 24x7.

Pure tests: no app, no database. The calendar is the chinese-calendar package's arrangement for
the years it knows and Monday–Friday for the others, as the calendar_day table would give it.
"""
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from partnernet import sla
from partnernet.sla import (ALWAYS, BUSINESS_HOURS, Policy, add_business_minutes, add_business_time,
                            business_minutes_between, business_time_between, pause_excluded)

CHINA = ZoneInfo("Asia/Shanghai")
RESPONSE, COMPLEX = 30, 480


def china_working_day(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return sla.monday_to_friday(day)


def at(*parts) -> datetime:
    """A wall-clock time in China."""
    return datetime(*parts, tzinfo=CHINA)


def due(start, minutes, policy=BUSINESS_HOURS):
    return add_business_minutes(start, minutes, policy, china_working_day)


# -- the examples of the issue --------------------------------------------------------------------

def test_complex_ticket_on_friday_evening_is_due_on_the_make_up_sunday():
    assert due(at(2025, 9, 26, 17, 0), COMPLEX) == at(2025, 9, 28, 16, 0)


def test_national_day_holidays_do_not_count():
    assert due(at(2025, 9, 30, 17, 30), COMPLEX) == at(2025, 10, 9, 16, 30)


def test_response_before_spring_festival_is_due_on_the_make_up_saturday():
    assert due(at(2026, 2, 13, 17, 45), RESPONSE) == at(2026, 2, 14, 9, 15)


@pytest.mark.parametrize("start, minutes", [
    (at(2025, 9, 26, 17, 0), COMPLEX), (at(2025, 9, 30, 17, 30), COMPLEX), (at(2026, 2, 13, 17, 45), RESPONSE)])
def test_24x7_clock_is_plain_arithmetic(start, minutes):
    assert due(start, minutes, ALWAYS) == start + timedelta(minutes=minutes)


def test_due_instants_come_back_in_utc():
    result = due(at(2025, 9, 26, 17, 0), COMPLEX)
    assert result.utcoffset() == timedelta(0)
    assert result == datetime(2025, 9, 28, 8, 0, tzinfo=timezone.utc)


# -- edges ------------------------------------------------------------------------------------------

def test_clock_started_before_opening_counts_from_opening():
    assert due(at(2025, 11, 17, 7, 30), 60) == at(2025, 11, 17, 10, 0)


def test_clock_started_after_closing_counts_from_next_working_morning():
    assert due(at(2025, 11, 17, 20, 0), 60) == at(2025, 11, 18, 10, 0)


def test_clock_started_on_a_weekend_counts_from_monday_morning():
    assert due(at(2025, 11, 15, 11, 0), 30) == at(2025, 11, 17, 9, 30)


def test_clock_running_out_at_closing_is_due_at_closing_not_next_morning():
    assert due(at(2025, 11, 14, 17, 0), 60) == at(2025, 11, 14, 18, 0)


def test_zero_minutes_is_the_start_itself():
    assert due(at(2025, 11, 15, 11, 0), 0) == at(2025, 11, 15, 11, 0)


def test_a_calendar_without_working_days_raises_instead_of_looping():
    with pytest.raises(ValueError, match="no working day"):
        add_business_minutes(at(2025, 1, 1, 9), 30, BUSINESS_HOURS, lambda day: False)


def test_naive_instants_are_refused():
    with pytest.raises(ValueError, match="naive"):
        due(datetime(2025, 11, 17, 9, 0), 30)


def test_other_opening_hours_and_timezones_are_honoured():
    policy = Policy("business_hours", "Europe/Berlin", time(8, 0), time(16, 0))
    start = datetime(2025, 11, 14, 15, 0, tzinfo=ZoneInfo("Europe/Berlin"))  # a Friday
    assert add_business_minutes(start, 120, policy, sla.monday_to_friday) == \
        datetime(2025, 11, 17, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))


# -- pauses (waiting on the customer) ---------------------------------------------------------------

def test_pause_from_friday_evening_to_monday_morning_excludes_only_business_time():
    # 17:00–18:00 on Friday and 09:00–10:00 on Monday; the weekend never counted.
    paused_from, resumed_at = at(2025, 11, 14, 17, 0), at(2025, 11, 17, 10, 0)
    assert business_minutes_between(paused_from, resumed_at, BUSINESS_HOURS, china_working_day) == 120
    original = at(2025, 11, 18, 12, 0)
    moved = pause_excluded(original, paused_from, resumed_at, BUSINESS_HOURS, china_working_day)
    assert moved == at(2025, 11, 18, 14, 0)


def test_pause_from_friday_closing_hour_to_monday_opening_excludes_one_hour():
    moved = pause_excluded(at(2025, 11, 17, 12, 0), at(2025, 11, 14, 17, 0), at(2025, 11, 17, 9, 0),
                           BUSINESS_HOURS, china_working_day)
    assert moved == at(2025, 11, 17, 13, 0)


def test_overnight_pause_moves_nothing():
    original = at(2025, 11, 18, 12, 0)
    assert pause_excluded(original, at(2025, 11, 17, 18, 30), at(2025, 11, 18, 8, 0),
                          BUSINESS_HOURS, china_working_day) == original


def test_pause_over_national_day_moves_the_due_time_past_the_holidays():
    # paused 30 Sep 17:00 (one business hour that day), resumed 9 Oct 09:30 (half an hour)
    moved = pause_excluded(at(2025, 10, 9, 11, 0), at(2025, 9, 30, 17, 0), at(2025, 10, 9, 9, 30),
                           BUSINESS_HOURS, china_working_day)
    assert moved == at(2025, 10, 9, 12, 30)


def test_pause_on_24x7_excludes_the_whole_pause():
    original = at(2025, 11, 18, 12, 0)
    moved = pause_excluded(original, at(2025, 11, 14, 17, 0), at(2025, 11, 17, 10, 0), ALWAYS, china_working_day)
    assert moved == original + timedelta(days=2, hours=17)


def test_pause_ending_before_it_starts_is_refused():
    with pytest.raises(ValueError):
        pause_excluded(at(2025, 11, 18, 12), at(2025, 11, 17, 10), at(2025, 11, 14, 17),
                       BUSINESS_HOURS, china_working_day)


# -- elapsed business time --------------------------------------------------------------------------

def test_minutes_between_is_negative_when_the_end_is_earlier():
    assert business_minutes_between(at(2025, 11, 17, 10), at(2025, 11, 17, 9, 30),
                                    BUSINESS_HOURS, china_working_day) == -30


def test_minutes_between_a_holiday_week_counts_the_make_up_days():
    # Mon 29 Sep to Sun 12 Oct 2025: working 29, 30 Sep, 9, 10, 11 Oct (Saturday 11 Oct made up)
    assert business_minutes_between(at(2025, 9, 29, 0), at(2025, 10, 12, 23), BUSINESS_HOURS,
                                    china_working_day) == 5 * 9 * 60


# -- properties -------------------------------------------------------------------------------------

instants = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 6, 30),
                        timezones=st.just(timezone.utc))
durations = st.integers(min_value=0, max_value=6 * 9 * 60 * 5)  # up to six weeks of business time
policies = st.sampled_from([BUSINESS_HOURS, ALWAYS])
PROPERTY = settings(max_examples=200, deadline=None)


@PROPERTY
@given(start=instants, a=durations, b=durations, policy=policies)
def test_adding_is_monotonic_in_the_duration(start, a, b, policy):
    a, b = sorted((a, b))
    assert due(start, a, policy) <= due(start, b, policy)


@PROPERTY
@given(first=instants, second=instants, minutes=durations, policy=policies)
def test_adding_is_monotonic_in_the_start(first, second, minutes, policy):
    first, second = sorted((first, second))
    assert due(first, minutes, policy) <= due(second, minutes, policy)


@PROPERTY
@given(start=instants, a=durations, b=durations, policy=policies)
def test_adding_a_then_b_equals_adding_a_plus_b(start, a, b, policy):
    assert due(due(start, a, policy), b, policy) == due(start, a + b, policy)


@PROPERTY
@given(start=instants, minutes=st.integers(min_value=1, max_value=6 * 9 * 60 * 5))
def test_a_due_instant_lies_within_working_time_or_at_its_end(start, minutes):
    local = due(start, minutes).astimezone(CHINA)
    assert china_working_day(local.date())
    assert time(9, 0) < local.time() <= time(18, 0)


@PROPERTY
@given(start=instants, minutes=durations, policy=policies)
def test_minutes_between_undoes_adding(start, minutes, policy):
    end = due(start, minutes, policy)
    assert business_minutes_between(start, end, policy, china_working_day) == minutes


@PROPERTY
@given(start=instants, end=instants)
def test_adding_the_business_time_between_reaches_the_end_when_it_lies_in_working_time(start, end):
    start, end = sorted((start, end))
    elapsed = business_time_between(start, end, BUSINESS_HOURS, china_working_day)
    reached = add_business_time(start, elapsed, BUSINESS_HOURS, china_working_day)
    local = end.astimezone(CHINA)
    if elapsed and china_working_day(local.date()) and time(9, 0) < local.time() <= time(18, 0):
        assert reached == end
    else:
        assert reached <= end


@PROPERTY
@given(start=instants, end=instants, policy=policies)
def test_business_time_between_is_antisymmetric(start, end, policy):
    assert business_time_between(start, end, policy, china_working_day) == \
        -business_time_between(end, start, policy, china_working_day)
