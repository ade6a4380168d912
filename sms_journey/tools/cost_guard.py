"""Cost guards: where a gateway may send, what one segment costs there, and the
company's monthly budget for marketing SMS.

- **Destinations.** A gateway sends only to the countries of its allow-list, as
  Twilio's Geo Permissions do against SMS pumping (fraudsters making a sign-up or
  security-code form text premium numbers abroad). Every kind of SMS is checked, the
  essential ones (security codes) first of all. An empty list allows every country: a
  gateway created before the guard existed keeps sending where it did. A number whose
  country is unknown (non-geographic) is outside any list.
- **Price.** The price per segment of the destination's country, else the gateway's.
- **Budget.** The cost of the marketing SMS that left this month (in the company's time
  zone) against the company's monthly budget (0: none): from 80 % the SMS managers are
  told (:data:`WARN`), and a marketing SMS that the rest of the budget cannot pay for is
  held (:data:`HOLD`) until the month ends or the budget is raised. A hold defers rather
  than cancels: what a campaign or a journey meant to send is still sent, only later, as
  a marketer expects of a spending cap; transactional and essential SMS never wait on it.

Datetimes follow Odoo's convention: naive UTC. No Odoo import.
"""

from dataclasses import dataclass
from datetime import datetime

from . import phone, schedule

OK, WARN, HOLD = "ok", "warn", "hold"

#: The share of the budget from which SMS managers are told.
WARN_RATIO = 0.8

# costs are stored with 5 decimals: below this they are equal
_EPSILON = 1e-6


def destination_country(e164):
    """ISO alpha-2 country of the number ``e164``, or None when unknown (asked for every
    SMS, at enqueue and at dispatch: ``phone.region_of`` keeps the answers)."""
    return phone.region_of(e164) if e164 else None


def allowed(country, allowed_countries):
    """Whether a gateway whose allow-list is ``allowed_countries`` (ISO codes; empty:
    every country) may send to ``country`` (an ISO code or None)."""
    return not allowed_countries or country in allowed_countries


def price_for(country, prices, fallback):
    """The price per segment to ``country``: its line in ``prices`` ({ISO code: price}),
    else ``fallback`` (the gateway's price)."""
    return prices.get(country, fallback) if country else fallback


def budget_state(spent, budget, warn_ratio=WARN_RATIO):
    """:data:`OK`, :data:`WARN` (from ``warn_ratio`` of ``budget``) or :data:`HOLD`
    (``budget`` reached) for ``spent`` this month; a budget of 0 or less is none."""
    if budget <= 0:
        return OK
    if spent >= budget - _EPSILON:
        return HOLD
    if spent >= warn_ratio * budget - _EPSILON:
        return WARN
    return OK


def budget_allows(spent, cost, budget):
    """Whether a marketing SMS costing ``cost`` may leave when ``spent`` is spent this
    month: always without a budget; never once it is reached, nor when the SMS would go
    over it (the budget is a ceiling)."""
    if budget <= 0:
        return True
    return spent < budget - _EPSILON and spent + cost <= budget + _EPSILON


def month_bounds(now, tz_name):
    """(start of the month of ``now``, start of the next one) in the zone ``tz_name``
    (unknown: UTC), as naive UTC datetimes."""
    try:
        tz = schedule.get_timezone(tz_name)
    except schedule.UnknownTimezone:
        tz = schedule.get_timezone("UTC")
    local = schedule._to_local(schedule._naive_utc(now), tz)
    first = datetime(local.year, local.month, 1)
    following = datetime(local.year + local.month // 12, local.month % 12 + 1, 1)
    return schedule._localize(tz, first), schedule._localize(tz, following)


@dataclass
class MonthlyBudget:
    """A company's marketing budget as one batch of SMS spends it (mutable: the SMS the
    batch lets go count for the next ones)."""

    amount: float  # 0: no budget
    spent: float  # the cost of the marketing SMS that left this month
    resets_at: datetime  # the start of the next month (naive UTC)
    held: int = 0  # how many SMS of the batch it held

    @property
    def state(self):
        return budget_state(self.spent, self.amount)

    def allows(self, cost):
        return budget_allows(self.spent, cost, self.amount)

    def spend(self, cost):
        self.spent += cost or 0.0
