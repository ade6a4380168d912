"""Tests for sms_journey.tools.sms_limits: the gateways' length limits."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sms_journey.tools import sms_limits
from sms_journey.tools.encoding import GSM7, UCS2, analyze
from sms_journey.tools.gateways.base import OutgoingSms
from sms_journey.tools.sms_limits import (
    LONG_TEXT_SEGMENTS,
    check_length,
    client_limits,
    max_length,
    needs_long_text_confirmation,
)

GATEWAY = "twilio"  # conftest's server and client fixtures: the loopback server
texts = st.text(
    alphabet=st.one_of(st.sampled_from("ab €\n"), st.sampled_from("șł😀")), max_size=4000
)
codes = st.sampled_from([None, False, "none", "twilio", "sandbox", "vonage", "unknown"])


@pytest.mark.parametrize("code", ["twilio", "sandbox"])
def test_twilio_and_sandbox_take_1600_characters(code):
    assert max_length(code) == 1600
    assert check_length("a" * 1600, code) is None
    refusal = check_length("a" * 1601, code)
    assert (refusal.length, refusal.limit) == (1601, 1600)
    assert refusal.reason == "1,601 characters: {} accepts at most 1,600. Shorten the text.".format(
        "Twilio" if code == "twilio" else "Sandbox"
    )


def test_twilio_counts_characters_not_septets():
    # 1,600 € are 3,200 septets but 1,600 characters: Twilio takes them
    assert check_length("€" * 1600, "twilio") is None
    assert check_length("😀" * 1601, "twilio").length == 1601


def test_vonage_limit_depends_on_the_encoding():
    assert max_length("vonage") == 3800
    assert max_length("vonage", "ș") == 660
    assert check_length("a" * 3800, "vonage") is None
    assert check_length("a" * 3801, "vonage").limit == 3800
    assert check_length("ș" * 660, "vonage") is None
    assert check_length("ș" * 661, "vonage").limit == 660


@pytest.mark.parametrize("code", [None, False, "", "none", "unknown"])
def test_no_gateway_no_hard_limit(code):
    # Odoo's IAP path refuses nothing by length
    assert max_length(code) is None
    assert check_length("a" * 100_000, code) is None


@given(texts, codes)
def test_refused_exactly_past_the_limit(text, code):
    limit = max_length(code, text)
    refusal = check_length(text, code)
    if limit is None:
        assert refusal is None
    else:
        assert (refusal is not None) == (len(text) > limit)
        if refusal:
            assert (refusal.length, refusal.limit) == (len(text), limit)
            assert refusal.provider == sms_limits.GATEWAY_LIMITS[code].provider


@given(texts)
def test_long_text_confirmation_past_ten_segments(text):
    assert needs_long_text_confirmation(text) == (analyze(text).segments > LONG_TEXT_SEGMENTS)


def test_long_text_boundary():
    assert LONG_TEXT_SEGMENTS == 10
    assert not needs_long_text_confirmation("a" * 153 * 10)
    assert needs_long_text_confirmation("a" * (153 * 10 + 1))
    assert not needs_long_text_confirmation(False)


def test_client_limits():
    assert client_limits("twilio") == {
        "provider": "Twilio",
        GSM7: 1600,
        UCS2: 1600,
        "long_text_segments": LONG_TEXT_SEGMENTS,
    }
    assert client_limits(None)["provider"] is None
    assert client_limits(None)[GSM7] is None


@pytest.mark.parametrize("length", [1600, 1601])
def test_the_loopback_refuses_what_the_rule_refuses(client, length):
    # the sandbox's server and the rule agree on the last character accepted
    body = "a" * length
    result = client.send(
        OutgoingSms(reference="0" * 32, to="+15557654321", body=body, status_callback=None)
    )
    refused = check_length(body, "sandbox") is not None
    assert (result.status != "sent") == refused
