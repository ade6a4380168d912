"""Each customer's rhythm: the typical gap between their orders and when the next
one is expected.

No Odoo import: ``res.partner._sms_rhythm_facts_sql`` computes the same figures in SQL
for every contact at once (``percentile_cont`` over the gaps of ``walked_gaps``), and the
tests check that both agree. The rules, in order:

1. a contact's *gaps* are the days between consecutive days on which they confirmed an
   order (several orders on one day are one visit: no gap of 0);
2. with at least one gap the contact's own rhythm is the median of their gaps
   (``median_gap``, source ``own``);
3. with a single order day the rhythm is a *prior* from similar customers: the median
   of the own rhythms of the contacts whose first order was in the same product
   category, else the median of the company's contacts (``pick_prior``, source
   ``prior``);
4. without orders, or without any prior, there is no rhythm;
5. the next order is expected the rhythm's number of days (rounded half up) after the
   last order (``predicted_next``).

Journey steps may wait a multiple of the rhythm (``journey.wait_delta``).
"""

import math
import statistics
from datetime import datetime, timedelta

OWN = "own"
PRIOR = "prior"
SOURCES = (OWN, PRIOR)


def _day(value):
    return value.date() if isinstance(value, datetime) else value


def order_gaps(order_dates):
    """Days between consecutive distinct order days of ``order_dates`` (dates or
    datetimes, in any order)."""
    days = sorted({_day(d) for d in order_dates if d})
    return [(later - earlier).days for earlier, later in zip(days, days[1:], strict=False)]


def walked_gaps(order_dates):
    """The same gaps as ``order_gaps``, read the way the SQL reads them in one pass: the
    orders sorted by moment, each order's day minus the previous order's, the zeros
    (orders of the same day) left out."""
    days = [_day(d) for d in sorted(d for d in order_dates if d)]
    return [gap for gap in ((b - a).days for a, b in zip(days, days[1:], strict=False)) if gap]


def median_gap(order_dates):
    """The median of the gaps between ``order_dates`` (``None`` with fewer than two
    order days)."""
    gaps = order_gaps(order_dates)
    return float(statistics.median(gaps)) if gaps else None


def pick_prior(category_prior, company_prior):
    """The prior of a one-order contact: its first order's category's, else the
    company's; ``None`` when neither is known."""
    for prior in (category_prior, company_prior):
        if prior:
            return float(prior)
    return None


def rhythm(order_dates, category_prior=None, company_prior=None):
    """``(gap in days, source)`` of a contact with these order dates: its own median
    gap, a prior for a single order day, ``(None, None)`` without orders or prior."""
    own = median_gap(order_dates)
    if own is not None:
        return own, OWN
    if not any(order_dates):
        return None, None
    prior = pick_prior(category_prior, company_prior)
    return (prior, PRIOR) if prior is not None else (None, None)


def rounded_days(gap):
    """The whole days of ``gap`` rounded half up (SQL's ``floor(gap + 0.5)``)."""
    return int(math.floor(gap + 0.5))


def predicted_next(last_order, gap):
    """The day the next order is expected: ``gap`` days (rounded) after the last order
    (``None`` without either)."""
    if not last_order or not gap:
        return None
    return _day(last_order) + timedelta(days=rounded_days(gap))


def due_to_reorder(predicted, last_order, today):
    """Whether a contact is due to reorder on ``today``: the predicted day is reached
    and no order came since it was predicted (a later order moves the prediction)."""
    if not predicted or not last_order:
        return False
    return _day(last_order) < predicted <= _day(today)
