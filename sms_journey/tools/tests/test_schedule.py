"""Tests for sms_journey.tools.schedule."""

from datetime import date, datetime, timedelta

import pytest
import pytz
from hypothesis import given
from hypothesis import strategies as st

from sms_journey.tools.schedule import (
    UnknownTimezone,
    birthday_in_year,
    cap_release_time,
    is_birthday,
    is_within_window,
    local_datetime_to_utc,
    month_days_celebrated_on,
    next_allowed_time,
    next_anniversary,
    pick_timezone,
)

TIMEZONES = (
    "Europe/Rome", "Europe/Bucharest", "America/New_York", "Asia/Kolkata",
    "Pacific/Chatham", "Australia/Lord_Howe", "UTC", "America/St_Johns", "Europe/Dublin",
)  # fmt: skip
quarter_hours = st.integers(0, 96).map(lambda q: q / 4)
window_hours = st.one_of(quarter_hours, st.floats(0, 24, allow_nan=False))


def _transitions_near(year_from=2020, year_to=2030):
    """UTC instants of DST transitions of the test zones, to centre generated times on."""
    instants = []
    for name in TIMEZONES:
        tz = pytz.timezone(name)
        for moment in getattr(tz, "_utc_transition_times", []):
            if year_from <= moment.year <= year_to:
                instants.append(moment)
    return sorted(instants)


TRANSITIONS = _transitions_near()
plain_times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2037, 12, 31))
near_transitions = st.builds(
    lambda base, minutes: base + timedelta(minutes=minutes),
    st.sampled_from(TRANSITIONS),
    st.integers(-36 * 60, 36 * 60),
)
utc_times = st.one_of(plain_times, near_transitions)


# --- next_allowed_time / is_within_window ---------------------------------------------


@given(utc_times, st.sampled_from(TIMEZONES), window_hours, window_hours)
def test_next_allowed_time_properties(now, tz_name, start, end):
    result = next_allowed_time(now, tz_name, start, end)
    assert result.tzinfo is None
    assert result >= now
    assert is_within_window(result, tz_name, start, end)
    if is_within_window(now, tz_name, start, end):
        assert result == now
    else:
        assert result.second == result.microsecond == 0
        # No earlier whole minute in between is allowed (the result is the next start).
        probe = result - timedelta(minutes=1)
        assert probe < now or not is_within_window(probe, tz_name, start, end)
        assert result - now <= timedelta(hours=49)


@given(utc_times, st.sampled_from(TIMEZONES), quarter_hours)
def test_equal_bounds_mean_always_allowed(now, tz_name, hour):
    assert is_within_window(now, tz_name, hour, hour)
    assert next_allowed_time(now, tz_name, hour, hour) == now
    assert next_allowed_time(now, tz_name, 0, 24) == now


@given(utc_times, st.sampled_from(TIMEZONES), quarter_hours, quarter_hours)
def test_crossing_window_is_complement_of_normal_one(now, tz_name, start, end):
    if start % 24 == end % 24:
        return
    assert is_within_window(now, tz_name, start, end) != is_within_window(now, tz_name, end, start)


def test_next_allowed_time_examples():
    # Rome is UTC+1 in January.
    assert next_allowed_time(datetime(2024, 1, 10, 12, 0), "Europe/Rome", 8, 20) == datetime(
        2024, 1, 10, 12, 0
    )
    assert next_allowed_time(datetime(2024, 1, 10, 5, 30, 12), "Europe/Rome", 8, 20) == datetime(
        2024, 1, 10, 7, 0
    )
    assert next_allowed_time(datetime(2024, 1, 10, 19, 0), "Europe/Rome", 8, 20.5) == datetime(
        2024, 1, 10, 19, 0
    )
    assert next_allowed_time(datetime(2024, 1, 10, 19, 30), "Europe/Rome", 8, 20.5) == datetime(
        2024, 1, 11, 7, 0
    )
    # Kolkata is UTC+5:30.
    assert next_allowed_time(datetime(2024, 1, 10, 0, 0), "Asia/Kolkata", 9, 21) == datetime(
        2024, 1, 10, 3, 30
    )


def test_window_crossing_midnight():
    # 22:00-06:00 in Bucharest (UTC+2 in winter).
    assert is_within_window(datetime(2024, 1, 10, 21, 0), "Europe/Bucharest", 22, 6)  # 23:00
    assert is_within_window(datetime(2024, 1, 10, 2, 0), "Europe/Bucharest", 22, 6)  # 04:00
    assert not is_within_window(datetime(2024, 1, 10, 10, 0), "Europe/Bucharest", 22, 6)
    assert next_allowed_time(datetime(2024, 1, 10, 10, 0), "Europe/Bucharest", 22, 6) == datetime(
        2024, 1, 10, 20, 0
    )


