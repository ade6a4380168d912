"""Tests for sms_journey.tools.digest."""

from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from sms_journey.tools.digest import count_by, due_slot

ROME = "Europe/Rome"
LAUNCH = datetime(2026, 3, 2, 9, 0)  # 10:00 in Rome
SLOT_DAY1 = datetime(2026, 3, 2, 17, 0)  # 18:00 in Rome (UTC+1)


def test_first_slot_same_day_after_launch():
    assert due_slot(datetime(2026, 3, 2, 16, 59), LAUNCH, 18.0, ROME, 10) is None
    assert due_slot(SLOT_DAY1, LAUNCH, 18.0, ROME, 10) == SLOT_DAY1
    assert due_slot(SLOT_DAY1 + timedelta(hours=3), LAUNCH, 18.0, ROME, 10) == SLOT_DAY1


def test_not_twice_and_next_day():
    assert due_slot(SLOT_DAY1 + timedelta(hours=1), LAUNCH, 18.0, ROME, 10, SLOT_DAY1) is None
    day2 = SLOT_DAY1 + timedelta(days=1, minutes=5)
    assert due_slot(day2, LAUNCH, 18.0, ROME, 10, SLOT_DAY1 + timedelta(minutes=2)) == (
        SLOT_DAY1 + timedelta(days=1)
    )


def test_launch_after_hour_starts_next_day():
    late = datetime(2026, 3, 2, 19, 0)
    assert due_slot(datetime(2026, 3, 2, 20, 0), late, 18.0, ROME, 10) is None
    assert due_slot(datetime(2026, 3, 3, 17, 0), late, 18.0, ROME, 10) == datetime(2026, 3, 3, 17)


def test_period_ends_after_days():
    assert due_slot(SLOT_DAY1 + timedelta(days=9), LAUNCH, 18.0, ROME, 10)
    assert due_slot(SLOT_DAY1 + timedelta(days=10), LAUNCH, 18.0, ROME, 10) is None
    assert due_slot(SLOT_DAY1, LAUNCH, 18.0, ROME, 0) is None
    assert due_slot(SLOT_DAY1, None, 18.0, ROME, 10) is None


def test_dst_change():
    # Summer time from 29 March 2026: 18:00 in Rome is 16:00 UTC.
    start = datetime(2026, 3, 27, 9)
    assert due_slot(datetime(2026, 3, 30, 16, 30), start, 18.0, ROME, 10) == datetime(
        2026, 3, 30, 16
    )


@given(
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 1)),
    st.integers(min_value=0, max_value=20 * 24 * 60),
    st.floats(min_value=0, max_value=23.99),
    st.integers(min_value=1, max_value=15),
)
def test_slot_properties(start, minutes, hour, days):
    now = start + timedelta(minutes=minutes)
    slot = due_slot(now, start, hour, ROME, days)
    if slot is not None:
        assert start <= slot <= now
        assert slot <= start + timedelta(days=days)
        assert now - slot < timedelta(days=1, hours=2)  # the latest slot, DST included
        assert due_slot(now, start, hour, ROME, days, last_run=now) is None


def test_count_by():
    assert count_by(["YES", "NO", "YES", None]) == [("YES", 2), ("NO", 1), (None, 1)]
