"""Tests for sms_journey.tools.best_hour: the smoothed best hour of the week and the
instant of a day at which a step sent at the contact's best hour goes."""

from datetime import datetime, timedelta

import pytz
from hypothesis import given, settings
from hypothesis import strategies as st

from sms_journey.tools import best_hour, schedule, send_rules
from sms_journey.tools.send_rules import Window

TUESDAY_18 = 1 * 24 + 18
COMPANY = Window(8, 21, label="quiet_hours")
FLORIDA = Window(8, 20, label="Florida FTSA")
NEW_YORK = "America/New_York"

buckets = st.integers(0, best_hour.HOURS_PER_WEEK - 1)
histograms = st.dictionaries(buckets, st.integers(0, 50), max_size=20)
windows = st.builds(
    Window,
    start=st.integers(0, 23).map(float),
    end=st.integers(0, 24).map(float),
    weekdays=st.frozensets(st.integers(0, 6), min_size=1),
    label=st.just("w"),
)
zones = st.sampled_from(["UTC", NEW_YORK, "Europe/Paris", "Asia/Kolkata", "Australia/Lord_Howe"])
moments = st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31))


def local_hour(instant, zone):
    return schedule._to_local(instant, pytz.timezone(zone)).hour


def test_no_event_has_no_best_hour():
    assert best_hour.best_hour_of_week({}, {TUESDAY_18: 100}) is None
    assert best_hour.best_hour_of_week({3: 0}, {TUESDAY_18: 100}) is None


def test_one_event_leans_on_the_company():
    # one click on Monday 9:00, the company reacts on Tuesday evenings
    assert best_hour.best_hour_of_week({9: 1}, {TUESDAY_18: 100}) == TUESDAY_18
    # without a company histogram the contact's own hour wins
    assert best_hour.best_hour_of_week({9: 1}, {}) == 9


def test_tie_takes_the_earliest_hour():
    assert best_hour.best_hour_of_week({30: 2, 10: 2}, {}) == 10


@settings(max_examples=200)
@given(histograms, histograms)
def test_strong_history_is_the_contact_own_hour(own, prior):
    counts = sorted(own.values(), reverse=True)
    if not counts or counts[0] == 0:
        assert best_hour.best_hour_of_week(own, prior) is None
        return
    second = counts[1] if len(counts) > 1 else 0
    if counts[0] - second > best_hour.PRIOR_STRENGTH:
        top = max(own, key=lambda bucket: own[bucket])
        assert best_hour.best_hour_of_week(own, prior) == top


def test_label_parts():
    assert best_hour.split_hour_of_week(TUESDAY_18) == (1, 18)
    assert best_hour.hour_of_week(datetime(2026, 12, 8, 18, 30)) == TUESDAY_18  # a Tuesday


def test_best_hour_inside_windows_is_kept():
    due = datetime(2026, 12, 8, 15, 0)  # Tuesday 10:00 in New York
    at = best_hour.best_instant(due, TUESDAY_18, NEW_YORK, (COMPANY, FLORIDA), (NEW_YORK,))
    assert at == datetime(2026, 12, 8, 23, 0)  # 18:00 EST


def test_no_history_goes_at_the_window_start():
    due = datetime(2026, 12, 8, 15, 0)
    at = best_hour.best_instant(due, None, NEW_YORK, (COMPANY, FLORIDA), (NEW_YORK,))
    assert at == datetime(2026, 12, 8, 13, 0)  # 8:00 EST


def test_best_hour_after_the_legal_window_moves_inside():
    due = datetime(2026, 12, 8, 15, 0)
    late = 1 * 24 + 22  # Tuesday 22:00: Florida ends at 20:00, the company at 21:00
    at = best_hour.best_instant(due, late, NEW_YORK, (COMPANY, FLORIDA), (NEW_YORK,))
    assert local_hour(at, NEW_YORK) == 19
    assert send_rules.is_allowed(at, (COMPANY, FLORIDA), (NEW_YORK,))


def test_not_before_the_previous_step():
    due = datetime(2026, 12, 8, 15, 0)
    previous = datetime(2026, 12, 8, 20, 30)  # 15:30 local
    morning = 1 * 24 + 9
    at = best_hour.best_instant(due, morning, NEW_YORK, (COMPANY,), (NEW_YORK,), previous)
    assert at == previous  # the first allowed instant left that day is the closest


def test_closed_day_keeps_the_due_time():
    sunday_closed = Window(8, 20, weekdays=frozenset(range(6)), label="no Sunday")
    due = datetime(2026, 12, 13, 15, 0)  # a Sunday
    assert best_hour.best_instant(due, 18, NEW_YORK, (sunday_closed,), (NEW_YORK,)) is None


@settings(max_examples=200)
@given(
    moments,
    st.one_of(st.none(), buckets),
    zones,
    st.lists(windows, min_size=1, max_size=3),
    st.lists(zones, min_size=1, max_size=2, unique=True),
    st.one_of(st.none(), st.integers(0, 30 * 60)),
)
def test_chosen_instant_is_allowed_that_day(due, bucket, zone, wins, recipient_zones, later):
    not_before = due + timedelta(minutes=later) if later is not None else None
    at = best_hour.best_instant(due, bucket, zone, tuple(wins), tuple(recipient_zones), not_before)
    if at is None:
        return
    tz = pytz.timezone(zone)
    assert send_rules.is_allowed(at, tuple(wins), tuple(recipient_zones))
    assert schedule._to_local(at, tz).date() == schedule._to_local(due, tz).date()
    if not_before:
        assert at >= not_before
    if bucket is None:
        midnight = schedule.local_datetime_to_utc(schedule._to_local(due, tz).date(), 0, zone)
        floor = max(midnight, not_before) if not_before else midnight
        slot = send_rules.first_allowed(floor, tuple(wins), tuple(recipient_zones), at - floor)
        assert slot.at == at  # the window's start


@settings(max_examples=100)
@given(moments, buckets, st.sampled_from(["UTC", NEW_YORK, "Europe/Paris"]))
def test_allowed_best_hour_is_taken(due, bucket, zone):
    at = best_hour.best_instant(due, bucket, zone, (Window(0, 0, label="always"),), (zone,))
    wanted = bucket % 24
    tz = pytz.timezone(zone)
    day = schedule._to_local(due, tz).date()
    if schedule._to_local(schedule.local_datetime_to_utc(day, wanted, zone), tz).hour == wanted:
        assert local_hour(at, zone) == wanted  # not a DST gap