def test_window_end_is_exclusive():
    assert is_within_window(datetime(2024, 1, 10, 18, 59, 59), "Europe/Rome", 8, 20)
    assert not is_within_window(datetime(2024, 1, 10, 19, 0), "Europe/Rome", 8, 20)
    assert is_within_window(datetime(2024, 1, 10, 7, 0), "Europe/Rome", 8, 20)


def test_start_in_spring_forward_gap_moves_to_first_valid_instant():
    # 2024-03-31 Rome: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
    now = datetime(2024, 3, 30, 23, 0)  # 00:00 local
    assert next_allowed_time(now, "Europe/Rome", 2.5, 6) == datetime(2024, 3, 31, 1, 0)
    assert local_datetime_to_utc(date(2024, 3, 31), 2.5, "Europe/Rome") == datetime(
        2024, 3, 31, 1, 0
    )


def test_window_wholly_inside_gap_is_skipped_that_day():
    now = datetime(2024, 3, 30, 23, 0)
    # 02:15-02:45 does not exist on 31 March: next day's 02:15 CEST (00:15 UTC).
    assert next_allowed_time(now, "Europe/Rome", 2.25, 2.75) == datetime(2024, 4, 1, 0, 15)


def test_lord_howe_half_hour_gap():
    # 2024-10-06 Lord Howe: 02:00 +10:30 jumps to 02:30 +11 (15:30 UTC on the 5th).
    assert local_datetime_to_utc(date(2024, 10, 6), 2.25, "Australia/Lord_Howe") == datetime(
        2024, 10, 5, 15, 30
    )


def test_ambiguous_time_takes_first_occurrence():
    # 2024-11-03 New York: 01:30 happens at 05:30 UTC (EDT) and 06:30 UTC (EST).
    assert local_datetime_to_utc(date(2024, 11, 3), 1.5, "America/New_York") == datetime(
        2024, 11, 3, 5, 30
    )


def test_aware_now_is_accepted():
    aware = pytz.timezone("Europe/Rome").localize(datetime(2024, 1, 10, 6, 0))
    assert next_allowed_time(aware, "Europe/Rome", 8, 20) == datetime(2024, 1, 10, 7, 0)


@pytest.mark.parametrize("name", ["Mars/Olympus", "", None, False, "Etc/Unknown"])
def test_unknown_timezone(name):
    with pytest.raises(UnknownTimezone):
        next_allowed_time(datetime(2024, 1, 1), name, 8, 20)
    with pytest.raises(ValueError):
        is_within_window(datetime(2024, 1, 1), name, 8, 20)


@pytest.mark.parametrize(("start", "end"), [(-1, 8), (8, 25), (8, float("nan"))])
def test_bad_window_bounds(start, end):
    with pytest.raises(ValueError):
        next_allowed_time(datetime(2024, 1, 1), "UTC", start, end)


def test_local_datetime_to_utc():
    assert local_datetime_to_utc(date(2024, 7, 1), 9.5, "Europe/Rome") == datetime(
        2024, 7, 1, 7, 30
    )
    assert local_datetime_to_utc(date(2024, 7, 1), 24, "UTC") == datetime(2024, 7, 2)


@given(st.dates(date(2000, 1, 1), date(2037, 12, 31)), quarter_hours, st.sampled_from(TIMEZONES))
def test_local_datetime_to_utc_round_trip(day, hour, tz_name):
    result = local_datetime_to_utc(day, hour, tz_name)
    local = pytz.utc.localize(result).astimezone(pytz.timezone(tz_name)).replace(tzinfo=None)
    wanted = datetime.combine(day, datetime.min.time()) + timedelta(hours=hour)
    # Equal, or later only when the wanted wall time fell in a DST gap (at most 1 hour).
    assert wanted <= local <= wanted + timedelta(hours=1)


# --- pick_timezone ---------------------------------------------------------------------


def test_pick_timezone():
    assert pick_timezone("Europe/Rome", ("America/New_York",), "UTC") == "Europe/Rome"
    assert pick_timezone(False, ("Europe/Bucharest", "Europe/Moscow"), "UTC") == (
        "Europe/Bucharest"
    )
    assert pick_timezone("Nowhere/Land", (), "Europe/Paris") == "Europe/Paris"
    assert pick_timezone(None, None, None) == "UTC"
    assert pick_timezone("", ["Etc/Unknown"], "bogus") == "UTC"
    assert pick_timezone("europe/rome", (), None) == "Europe/Rome"


@given(st.one_of(st.none(), st.text(max_size=20), st.sampled_from(TIMEZONES)),
       st.lists(st.one_of(st.text(max_size=20), st.sampled_from(TIMEZONES)), max_size=3),
       st.one_of(st.none(), st.text(max_size=20), st.sampled_from(TIMEZONES)))  # fmt: skip
def test_pick_timezone_always_returns_a_valid_name(partner, number, company):
    assert pick_timezone(partner, number, company) in pytz.all_timezones_set


# --- birthdays -------------------------------------------------------------------------


