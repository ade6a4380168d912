"""Tests for sms_journey.tools.attribution and sms_journey.tools.results."""

from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from sms_journey.tools.attribution import CLICK, DELIVERY, Touch, Windows, attribute
from sms_journey.tools.results import day_bucket, hour_bucket, hour_label, roas, roi

ORDER = datetime(2026, 3, 10, 12, 0)
W = Windows()


def touch(kind, hours_before, source=1):
    return Touch(kind, ORDER - timedelta(hours=hours_before), ("mailing.trace", source))


def test_windows_defaults():
    assert W.click == timedelta(days=5)
    assert W.delivery == timedelta(hours=12)


def test_click_beats_a_later_delivery():
    click, delivery = touch(CLICK, 48, 1), touch(DELIVERY, 1, 2)
    assert attribute([delivery, click], ORDER) == click


def test_window_edges():
    assert attribute([touch(CLICK, 24 * 5)], ORDER) is not None
    assert attribute([touch(CLICK, 24 * 5 + 0.01)], ORDER) is None
    assert attribute([touch(DELIVERY, 12)], ORDER) is not None
    assert attribute([touch(DELIVERY, 12.01)], ORDER) is None
    assert attribute([touch(CLICK, -0.01)], ORDER) is None, "after the order"


def test_second_click_is_the_last_touch():
    first, second = touch(CLICK, 100, 1), touch(CLICK, 2, 2)
    assert attribute([second, first], ORDER) == second
    # an old click out of its window, renewed by a second click on the same SMS
    assert attribute([touch(CLICK, 200, 3), touch(CLICK, 10, 3)], ORDER).at == ORDER - timedelta(
        hours=10
    )


touches = st.lists(
    st.builds(
        Touch,
        st.sampled_from((CLICK, DELIVERY)),
        st.integers(-48, 24 * 8).map(lambda h: ORDER - timedelta(hours=h)),
        st.tuples(st.sampled_from(("mailing.trace", "sms.journey.trace")), st.integers(1, 5)),
    ),
    max_size=8,
)


@given(touches)
def test_winner_is_eligible_and_no_eligible_touch_ranks_higher(items):
    winner = attribute(items, ORDER, W)
    eligible = [t for t in items if t.counts_for(ORDER, W)]
    if not eligible:
        assert winner is None
        return
    assert winner in eligible
    if any(t.kind == CLICK for t in eligible):
        assert winner.kind == CLICK
    assert winner.at == max(t.at for t in eligible if t.kind == winner.kind)


@given(touches, st.randoms())
def test_order_of_touches_does_not_matter(items, rnd):
    shuffled = list(items)
    rnd.shuffle(shuffled)
    assert attribute(items, ORDER) == attribute(shuffled, ORDER)


def test_roas_and_roi():
    assert roas(300.0, 100.0) == 3.0
    assert roi(300.0, 100.0) == 2.0
    assert roas(5.0, 0.0) is None and roi(5.0, 0.0) is None


def test_buckets_in_time_zone():
    sent = datetime(2026, 3, 2, 22, 30)  # 23:30 in Rome
    assert hour_bucket(sent, sent) == 1
    assert hour_bucket(sent, sent + timedelta(minutes=59)) == 1
    assert hour_bucket(sent, sent + timedelta(hours=23, minutes=59)) == 24
    assert hour_bucket(sent, sent + timedelta(hours=24)) is None
    # 40 minutes later it is the next day in Rome, still the same day in UTC
    later = sent + timedelta(minutes=40)
    assert day_bucket(sent, later, "Europe/Rome") == 2
    assert day_bucket(sent, later, "UTC") == 1
    assert hour_label(later, "Europe/Rome") == "00:00"
    assert day_bucket(sent, sent + timedelta(days=9, hours=1), "UTC") == 10
    assert day_bucket(sent, sent + timedelta(days=10), "UTC") is None


@given(st.integers(0, 60 * 24 * 12), st.sampled_from(("UTC", "Europe/Rome", "America/New_York")))
def test_buckets_are_bounded(minutes, tz):
    sent = datetime(2026, 10, 20, 17, 0)
    event = sent + timedelta(minutes=minutes)
    hour = hour_bucket(sent, event)
    assert hour is None or 1 <= hour <= 24
    assert (hour is None) == (minutes >= 24 * 60)
    day = day_bucket(sent, event, tz)
    assert day is None or 1 <= day <= 10
