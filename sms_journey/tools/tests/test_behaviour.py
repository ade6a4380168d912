from hypothesis import given
from hypothesis import strategies as st

from sms_journey.tools import behaviour

PRICES = st.floats(min_value=0.01, max_value=1e6, allow_nan=False)


def test_dropped_by():
    assert behaviour.dropped_by(100, 80) == 20
    assert behaviour.dropped_by(100, 100) == 0
    assert behaviour.dropped_by(100, 120) == 0
    assert behaviour.dropped_by(0, 10) == 0
    assert behaviour.dropped_by(None, 10) == 0


def test_price_drops_threshold_and_unseen_keys():
    seen = {(1, 7): 100.0, (2, 7): 100.0, (3, 0): 50.0}
    prices = {(1, 7): 80.0, (2, 7): 95.0, (3, 0): 45.0, (4, 7): 10.0}
    drops = behaviour.price_drops(seen, prices, 10)
    assert drops == {(1, 7): behaviour.Drop(100.0, 80.0), (3, 0): behaviour.Drop(50.0, 45.0)}


def test_price_drops_exactly_at_the_threshold():
    # 20 % in floating point is a hair below 20
    assert behaviour.price_drops({1: 0.3}, {1: 0.24}, 20) == {1: behaviour.Drop(0.3, 0.24)}


@given(PRICES, PRICES, st.floats(min_value=0, max_value=100))
def test_a_drop_is_below_the_old_price_by_the_threshold(old, new, percent):
    drops = behaviour.price_drops({"k": old}, {"k": new}, percent)
    if drops:
        assert new < old
        assert (old - new) * 100 / old >= percent - 1e-6
    else:
        assert new >= old or (old - new) * 100 / old < percent + 1e-6


def test_dropped_everywhere():
    prices = {(1, 7): 80.0, (1, 8): 72.0, (2, 7): 80.0, (2, 8): 100.0}
    drops = behaviour.price_drops(
        {(1, 7): 100.0, (1, 8): 90.0, (2, 7): 100.0, (2, 8): 100.0}, prices, 10
    )
    assert behaviour.dropped_everywhere(prices, drops) == {1: behaviour.Drop(100.0, 80.0)}
