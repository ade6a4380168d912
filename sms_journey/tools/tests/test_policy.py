"""Tests for sms_journey.tools.policy: consent × blacklist × kind × time zone × caps."""

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sms_journey.tools import policy
from sms_journey.tools.policy import Decision, Recipient, Rules, decide
from sms_journey.tools.schedule import cap_release_time, is_within_window

TIMEZONES = ("Europe/Rome", "Europe/Bucharest", "America/New_York", "Asia/Kolkata", "UTC",
             "Pacific/Chatham", "Nowhere/Unknown")  # fmt: skip
CONSENTS = ("unknown", "pending", "opted_in", "opted_out")
NOW = datetime(2026, 3, 10, 12, 0)

moments = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31))
quarter_hours = st.integers(0, 96).map(lambda q: q / 4)
rules_st = st.builds(
    Rules,
    consent_required=st.booleans(),
    window_start=quarter_hours,
    window_end=quarter_hours,
    cap=st.integers(0, 4),
    cap_hours=st.integers(0, 72),
    cap_policy=st.sampled_from(("defer", "skip")),
    timing=st.booleans(),
)


@st.composite
def recipients(draw, now=None):
    base = now or NOW
    history = draw(st.lists(st.integers(-72 * 60, 60).map(lambda m: base + timedelta(minutes=m)),
                            max_size=6))  # fmt: skip
    return Recipient(
        e164=draw(st.sampled_from(("+393331234567", "+40722123456", None))),
        blacklisted=draw(st.booleans()),
        consent=draw(st.sampled_from(CONSENTS)),
        list_consent=draw(st.booleans()),
        tz=draw(st.sampled_from(TIMEZONES)),
        recent_marketing=tuple(history),
    )


kinds = st.sampled_from(policy.KINDS)


@given(kinds, recipients(), rules_st)
@settings(max_examples=400)
def test_every_decision_is_well_formed(kind, recipient, rules):
    decision = decide(kind, recipient, rules, NOW)
    assert decision.action in (policy.SEND, policy.DEFER, policy.CANCEL)
    assert decision.due_at >= NOW
    assert (decision.due_at > NOW) == (decision.action == policy.DEFER)
    assert (decision.reason is not None) == (decision.action == policy.CANCEL)
    assert decision.reason is None or decision.reason in policy.CANCEL_REASONS
    assert bool(decision.deferred_by) == (decision.action == policy.DEFER)


@given(kinds, recipients(), rules_st)
def test_invalid_numbers_are_canceled_for_every_kind(kind, recipient, rules):
    recipient = Recipient(**{**recipient.__dict__, "e164": None})
    assert decide(kind, recipient, rules, NOW) == Decision(policy.CANCEL, NOW, "invalid_number")


@given(recipients(), rules_st)
def test_essential_goes_out_at_once_to_any_valid_number(recipient, rules):
    decision = decide("essential", recipient, rules, NOW)
    assert decision.action == (policy.SEND if recipient.e164 else policy.CANCEL)


@given(recipients(), rules_st)
def test_transactional_respects_the_blacklist_only(recipient, rules):
    decision = decide("transactional", recipient, rules, NOW)
    if not recipient.e164:
        assert decision.reason == "invalid_number"
    elif recipient.blacklisted:
        assert decision.reason == "opted_out"
    else:
        # consent, quiet hours and caps are for marketing
        assert decision == Decision(policy.SEND, NOW)


@given(recipients(), rules_st)
@settings(max_examples=400)
def test_marketing_never_reaches_a_contact_without_consent(recipient, rules):
    decision = decide("marketing", recipient, rules, NOW)
    if decision.action == policy.CANCEL:
        return
    assert recipient.e164 and not recipient.blacklisted
    assert recipient.consent != "opted_out"
    if rules.consent_required:
        assert recipient.consent == "opted_in" or recipient.list_consent


