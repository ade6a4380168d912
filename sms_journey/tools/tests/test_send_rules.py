"""Tests for sms_journey.tools.send_rules: legal windows per destination, the
recipient's zones, and the search for the first instant every window allows."""

from datetime import date, datetime, timedelta

import pytest
import pytz
from hypothesis import given, settings
from hypothesis import strategies as st

from sms_journey.tools import policy, send_rules
from sms_journey.tools.policy import Recipient, Rules, decide
from sms_journey.tools.schedule import cap_release_time
from sms_journey.tools.send_rules import (
    SendRule,
    Window,
    applicable_rules,
    first_allowed,
    is_allowed,
    parse_holidays,
    parse_prefixes,
    recipient_zones,
)

FRENCH_HOLIDAYS = parse_holidays(
    "01-01 easter+1 05-01 05-08 easter+39 easter+50 07-14 08-15 11-01 11-11 12-25"
)
TCPA = SendRule("US TCPA", "US", Window(8, 21, label="US TCPA"), source="47 CFR 64.1200(c)(1)")
FLORIDA = SendRule(
    "Florida FTSA",
    "US",
    Window(8, 20, label="Florida FTSA"),
    region="FL",
    prefixes=("+1305", "+1786", "+1850"),
    max_per_day=3,
)
FRANCE = SendRule(
    "France",
    "FR",
    Window(0, 0, weekdays=frozenset(range(6)), holidays=FRENCH_HOLIDAYS, label="France"),
)
SHIPPED = (TCPA, FLORIDA, FRANCE)

NUMBERS = (
    "+13055551234",  # Miami, Florida
    "+18505551234",  # Florida panhandle
    "+14155551234",  # San Francisco
    "+18005551234",  # toll free: every zone of the NANP
    "+33612345678",  # France
    "+393331234567",  # Italy: no rule
    "+40722123456",  # Romania: no rule
    "+79161234567",  # Russian mobile: many zones
    "+61412345678",  # Australian mobile: several zones
)
ZONES = (
    "Europe/Paris", "America/New_York", "America/Los_Angeles", "Asia/Kolkata",
    "Pacific/Chatham", "Australia/Lord_Howe", "America/St_Johns", "Nowhere/Unknown",
)  # fmt: skip


def _transitions(year_from=2024, year_to=2030):
    instants = []
    for name in ZONES[:-1]:
        for moment in getattr(pytz.timezone(name), "_utc_transition_times", []):
            if year_from <= moment.year <= year_to:
                instants.append(moment)
    return sorted(instants)


TRANSITIONS = _transitions()
minutes_st = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31)).map(
    lambda moment: moment.replace(second=0, microsecond=0)
)
near_transitions = st.builds(
    lambda base, minutes: base + timedelta(minutes=minutes),
    st.sampled_from(TRANSITIONS),
    st.integers(-48 * 60, 48 * 60),
)
instants = st.one_of(minutes_st, near_transitions)
quarter_hours = st.integers(0, 96).map(lambda q: q / 4)
windows_st = st.builds(
    Window,
    start=quarter_hours,
    end=quarter_hours,
    weekdays=st.frozensets(st.integers(0, 6), min_size=1),
    holidays=st.sampled_from((send_rules.NO_HOLIDAYS, FRENCH_HOLIDAYS)),
    label=st.text("abc", min_size=1, max_size=3),
)
rules_st = st.lists(
    st.builds(
        SendRule,
        name=st.text("xyz", min_size=1, max_size=3),
        country=st.sampled_from(("US", "FR", "IT", "RU")),
        window=windows_st,
        region=st.sampled_from(("", "FL")),
        prefixes=st.sampled_from(((), ("+1305",), ("+1850", "+1786"))),
        max_per_day=st.integers(0, 4),
    ),
    max_size=3,
)


def _brute_force(moment, windows, zones, horizon):
    """The first whole minute at or after ``moment`` that every window allows: windows
    on quarter hours and zones with whole-minute offsets change only on whole minutes."""
    minute = timedelta(minutes=1)
    t = moment
    while t <= moment + horizon:
        if is_allowed(t, windows, zones):
            return t
        t += minute
    return None


# --- the search: exact and complete ---------------------------------------------------


