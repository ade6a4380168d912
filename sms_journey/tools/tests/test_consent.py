from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st

from sms_journey.tools.consent import (
    BLACKLISTED,
    CONTACT_SOURCES,
    NO_PROOF,
    NUMBER_LIMIT,
    STOPPED,
    ConfirmationLimits,
    WebConsent,
    confirmation_refusal,
    consent_refusal,
)


def test_proof_lists_text_page_time_and_ip():
    consent = WebConsent("I agree.", "/shop/address", datetime(2026, 3, 1, 9, 30, 5), "1.2.3.4")
    assert consent.proof() == (
        "Text shown: I agree.\nPage: /shop/address\nTime (UTC): 2026-03-01 09:30:05\nIP: 1.2.3.4"
    )


def test_proof_without_ip_says_so_and_keeps_user_agent():
    proof = WebConsent("Yes", "/web/signup", datetime(2026, 3, 1), user_agent="UA/1").proof()
    assert "IP: -" in proof
    assert proof.endswith("User agent: UA/1")


# --- the consent matrix ---------------------------------------------------------------

STATES = ("unknown", "pending", "opted_in", "opted_out")
SOURCES = ("web_form", "checkout", "keyword", "import", "staff", "api", "provider", "blacklist")


@given(
    new_state=st.sampled_from(STATES),
    source=st.sampled_from(SOURCES),
    proof=st.sampled_from(["", "  ", "signed form #4"]),
    state=st.sampled_from(STATES),
    state_source=st.sampled_from(SOURCES),
    blacklisted=st.booleans(),
)
def test_only_the_contact_lifts_a_stop_and_others_opt_in_with_proof(
    new_state, source, proof, state, state_source, blacklisted
):
    refusal = consent_refusal(
        new_state, source, proof, state=state, state_source=state_source, blacklisted=blacklisted
    )
    stopped = blacklisted or (state == "opted_out" and state_source in CONTACT_SOURCES)
    if new_state == "opted_out" or source in CONTACT_SOURCES:
        assert refusal is None
    elif stopped:
        assert refusal == STOPPED
    elif new_state == "opted_in" and not proof.strip():
        assert refusal == NO_PROOF
    else:
        assert refusal is None


def test_staff_no_marketing_can_be_lifted_with_proof_but_a_stop_cannot():
    kwargs = {"state": "opted_out", "blacklisted": False}
    assert consent_refusal("opted_in", "staff", "form", state_source="staff", **kwargs) is None
    assert consent_refusal("opted_in", "staff", "form", state_source="keyword", **kwargs) == STOPPED
    assert consent_refusal("opted_in", "keyword", "", state_source="keyword", **kwargs) is None


# --- the website's double opt-in limits ------------------------------------------------


@given(
    blacklisted=st.booleans(),
    to_number=st.integers(0, 5),
    from_ip=st.integers(0, 5),
    from_session=st.integers(0, 5),
)
def test_a_confirmation_sms_only_within_every_limit(blacklisted, to_number, from_ip, from_session):
    limits = ConfirmationLimits()
    refusal = confirmation_refusal(
        blacklisted=blacklisted,
        sent_to_number=to_number,
        sent_from_ip=from_ip,
        sent_from_session=from_session,
        limits=limits,
    )
    allowed = (
        not blacklisted
        and to_number < limits.per_number
        and from_ip < limits.per_ip
        and from_session < limits.per_session
    )
    assert (refusal is None) == allowed
    if blacklisted:
        assert refusal == BLACKLISTED


def test_one_confirmation_per_number():
    counts = {"sent_from_ip": 0, "sent_from_session": 0}
    assert confirmation_refusal(blacklisted=False, sent_to_number=0, **counts) is None
    assert confirmation_refusal(blacklisted=False, sent_to_number=1, **counts) == NUMBER_LIMIT