@given(recipients(), rules_st)
def test_marketing_opt_out_and_stop_are_told_apart(recipient, rules):
    decision = decide("marketing", recipient, rules, NOW)
    if recipient.e164 and recipient.blacklisted:
        assert decision.reason == "opted_out"
    elif recipient.e164 and recipient.consent == "opted_out":
        assert decision.reason == "marketing_opt_out"


@given(recipients(), rules_st, moments)
@settings(max_examples=400)
def test_deferred_marketing_lands_inside_the_window_and_under_the_cap(recipient, rules, now):
    recipient = Recipient(
        **{**recipient.__dict__, "e164": "+393331234567", "blacklisted": False,
           "consent": "opted_in"}
    )  # fmt: skip
    decision = decide("marketing", recipient, rules, now)
    if not rules.timing:
        assert decision == Decision(policy.SEND, now)
        return
    if decision.action == policy.CANCEL:
        assert decision.reason == "frequency_cap" and rules.cap_policy == "skip"
        assert cap_release_time(recipient.recent_marketing, rules.cap, rules.cap_hours, now)
        return
    tz = recipient.tz if recipient.tz != "Nowhere/Unknown" else "UTC"
    assert is_within_window(decision.due_at, tz, rules.window_start, rules.window_end)
    if "frequency_cap" not in decision.deferred_by:
        assert cap_release_time(recipient.recent_marketing, rules.cap, rules.cap_hours, now) is None


def test_consent_modes():
    unknown = Recipient(e164="+393331234567", consent="unknown")
    assert decide("marketing", unknown, Rules(), NOW).reason == "no_consent"
    assert decide("marketing", unknown, Rules(consent_required=False), NOW).action == "send"
    subscriber = Recipient(e164="+393331234567", list_consent=True)
    assert decide("marketing", subscriber, Rules(), NOW).action == "send"
    revoked = Recipient(e164="+393331234567", consent="opted_out", list_consent=True)
    assert decide("marketing", revoked, Rules(consent_required=False), NOW).reason == (
        "marketing_opt_out"
    )
    assert decide("transactional", revoked, Rules(), NOW).action == "send"


def test_quiet_hours_in_the_recipients_zone():
    rome = Recipient(e164="+393331234567", consent="opted_in", tz="Europe/Rome")
    night = datetime(2026, 3, 10, 22, 0)  # 23:00 in Rome
    decision = decide("marketing", rome, Rules(window_start=9, window_end=20), night)
    assert decision.action == "defer"
    assert decision.due_at == datetime(2026, 3, 11, 8, 0)  # 09:00 in Rome
    assert decision.deferred_by == ("quiet_hours",)
    # without a queue (IAP) the SMS goes at once
    assert decide("marketing", rome, Rules(timing=False), night).action == "send"


def test_frequency_cap_defers_or_skips():
    sent = (NOW - timedelta(hours=1), NOW - timedelta(hours=2))
    capped = Recipient(e164="+393331234567", consent="opted_in", recent_marketing=sent)
    rules = Rules(cap=2, cap_hours=24, window_start=0, window_end=0)
    decision = decide("marketing", capped, rules, NOW)
    assert decision == Decision("defer", NOW + timedelta(hours=22), deferred_by=("frequency_cap",))
    skip = Rules(cap=2, cap_hours=24, cap_policy="skip")
    assert decide("marketing", capped, skip, NOW).reason == "frequency_cap"


def test_unknown_kind_is_an_error():
    with pytest.raises(ValueError):
        decide("promo", Recipient(e164="+393331234567"), Rules(), NOW)


@given(
    kind=st.sampled_from(policy.KINDS),
    recipient=recipients(),
    rules=rules_st,
    now=moments,
    blacklist_empty=st.booleans(),
)
@settings(max_examples=500)
def test_always_sends_agrees_with_decide(kind, recipient, rules, now, blacklist_empty):
    """The dispatch's shortcut never skips an SMS that ``decide`` would hold or cancel."""
    if recipient.e164 is None or (blacklist_empty and recipient.blacklisted):
        return
    if policy.always_sends(kind, blacklist_empty):
        assert decide(kind, recipient, rules, now).action == policy.SEND
