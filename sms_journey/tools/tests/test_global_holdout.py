"""Tests for sms_journey.tools.global_holdout: the draw of the global control group, and
the policy's cancel of marketing SMS to held-out contacts."""

from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from sms_journey.tools import global_holdout, policy
from sms_journey.tools.global_holdout import bucket, held_out, seed_key, threshold

seeds = st.text(min_size=1, max_size=20)
shares = st.floats(min_value=1.0, max_value=60.0, allow_nan=False)


def share_of(seed, percent, ids):
    return sum(held_out(seed, pid, percent) for pid in ids) / len(ids)


@settings(max_examples=30, deadline=None)
@given(seed=seeds, percent=shares, start=st.integers(min_value=1, max_value=10**7))
def test_share_respected_within_tolerance(seed, percent, start):
    # 20,000 consecutive ids (how contacts are numbered): 4 standard errors at most
    ids = range(start, start + 20_000)
    expected = percent / 100
    tolerance = 4 * (expected * (1 - expected) / len(ids)) ** 0.5
    assert abs(share_of(seed, percent, ids) - expected) <= tolerance


@given(seed=seeds, pid=st.integers(min_value=1, max_value=2**31), percent=shares)
def test_same_seed_same_draw(seed, pid, percent):
    assert held_out(seed, pid, percent) == held_out(seed, pid, percent)
    # a larger share keeps every contact a smaller one held out
    assert held_out(seed, pid, percent) <= held_out(seed, pid, min(percent * 2, 100))


@settings(max_examples=30, deadline=None)
@given(seed=seeds)
def test_new_seed_new_draw(seed):
    ids = range(1, 5001)
    first = {pid for pid in ids if held_out(seed, pid, 10)}
    second = {pid for pid in ids if held_out(seed + "-next", pid, 10)}
    # independent draws of 10 %: they share about 1 % of the ids, not 10 %
    assert len(first & second) < 0.03 * len(ids)
    assert first != second


def test_edges_and_known_values():
    assert not held_out("s", 7, 0)
    assert held_out("s", 7, 100)
    assert not held_out("", 7, 50) and not held_out("s", 0, 50)
    assert threshold(10) == 429496729
    assert threshold(150) == 2**32 and threshold(-1) == 0
    # fixed values, so that the SQL function can be checked against them
    assert seed_key("abc") == 0xBA7816BF
    assert bucket(seed_key("abc"), 5) == bucket(0xBA7816BF, 5)
    assert 0 <= bucket(seed_key("abc"), 5) < 2**32
    assert len(global_holdout.new_seed()) == 16
    assert global_holdout.new_seed() != global_holdout.new_seed()


def test_bucket_is_a_bijection_on_a_small_range():
    key = seed_key("x")
    assert len({bucket(key, pid) for pid in range(1, 70_000)}) == 69_999


def test_running():
    start, end = datetime(2026, 1, 1), datetime(2026, 4, 1)
    assert global_holdout.is_running(start, end, datetime(2026, 2, 1))
    assert not global_holdout.is_running(start, end, end)
    assert not global_holdout.is_running(start, end, datetime(2025, 12, 31))
    assert not global_holdout.is_running(None, end, datetime(2026, 2, 1))


NOW = datetime(2026, 3, 2, 12)


@given(kind=st.sampled_from(policy.KINDS), held=st.booleans())
def test_policy_cancels_marketing_only(kind, held):
    recipient = policy.Recipient(e164="+393331234567", consent="opted_in", global_holdout=held)
    decision = policy.decide(kind, recipient, policy.Rules(timing=False), NOW)
    if kind == "marketing" and held:
        assert decision.canceled and decision.reason == policy.GLOBAL_HOLDOUT
    else:
        assert decision.action == policy.SEND


def test_policy_consent_reasons_come_first():
    # a contact who could not be texted anyway is reported as such
    recipient = policy.Recipient(e164="+393331234567", consent="opted_out", global_holdout=True)
    decision = policy.decide("marketing", recipient, policy.Rules(timing=False), NOW)
    assert decision.reason == policy.MARKETING_OPT_OUT
