from datetime import datetime

from sms_journey.tools.consent import WebConsent


def test_proof_lists_text_page_time_and_ip():
    consent = WebConsent("I agree.", "/shop/address", datetime(2026, 3, 1, 9, 30, 5), "1.2.3.4")
    assert consent.proof() == (
        "Text shown: I agree.\nPage: /shop/address\nTime (UTC): 2026-03-01 09:30:05\nIP: 1.2.3.4"
    )


def test_proof_without_ip_says_so_and_keeps_user_agent():
    proof = WebConsent("Yes", "/web/signup", datetime(2026, 3, 1), user_agent="UA/1").proof()
    assert "IP: -" in proof
    assert proof.endswith("User agent: UA/1")
