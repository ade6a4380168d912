"""Tests for sms_journey.tools.cost_guard and the cost guards of tools.policy: allowed
destinations, prices per country and the monthly marketing budget."""

from datetime import datetime, timedelta

import pytz
from hypothesis import given
from hypothesis import strategies as st

from sms_journey.tools import cost_guard, policy
from sms_journey.tools.policy import Recipient, Rules, decide

NOW = datetime(2026, 3, 10, 12, 0)
ITALIAN = "+393331234567"
ROMANIAN = "+40722123456"
AMERICAN = "+12025550143"
COUNTRIES = ("IT", "RO", "US", "FR", None)

amounts = st.floats(0, 1000, allow_nan=False).map(lambda x: round(x, 5))
moments = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31))


def test_destination_country():
    assert cost_guard.destination_country(ITALIAN) == "IT"
    assert cost_guard.destination_country(AMERICAN) == "US"
    assert cost_guard.destination_country("+80012345678") is None  # non-geographic
    assert cost_guard.destination_country(None) is None


@given(st.sampled_from(COUNTRIES), st.frozensets(st.sampled_from(COUNTRIES[:-1])))
def test_allowed_is_membership_or_empty_list(country, allowed):
    assert cost_guard.allowed(country, allowed) == (not allowed or country in allowed)
    assert cost_guard.allowed(country, frozenset())
    if allowed:
        assert not cost_guard.allowed(None, allowed)  # an unknown country is outside


@given(st.sampled_from(COUNTRIES), st.dictionaries(st.sampled_from(COUNTRIES[:-1]), amounts),
       amounts)  # fmt: skip
def test_price_for_country_line_else_gateway_price(country, prices, fallback):
    expected = prices[country] if country in prices else fallback
    assert cost_guard.price_for(country, prices, fallback) == expected


def test_budget_state_thresholds():
    assert cost_guard.budget_state(1000, 0) == cost_guard.OK  # no budget
    assert cost_guard.budget_state(79.99, 100) == cost_guard.OK
    assert cost_guard.budget_state(80, 100) == cost_guard.WARN
    assert cost_guard.budget_state(99.99, 100) == cost_guard.WARN
    assert cost_guard.budget_state(100, 100) == cost_guard.HOLD
    assert cost_guard.budget_state(130, 100) == cost_guard.HOLD


@given(amounts, amounts, amounts)
def test_budget_allows_never_goes_over(spent, cost, budget):
    allows = cost_guard.budget_allows(spent, cost, budget)
    if budget <= 0:
        assert allows
    elif allows:
        assert spent + cost <= budget + 1e-6
        assert cost_guard.budget_state(spent, budget) != cost_guard.HOLD
    if budget > 0 and cost_guard.budget_state(spent, budget) == cost_guard.HOLD:
        assert not allows


@given(amounts.filter(lambda a: a > 0), st.lists(amounts.map(lambda c: c / 100), max_size=50))
def test_a_batch_spends_at_most_the_budget(amount, costs):
    budget = cost_guard.MonthlyBudget(amount, 0.0, NOW)
    for cost in costs:
        if budget.allows(cost):
            budget.spend(cost)
    assert budget.spent <= amount + 1e-6


@given(moments, st.sampled_from(("Europe/Rome", "America/New_York", "Pacific/Chatham", "UTC",
                                 "Nowhere/Unknown")))  # fmt: skip
def test_month_bounds_hold_now_and_start_on_the_first_at_midnight(now, tz_name):
    start, following = cost_guard.month_bounds(now, tz_name)
    assert start <= now < following
    zone = pytz.timezone(tz_name if tz_name in pytz.all_timezones_set else "UTC")
    for bound in (start, following):
        local = pytz.utc.localize(bound).astimezone(zone)
        assert (local.day, local.hour, local.minute) == (1, 0, 0)
    assert timedelta(days=28) <= following - start <= timedelta(days=31, hours=1)


# the policy ----------------------------------------------------------------


@given(st.sampled_from(policy.KINDS), st.sampled_from((ITALIAN, ROMANIAN, AMERICAN)),
       st.frozensets(st.sampled_from(("IT", "RO", "US", "FR")), min_size=1))  # fmt: skip
def test_a_destination_outside_the_list_is_canceled_whatever_the_kind(kind, number, allowed):
    recipient = Recipient(e164=number, consent="opted_in", tz="Europe/Rome")
    decision = decide(kind, recipient, Rules(allowed_countries=allowed), NOW)
    outside = cost_guard.destination_country(number) not in allowed
    assert (decision.reason == policy.DESTINATION_NOT_ALLOWED) == outside
    if outside:
        assert decision.canceled


def test_an_empty_allow_list_allows_every_destination():
    recipient = Recipient(e164=AMERICAN)
    assert decide("essential", recipient, Rules(), NOW).action == policy.SEND


def test_over_budget_holds_marketing_until_the_next_month():
    resets_at = datetime(2026, 4, 1, 0, 0)
    rules = Rules(window_start=0, window_end=0, cap=0, budget_resets_at=resets_at)
    recipient = Recipient(e164=ITALIAN, consent="opted_in", tz="UTC", over_budget=True)
    decision = decide("marketing", recipient, rules, NOW)
    assert decision.action == policy.DEFER
    assert decision.due_at == resets_at
    assert decision.deferred_by == (policy.MARKETING_BUDGET,)


@given(st.sampled_from(("transactional", "essential")), st.booleans())
def test_the_budget_never_holds_transactional_or_essential(kind, timing):
    rules = Rules(timing=timing, budget_resets_at=datetime(2026, 4, 1))
    recipient = Recipient(e164=ITALIAN, over_budget=True)
    assert decide(kind, recipient, rules, NOW).action == policy.SEND


def test_a_budget_hold_still_meets_the_send_window():
    # the next month starts at midnight: the window (8-20 in Rome) moves it to 8:00
    resets_at = datetime(2026, 3, 31, 22, 0)  # 1 April 00:00 in Rome
    rules = Rules(window_start=8, window_end=20, cap=0, budget_resets_at=resets_at)
    recipient = Recipient(e164=ITALIAN, consent="opted_in", tz="Europe/Rome", over_budget=True)
    decision = decide("marketing", recipient, rules, NOW)
    assert decision.due_at == datetime(2026, 4, 1, 6, 0)  # 8:00 in Rome (CEST)
    assert decision.deferred_by == (policy.MARKETING_BUDGET, policy.QUIET_HOURS)
