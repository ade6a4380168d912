"""Tests for sms_journey.tools.stats: z-test, winners, increments."""

import math

from hypothesis import given
from hypothesis import strategies as st

from sms_journey.tools.stats import (
    Arm,
    Sums,
    mean_difference,
    pick_winner,
    proportion_difference,
    two_proportion_z,
    z_for,
)


def test_z_test_known_value():
    # 200/1000 vs 150/1000: pooled p = .175, se = .016992, z = 2.9426
    test = two_proportion_z(200, 1000, 150, 1000)
    assert math.isclose(test.z, 2.9426, abs_tol=1e-3)
    assert math.isclose(test.p_value, 0.003255, abs_tol=1e-4)
    assert two_proportion_z(0, 0, 1, 2).p_value == 1.0


def test_winner_on_crafted_data():
    clear = [Arm("A", 1000, 150), Arm("B", 1000, 200), Arm("C", 1000, 120)]
    assert pick_winner(clear).key == "B"
    close = [Arm("A", 1000, 150), Arm("B", 1000, 160)]
    assert pick_winner(close).key is None
    assert pick_winner([Arm("A", 10, 5)]).key is None


def test_critical_values():
    assert math.isclose(z_for(0.95), 1.96, abs_tol=1e-3)
    assert math.isclose(z_for(0.99), 2.5758, abs_tol=1e-3)


def test_increments():
    inc = proportion_difference(120, 1000, 80, 1000)
    assert math.isclose(inc.difference, 0.04)
    assert inc.low < 0.04 < inc.high and inc.low > 0
    rev = mean_difference([10.0, 0.0, 20.0, 0.0], [0.0, 0.0, 10.0, 0.0])
    assert math.isclose(rev.difference, 5.0)
    assert rev.low < 5.0 < rev.high


@given(st.integers(0, 500), st.integers(1, 500), st.integers(0, 500), st.integers(1, 500))
def test_z_test_is_antisymmetric_and_interval_holds_the_difference(x1, n1, x2, n2):
    x1, x2 = min(x1, n1), min(x2, n2)
    ab, ba = two_proportion_z(x1, n1, x2, n2), two_proportion_z(x2, n2, x1, n1)
    assert math.isclose(ab.z, -ba.z, abs_tol=1e-9)
    assert 0.0 <= ab.p_value <= 1.0
    inc = proportion_difference(x1, n1, x2, n2)
    assert inc.low - 1e-12 <= inc.difference <= inc.high + 1e-12


@given(st.lists(st.tuples(st.integers(1, 300), st.integers(0, 300)), min_size=2, max_size=4))
def test_a_winner_has_the_best_rate(raw):
    arms = [Arm(i, n, min(x, n)) for i, (n, x) in enumerate(raw)]
    winner = pick_winner(arms)
    if winner.key is not None:
        assert arms[winner.key].rate == max(a.rate for a in arms)
        assert winner.p_value < 0.05


revenues = st.lists(st.floats(0, 10_000, allow_nan=False), min_size=1, max_size=50)


@given(revenues, revenues)
def test_mean_difference_from_sums_matches_two_passes(values_t, values_c):
    """The increment computed from SQL sums (n, sum, sum of squares) is the one of the
    values themselves: mean difference and Welch/Wald interval."""

    def variance(values):
        if len(values) < 2:
            return 0.0
        mean = sum(values) / len(values)
        return sum((v - mean) ** 2 for v in values) / (len(values) - 1)

    got = mean_difference(values_t, values_c)
    diff = sum(values_t) / len(values_t) - sum(values_c) / len(values_c)
    margin = z_for(0.95) * math.sqrt(
        variance(values_t) / len(values_t) + variance(values_c) / len(values_c)
    )
    assert math.isclose(got.difference, diff, abs_tol=1e-6)
    assert math.isclose(got.high - got.difference, margin, rel_tol=1e-6, abs_tol=1e-3)
    assert Sums.of(values_t).n == len(values_t)