@given(
    moment=instants,
    windows=st.lists(windows_st, min_size=1, max_size=3),
    zones=st.lists(st.sampled_from(ZONES[:-1]), min_size=1, max_size=3, unique=True),
)
@settings(max_examples=150)
def test_first_allowed_is_the_first_allowed_minute(moment, windows, zones):
    horizon = timedelta(days=3)
    slot = first_allowed(moment, windows, zones, horizon)
    assert slot.at == _brute_force(moment, windows, zones, horizon)
    if slot.at is not None:
        assert all(w.holds(slot.at, pytz.timezone(z)) for w in windows for z in zones)
        assert bool(slot.closed_by) == (slot.at > moment)
    else:
        assert slot.closed_by


@given(number=st.sampled_from(NUMBERS), contact_tz=st.sampled_from((None, *ZONES)),
       rules=rules_st, moment=instants,
       company=st.sampled_from((Window(8, 21, label="co"), Window(21, 8, label="co"))))  # fmt: skip
@settings(max_examples=200)
def test_an_allowed_instant_is_inside_every_applicable_window_in_every_zone(
    number, contact_tz, rules, company, moment
):
    zones = recipient_zones(contact_tz, number, "Europe/Rome")
    legal = applicable_rules(rules, number)
    windows = (company, *(rule.window for rule in legal))
    horizon = timedelta(days=10)
    slot = first_allowed(moment, windows, zones, horizon)
    if slot.at is None:
        # nothing on a 10-minute grid of the horizon is allowed either
        grid = (moment + timedelta(minutes=10 * k) for k in range(10 * 24 * 6 + 1))
        assert not any(is_allowed(t, windows, zones) for t in grid)
        return
    assert moment <= slot.at <= moment + horizon
    for window in windows:
        for zone in zones:
            assert window.holds(slot.at, pytz.timezone(zone))
    # nothing earlier: a 7-minute grid, and the instants just before
    earlier = [slot.at - timedelta(seconds=s) for s in (1, 59, 60, 61)]
    earlier += [moment + timedelta(minutes=7 * k) for k in range(10 * 24 * 9)]
    assert not any(is_allowed(t, windows, zones) for t in earlier if moment <= t < slot.at)


@given(moment=instants, windows=st.lists(windows_st, max_size=3))
def test_is_allowed_agrees_with_first_allowed(moment, windows):
    slot = first_allowed(moment, windows, ("Europe/Paris",), timedelta(days=2))
    assert (slot.at == moment) == is_allowed(moment, windows, ("Europe/Paris",))


# --- applicable rules and zones -------------------------------------------------------


def test_rules_of_a_destination():
    assert applicable_rules(SHIPPED, "+13055551234") == (TCPA, FLORIDA)
    assert applicable_rules(SHIPPED, "+14155551234") == (TCPA,)
    assert applicable_rules(SHIPPED, "+33612345678") == (FRANCE,)
    assert applicable_rules(SHIPPED, "+393331234567") == ()
    assert applicable_rules(SHIPPED, None) == ()
    # a Florida resident keeps the Florida rule with a Californian number
    assert applicable_rules(SHIPPED, "+14155551234", ("US", "FL")) == (TCPA, FLORIDA)


def test_zones_of_a_recipient():
    # the contact's zone wins
    assert recipient_zones("Europe/Rome", "+14155551234", "Europe/Paris") == ("Europe/Rome",)
    # else the prefix's: a US number without a contact zone gets its area code's
    assert recipient_zones(None, "+14155551234", "Europe/Paris") == ("America/Los_Angeles",)
    assert recipient_zones("Nowhere/Unknown", "+14155551234", None) == ("America/Los_Angeles",)
    # a prefix spanning several zones gives them all
    assert len(recipient_zones(None, "+18005551234", None)) > 10
    # else the company's, else UTC
    assert recipient_zones(None, None, "Europe/Paris") == ("Europe/Paris",)
    assert recipient_zones(None, None, None) == ("UTC",)


def test_country_zones_when_the_prefix_has_none(monkeypatch):
    monkeypatch.setattr(send_rules.phone, "timezones_of", lambda e164: ())
    send_rules._number_facts.cache_clear()
    try:
        zones = recipient_zones(None, "+33612345678", "Asia/Tokyo")
    finally:
        send_rules._number_facts.cache_clear()
    assert zones == tuple(pytz.country_timezones["FR"])


# --- the shipped rules, as the issue states them ---------------------------------------