@given(st.integers(1901, 2099))
def test_leap_day_birthday(year):
    born = date(2000, 2, 29)
    leap = year % 4 == 0
    expected = date(year, 2, 29) if leap else date(year, 2, 28)
    assert birthday_in_year(born, year) == expected
    assert is_birthday(born, expected)
    assert not is_birthday(born, date(year, 3, 1))
    assert is_birthday(born, date(year, 2, 28)) == (not leap)


@given(st.dates(date(1900, 1, 1), date(2090, 12, 31)), st.integers(1901, 2099))
def test_birthday_in_year_keeps_month_and_day(born, year):
    result = birthday_in_year(born, year)
    assert result.year == year
    if (born.month, born.day) != (2, 29):
        assert (result.month, result.day) == (born.month, born.day)


@given(st.dates(date(1900, 1, 1), date(2090, 12, 31)), st.dates(date(1900, 1, 1), date(2095, 1, 1)))
def test_next_anniversary_properties(origin, after):
    result = next_anniversary(origin, after)
    assert result > after and result > origin
    assert result == birthday_in_year(origin, result.year)
    # Nothing earlier qualifies.
    earlier = birthday_in_year(origin, result.year - 1)
    assert earlier <= max(after, origin)


def test_next_anniversary_examples():
    assert next_anniversary(date(2020, 5, 10), date(2024, 5, 9)) == date(2024, 5, 10)
    assert next_anniversary(date(2020, 5, 10), date(2024, 5, 10)) == date(2025, 5, 10)
    assert next_anniversary(date(2024, 2, 29), date(2024, 3, 1)) == date(2025, 2, 28)
    assert next_anniversary(date(2024, 2, 29), date(2025, 2, 28)) == date(2026, 2, 28)
    assert next_anniversary(date(2024, 2, 29), date(2027, 3, 1)) == date(2028, 2, 29)
    assert next_anniversary(date(2024, 6, 1), date(2020, 1, 1)) == date(2025, 6, 1)


def test_is_birthday_accepts_datetime():
    assert is_birthday(date(1990, 7, 4), datetime(2024, 7, 4, 23, 59))


# --- cap_release_time ------------------------------------------------------------------

NOW = datetime(2024, 6, 1, 12, 0)
past_sends = st.lists(
    st.integers(0, 200 * 3600).map(lambda seconds: NOW - timedelta(seconds=seconds)),
    max_size=12,
)


def _count(sends, at, window_hours):
    return sum(1 for sent in sends if sent > at - timedelta(hours=window_hours))


@given(past_sends, st.integers(-2, 6), st.integers(1, 72))
def test_cap_release_time_properties(sends, cap, window):
    result = cap_release_time(sends, cap, window, NOW)
    if cap <= 0:
        assert result is None
    elif result is None:
        assert _count(sends, NOW, window) < cap
    else:
        assert _count(sends, NOW, window) >= cap
        assert result > NOW
        assert _count(sends, result, window) < cap
        # Earliest: a microsecond before, the cap is still reached.
        assert _count(sends, result - timedelta(microseconds=1), window) >= cap
        assert result - timedelta(hours=window) in sends


def test_cap_release_time_examples():
    sends = [NOW - timedelta(hours=h) for h in (1, 5, 30)]
    assert cap_release_time(sends, 2, 24, NOW) == NOW - timedelta(hours=5) + timedelta(hours=24)
    assert cap_release_time(sends, 3, 24, NOW) is None
    assert cap_release_time(sends, 1, 24, NOW) == NOW + timedelta(hours=23)
    assert cap_release_time(sends, 0, 24, NOW) is None
    assert cap_release_time([], 1, 24, NOW) is None
    # A send exactly one window ago no longer counts.
    assert cap_release_time([NOW - timedelta(hours=24)], 1, 24, NOW) is None


# --- month_days_celebrated_on -----------------------------------------------------------


@given(st.dates(max_value=date(2100, 12, 31)), st.dates(max_value=date(2100, 12, 31)))
def test_month_days_celebrated_on_agrees_with_is_birthday(born, day):
    celebrated = (born.month, born.day) in month_days_celebrated_on(day)
    assert celebrated == is_birthday(born, day)


def test_month_days_celebrated_on_examples():
    assert month_days_celebrated_on(date(2025, 2, 28)) == [(2, 28), (2, 29)]
    assert month_days_celebrated_on(date(2024, 2, 28)) == [(2, 28)]
    assert month_days_celebrated_on(date(2024, 2, 29)) == [(2, 29)]
    assert month_days_celebrated_on(datetime(2025, 7, 4, 23, 0)) == [(7, 4)]


def test_window_start_in_a_spring_forward_gap_opens_when_the_gap_ends():
    # Dublin skips 01:00–02:00 local on 28 March 2021 (01:00 UTC); a window opening at
    # 01:07:30 opens at the end of the gap, 01:00 UTC, not a minute later
    moment = next_allowed_time(datetime(2021, 3, 28, 0, 59), "Europe/Dublin", 1.125, 0.0)
    assert moment == datetime(2021, 3, 28, 1, 0)
