import statistics
from datetime import date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from sms_journey.tools import journey, rhythm

DAYS = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))


def test_median_of_the_gaps_between_order_days():
    days = [date(2026, 1, 1), date(2026, 1, 11), date(2026, 1, 31), date(2026, 2, 4)]
    assert rhythm.order_gaps(days) == [10, 20, 4]
    assert rhythm.median_gap(days) == 10.0
    # an even number of gaps: the mean of the two middle ones (percentile_cont)
    assert rhythm.median_gap(days[:3]) == 15.0


def test_orders_of_one_day_are_one_visit():
    morning, evening = datetime(2026, 3, 1, 9), datetime(2026, 3, 1, 20)
    assert rhythm.order_gaps([morning, evening]) == []
    assert rhythm.median_gap([morning, evening]) is None
    assert rhythm.median_gap([evening, morning, datetime(2026, 3, 8, 1)]) == 7.0


def test_rhythm_own_prior_or_none():
    two = [date(2026, 1, 1), date(2026, 1, 15)]
    assert rhythm.rhythm(two, 30.0, 60.0) == (14.0, rhythm.OWN)
    one = [date(2026, 1, 1)]
    assert rhythm.rhythm(one, 30.0, 60.0) == (30.0, rhythm.PRIOR)
    assert rhythm.rhythm(one, None, 60.0) == (60.0, rhythm.PRIOR), "the company's"
    assert rhythm.rhythm(one, None, None) == (None, None)
    assert rhythm.rhythm([], 30.0, 60.0) == (None, None), "no orders, no rhythm"


def test_predicted_next_rounds_half_up():
    last = date(2026, 1, 10)
    assert rhythm.predicted_next(last, 10.0) == date(2026, 1, 20)
    assert rhythm.predicted_next(last, 10.5) == date(2026, 1, 21)
    assert rhythm.predicted_next(last, 10.49) == date(2026, 1, 20)
    assert rhythm.predicted_next(datetime(2026, 1, 10, 23), 2.5) == date(2026, 1, 13)
    assert rhythm.predicted_next(None, 10.0) is None
    assert rhythm.predicted_next(last, None) is None


def test_due_to_reorder():
    last, predicted = date(2026, 1, 1), date(2026, 1, 15)
    assert not rhythm.due_to_reorder(predicted, last, date(2026, 1, 14))
    assert rhythm.due_to_reorder(predicted, last, date(2026, 1, 15))
    assert not rhythm.due_to_reorder(predicted, date(2026, 1, 15), date(2026, 1, 20))
    assert not rhythm.due_to_reorder(None, last, date(2026, 1, 20))


@given(st.lists(DAYS, min_size=2, max_size=30, unique=True))
def test_median_gap_is_a_median_of_positive_gaps(days):
    gap = rhythm.median_gap(days)
    gaps = rhythm.order_gaps(days)
    assert len(gaps) == len(days) - 1
    assert all(g > 0 for g in gaps)
    assert min(gaps) <= gap <= max(gaps)
    assert gap == statistics.median(gaps)
    # the order of the dates, duplicates and times of day do not matter
    noisy = [datetime.combine(d, datetime.min.time()) + timedelta(hours=5) for d in days]
    assert rhythm.median_gap(list(reversed(noisy)) + days) == gap


MOMENTS = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31))


@given(st.lists(MOMENTS, max_size=30))
def test_one_pass_over_sorted_orders_gives_the_gaps_between_order_days(moments):
    """The SQL's walk (consecutive orders by moment, zeros left out) = the days' gaps."""
    assert rhythm.walked_gaps(moments) == rhythm.order_gaps(moments)


@given(DAYS, st.floats(min_value=0.5, max_value=3650, allow_nan=False))
def test_predicted_day_is_after_the_last_order(last, gap):
    predicted = rhythm.predicted_next(last, gap)
    assert predicted > last
    assert abs((predicted - last).days - gap) <= 0.5
    assert rhythm.due_to_reorder(predicted, last, predicted)
    assert not rhythm.due_to_reorder(predicted, last, predicted - timedelta(days=1))


def test_wait_relative_to_the_rhythm():
    assert journey.wait_delta(30, "gap", 1.5, 20.0) == timedelta(days=30)
    assert journey.wait_delta(30, "gap", 3, 10.0) == timedelta(days=30)
    assert journey.wait_delta(30, "gap", 0.5, 7.0) == timedelta(days=3.5)
    # no rhythm: the fixed days
    assert journey.wait_delta(30, "gap", 1.5, None) == timedelta(days=30)
    assert journey.wait_delta(30, "gap", 1.5, 0.0) == timedelta(days=30)
    enrolled = datetime(2026, 1, 1)
    assert journey.step_due_time(
        enrolled, datetime(2026, 1, 5), 30, "gap", "enrolment", gap_factor=2, gap_days=14
    ) == datetime(2026, 1, 29)


@given(
    st.floats(min_value=0, max_value=10, allow_nan=False),
    st.one_of(st.none(), st.floats(min_value=0.1, max_value=1000, allow_nan=False)),
    st.integers(min_value=0, max_value=365),
)
def test_relative_wait_scales_with_the_gap_else_is_fixed(factor, gap, days):
    delta = journey.wait_delta(days, "gap", factor, gap)
    if gap:
        assert abs(delta.total_seconds() - factor * gap * 86400) < 1
    else:
        assert delta == timedelta(days=days)