def _decide(number, now, rules=SHIPPED, contact_tz=None, recent=(), contact_region=None):
    recipient = Recipient(
        e164=number,
        consent="opted_in",
        zones=recipient_zones(contact_tz, number, "Europe/Rome"),
        legal_rules=applicable_rules(rules, number, contact_region),
        recent_marketing=tuple(recent),
    )
    return decide("marketing", recipient, Rules(window_start=8, window_end=21, cap=0), now)


def test_florida_at_half_past_eight_in_the_evening_waits_for_the_morning():
    now = datetime(2026, 3, 11, 0, 30)  # 20:30 in Miami (EDT, UTC-4)
    decision = _decide("+13055551234", now)
    assert decision.action == policy.DEFER
    assert decision.due_at == datetime(2026, 3, 11, 12, 0)  # 08:00 in Miami
    assert decision.deferred_by == (policy.LEGAL_WINDOW,)
    assert decision.rule_names == ("Florida FTSA",)
    # California at the same instant (17:30) is open
    assert _decide("+14155551234", now).action == policy.SEND


def test_florida_allows_three_marketing_sms_per_day():
    now = datetime(2026, 3, 10, 16, 0)  # noon in Miami
    sent = [now - timedelta(hours=h) for h in (1, 2, 23)]
    decision = _decide("+13055551234", now, recent=sent[:2])
    assert decision.action == policy.SEND
    decision = _decide("+13055551234", now, recent=sent)
    assert decision.reason == policy.LEGAL_CAP
    assert decision.rule_names == ("Florida FTSA",)
    # a day later the oldest left the window
    assert _decide("+13055551234", now + timedelta(hours=2), recent=sent).action == policy.SEND
    # no such cap in California
    assert _decide("+14155551234", now, recent=sent).action == policy.SEND


def test_france_is_never_texted_on_a_sunday_or_a_public_holiday():
    sunday = datetime(2026, 3, 8, 10, 0)  # 11:00 in Paris
    decision = _decide("+33612345678", sunday)
    assert decision.due_at == datetime(2026, 3, 9, 7, 0)  # Monday 08:00 in Paris
    assert decision.deferred_by == (policy.QUIET_HOURS, policy.LEGAL_WINDOW)
    # Easter 2026 is 5 April: Saturday evening waits for Tuesday morning
    saturday_night = datetime(2026, 4, 4, 20, 0)  # 22:00 in Paris (CEST)
    assert _decide("+33612345678", saturday_night).due_at == datetime(2026, 4, 7, 6, 0)


def test_the_contacts_zone_wins_over_the_prefix():
    now = datetime(2026, 3, 11, 0, 30)  # 20:30 in Miami, 17:30 in Los Angeles
    decision = _decide("+13055551234", now, contact_tz="America/Los_Angeles")
    assert decision.action == policy.SEND


def test_transactional_sms_ignore_the_legal_rules():
    recipient = Recipient(
        e164="+13055551234",
        zones=("America/New_York",),
        legal_rules=(TCPA, FLORIDA),
        recent_marketing=(datetime(2026, 3, 10, 23, 0),) * 5,
    )
    night = datetime(2026, 3, 11, 5, 0)  # 01:00 in Miami
    assert decide("transactional", recipient, Rules(), night).action == policy.SEND


def test_no_window_within_the_horizon_cancels_with_a_reason():
    closed = SendRule("Never", "FR", Window(8, 9, weekdays=frozenset(), label="Never"))
    decision = _decide("+33612345678", datetime(2026, 3, 10, 12, 0), rules=(closed,))
    assert decision.reason == policy.NO_SEND_WINDOW
    assert decision.rule_names == ("Never",)


@given(number=st.sampled_from(NUMBERS), contact_tz=st.sampled_from((None, *ZONES)),
       rules=rules_st, moment=instants,
       history=st.lists(st.integers(-30 * 60, 60), max_size=5))  # fmt: skip
@settings(max_examples=200)
def test_marketing_is_only_sent_inside_every_applicable_window(
    number, contact_tz, rules, moment, history
):
    recent = [moment + timedelta(minutes=m) for m in history]
    decision = _decide(number, moment, rules, contact_tz, recent)
    legal = applicable_rules(rules, number)
    if decision.canceled:
        assert decision.reason in (policy.LEGAL_CAP, policy.NO_SEND_WINDOW)
        return
    zones = recipient_zones(contact_tz, number, "Europe/Rome")
    windows = (Window(8, 21), *(rule.window for rule in legal))
    assert is_allowed(decision.due_at, windows, zones)
    cap = send_rules.strictest_daily_maximum(legal)
    assert not cap_release_time(recent, cap, 24, moment)


