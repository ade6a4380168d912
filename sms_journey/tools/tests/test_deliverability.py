from dataclasses import replace
from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st

from sms_journey.tools import deliverability as d
from sms_journey.tools import policy

outcome = st.tuples(st.sampled_from(["delivered", "failed"]), st.booleans())


def test_permanent_codes_per_provider():
    assert d.is_permanent("twilio", "30005", "invalid_number")
    assert d.is_permanent("twilio", 30006, "invalid_number")
    # switched off, filtered, unregistered sender, STOP: not the number's death
    for code in ("30003", "30007", "30034", "21610"):
        assert not d.is_permanent("twilio", code, "rejected")
    assert d.is_permanent("vonage", "3", "invalid_number")
    assert not d.is_permanent("vonage", "2", "not_delivered")
    # the sandbox has no raw codes: the normalised one decides
    assert d.is_permanent("sandbox", None, "invalid_number")
    assert not d.is_permanent("sandbox", None, "expired")


def test_delivery_resets_temporary_failures_do_not():
    permanent, temporary = ("failed", True), ("failed", False)
    assert d.permanent_failures_in_a_row([permanent, temporary, permanent]) == 2
    assert d.permanent_failures_in_a_row([permanent, ("delivered", False), permanent]) == 1
    assert d.suppressed([permanent] * 3, 3)
    assert not d.suppressed([permanent, permanent, ("delivered", False), permanent], 3)
    assert not d.suppressed([permanent] * 5, 0)


@given(st.lists(outcome, max_size=20), st.integers(min_value=1, max_value=6))
def test_suppression_is_the_newest_run(outcomes, threshold):
    run = 0
    for state, permanent in outcomes:
        if state == "delivered":
            break
        run += permanent
    assert d.suppressed(outcomes, threshold) == (run >= threshold)
    # a new delivery always clears it
    assert not d.suppressed([("delivered", False), *outcomes], threshold)


@given(
    st.integers(min_value=0, max_value=10_000),
    st.integers(min_value=0, max_value=10_000),
    st.floats(min_value=0, max_value=100),
    st.integers(min_value=0, max_value=500),
)
def test_rate_alert(reached, failed, rate, min_volume):
    failed = min(failed, reached)
    alert = d.rate_alert(reached, failed, rate, min_volume)
    if reached < max(min_volume, 1):
        assert not alert
    else:
        assert alert == (100.0 * failed / reached >= rate)


def test_rate_alert_examples():
    assert d.rate_alert(50, 5, 10, 50)
    assert not d.rate_alert(49, 49, 10, 50)
    assert not d.rate_alert(100, 9, 10, 50)


@given(
    st.sampled_from(("marketing", "transactional", "essential")),
    st.booleans(),
    st.booleans(),
)
def test_policy_suppresses_marketing_only(kind, timing, consent_required):
    now = datetime(2026, 3, 10, 12, 0)
    recipient = policy.Recipient(
        e164="+393331234567", consent="opted_in", tz="Europe/Rome", undeliverable=True
    )
    rules = policy.Rules(
        timing=timing, consent_required=consent_required, window_start=0, window_end=24
    )
    decision = policy.decide(kind, recipient, rules, now)
    if kind == "marketing":
        assert decision.reason == policy.UNDELIVERABLE
    else:
        assert decision == policy.Decision(policy.SEND, now)
    # without the suppression the same marketing SMS goes
    fine = policy.decide(kind, replace(recipient, undeliverable=False), rules, now)
    assert fine.action == policy.SEND
