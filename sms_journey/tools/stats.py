"""The statistics of journey experiments: A/B winners and holdout increments.

No Odoo import; tested with pytest and hypothesis.

- A variant wins when its rate beats every other variant's in a two-proportion z-test
  (pooled standard error, two-sided) at the stated confidence, 95 % by default.
- A holdout's increment is the treated rate (or revenue per head) minus the control's,
  with a Wald confidence interval (unpooled standard errors; normal approximation).
"""

import math
from typing import NamedTuple

Z_95 = 1.959963984540054


def normal_cdf(x):
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def z_for(confidence):
    """The two-sided critical value of ``confidence`` (0.9, 0.95, 0.99…)."""
    if confidence == 0.95:
        return Z_95
    # bisection on the CDF: no scipy needed for a handful of calls
    low, high, target = 0.0, 10.0, 1 - (1 - confidence) / 2
    for _i in range(100):
        mid = (low + high) / 2
        if normal_cdf(mid) < target:
            low = mid
        else:
            high = mid
    return (low + high) / 2


class ZTest(NamedTuple):
    z: float
    p_value: float


def two_proportion_z(successes_a, n_a, successes_b, n_b):
    """Two-sided two-proportion z-test of rate A against rate B (pooled variance).
    No data, or no variance at all, gives z = 0 and p = 1."""
    if not n_a or not n_b:
        return ZTest(0.0, 1.0)
    pooled = (successes_a + successes_b) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if not se:
        return ZTest(0.0, 1.0)
    z = (successes_a / n_a - successes_b / n_b) / se
    return ZTest(z, 2 * (1 - normal_cdf(abs(z))))


class Arm(NamedTuple):
    """One variant's figures: how many got it, how many reacted."""

    key: object
    n: int
    successes: int

    @property
    def rate(self):
        return self.successes / self.n if self.n else 0.0


class Winner(NamedTuple):
    key: object  # the winning arm's key, or None when no arm is significantly best
    z: float  # against the runner-up
    p_value: float


def pick_winner(arms, confidence=0.95):
    """The arm with the best rate when it beats the runner-up (hence every other arm)
    significantly at ``confidence`` in a two-proportion z-test; else key None."""
    ranked = sorted(arms, key=lambda a: (a.rate, a.n), reverse=True)
    if len(ranked) < 2:
        return Winner(None, 0.0, 1.0)
    best, second = ranked[0], ranked[1]
    test = two_proportion_z(best.successes, best.n, second.successes, second.n)
    if test.z > 0 and test.p_value < 1 - confidence:
        return Winner(best.key, test.z, test.p_value)
    return Winner(None, test.z, test.p_value)


class Increment(NamedTuple):
    difference: float
    low: float
    high: float


def proportion_difference(successes_t, n_t, successes_c, n_c, confidence=0.95):
    """Treated rate − control rate, with its Wald confidence interval."""
    if not n_t or not n_c:
        return Increment(0.0, 0.0, 0.0)
    p_t, p_c = successes_t / n_t, successes_c / n_c
    se = math.sqrt(p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c)
    diff = p_t - p_c
    margin = z_for(confidence) * se
    return Increment(diff, diff - margin, diff + margin)


def mean_difference(values_t, values_c, confidence=0.95):
    """Mean of ``values_t`` − mean of ``values_c`` (revenue per head, zeros included),
    with its Welch/Wald confidence interval."""
    return mean_difference_of_sums(Sums.of(values_t), Sums.of(values_c), confidence=confidence)


class Sums(NamedTuple):
    """What a mean and a variance need of a sample, as SQL sums it: its size, the sum of
    its values and the sum of their squares."""

    n: int
    total: float
    squares: float

    @classmethod
    def of(cls, values):
        values = list(values)
        return cls(len(values), sum(values), sum(v * v for v in values))

    @property
    def mean(self):
        return self.total / self.n

    @property
    def variance(self):
        """The sample variance (n − 1), 0 for fewer than two values."""
        if self.n < 2:
            return 0.0
        return max(self.squares - self.total * self.total / self.n, 0.0) / (self.n - 1)


def mean_difference_of_sums(sums_t, sums_c, confidence=0.95):
    """``mean_difference`` of two samples given by their ``Sums``."""
    if not sums_t.n or not sums_c.n:
        return Increment(0.0, 0.0, 0.0)
    se = math.sqrt(sums_t.variance / sums_t.n + sums_c.variance / sums_c.n)
    diff = sums_t.mean - sums_c.mean
    margin = z_for(confidence) * se
    return Increment(diff, diff - margin, diff + margin)