def _decide_on_iap(number, now, contact_tz=None, recent=()):
    """As Odoo's IAP path asks: no outbox, only the legal windows hold an SMS."""
    recipient = Recipient(
        e164=number,
        consent="opted_in",
        zones=recipient_zones(contact_tz, number, "Europe/Rome"),
        legal_rules=applicable_rules(SHIPPED, number),
        recent_marketing=tuple(recent),
    )
    rules = Rules(window_start=9, window_end=19, cap=1, timing=False, legal_hold=True)
    return decide("marketing", recipient, rules, now)


def test_odoos_queue_holds_marketing_for_the_law_only():
    # 20:30 in Miami: the law holds it until the law and the company's window allow
    decision = _decide_on_iap("+13055551234", datetime(2026, 3, 11, 0, 30))
    assert decision.action == policy.DEFER
    assert decision.due_at == datetime(2026, 3, 11, 13, 0)  # 09:00 in Miami
    assert decision.rule_names == ("Florida FTSA",)
    # a French Sunday waits for Monday at the company's opening, not midnight
    decision = _decide_on_iap("+33612345678", datetime(2026, 3, 8, 10, 0))
    assert decision.due_at == datetime(2026, 3, 9, 8, 0)  # Monday 09:00 in Paris
    # no law holds it: the company's own hours and caps need the outbox, it goes now
    night_in_rome = datetime(2026, 3, 10, 22, 0)
    assert _decide_on_iap("+393331234567", night_in_rome).action == policy.SEND
    assert _decide_on_iap("+13055551234", datetime(2026, 3, 10, 16, 0), recent=[
        datetime(2026, 3, 10, 15, 0)] * 5).action == policy.SEND  # fmt: skip
    # without the hold, Odoo's queue sends at once as before
    recipient = Recipient(e164="+13055551234", consent="opted_in",
                          zones=("America/New_York",), legal_rules=(TCPA, FLORIDA))  # fmt: skip
    night = datetime(2026, 3, 11, 5, 0)
    assert decide("marketing", recipient, Rules(timing=False), night).action == policy.SEND


@given(number=st.sampled_from(NUMBERS), contact_tz=st.sampled_from((None, *ZONES)),
       moment=instants)  # fmt: skip
@settings(max_examples=200)
def test_odoos_queue_never_sends_outside_a_legal_window(number, contact_tz, moment):
    decision = _decide_on_iap(number, moment, contact_tz)
    if decision.canceled:
        assert decision.reason == policy.NO_SEND_WINDOW
        return
    legal = applicable_rules(SHIPPED, number)
    zones = recipient_zones(contact_tz, number, "Europe/Rome")
    assert is_allowed(decision.due_at, tuple(rule.window for rule in legal), zones)
    if decision.action == policy.DEFER:
        assert is_allowed(decision.due_at, (Window(9, 19), *(r.window for r in legal)), zones)


# --- parsing the data ----------------------------------------------------------------


def test_holidays():
    holidays = parse_holidays("01-01, 12-25 easter+1 easter-2")
    assert date(2026, 12, 25) in holidays
    assert date(2026, 4, 6) in holidays  # Easter Monday 2026
    assert date(2026, 4, 3) in holidays  # Good Friday 2026
    assert date(2026, 4, 5) not in holidays
    assert not parse_holidays("")
    for wrong in ("12/25", "02-30", "easter", "13-01"):
        with pytest.raises(ValueError):
            parse_holidays(wrong)
    assert all(
        day in FRENCH_HOLIDAYS
        for day in (date(2026, 5, 14), date(2026, 5, 25), date(2026, 7, 14), date(2026, 11, 11))
    )  # Ascension and Whit Monday 2026


def test_prefixes():
    assert parse_prefixes("+1305, +1786\n+1850") == ("+1305", "+1786", "+1850")
    assert parse_prefixes("") == ()
    with pytest.raises(ValueError):
        parse_prefixes("1305")


def test_windows_check_their_hours():
    with pytest.raises(ValueError):
        Window(8, 25)
