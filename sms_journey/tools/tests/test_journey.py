import dataclasses
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sms_journey.tools import journey


def test_wait_delta_units():
    assert journey.wait_delta(3, "hours") == timedelta(hours=3)
    assert journey.wait_delta(2, "days") == timedelta(days=2)
    assert journey.wait_delta(-1, "days") == timedelta(0)
    with pytest.raises(ValueError):
        journey.wait_delta(1, "weeks")


def test_step_due_time_from_previous_or_enrolment():
    enrolled = datetime(2026, 1, 1)
    previous = datetime(2026, 1, 5, 10)
    assert journey.step_due_time(enrolled, None, 1, "days") == datetime(2026, 1, 2)
    assert journey.step_due_time(enrolled, previous, 1, "days") == datetime(2026, 1, 6, 10)
    assert journey.step_due_time(enrolled, previous, 30, "days", "enrolment") == datetime(
        2026, 1, 31
    )


def test_yearly_occurrences_two_time_zones():
    since, until = datetime(2027, 2, 27), datetime(2027, 3, 1)
    rome = journey.yearly_occurrences(date(1990, 2, 28), since, until, 10.0, "Europe/Rome")
    ny = journey.yearly_occurrences(date(1990, 2, 28), since, until, 10.0, "America/New_York")
    assert rome == [datetime(2027, 2, 28, 9)]
    assert ny == [datetime(2027, 2, 28, 15)]


def test_leap_day_birthday_on_28_february():
    since, until = datetime(2027, 2, 27), datetime(2027, 3, 2)
    assert journey.yearly_occurrences(date(2000, 2, 29), since, until, 0.0, "UTC") == [
        datetime(2027, 2, 28)
    ]


def test_anniversary_needs_a_full_year():
    since, until = datetime(2026, 5, 1), datetime(2026, 5, 31)
    assert journey.yearly_occurrences(date(2026, 5, 10), since, until, 9, "UTC", 1) == []
    assert journey.yearly_occurrences(date(2025, 5, 10), since, until, 9, "UTC", 1) == [
        datetime(2026, 5, 10, 9)
    ]


def test_unknown_timezone_falls_back_to_utc():
    assert journey.yearly_send_time(date(1990, 6, 1), 2026, 9.0, "Mars/Base") == datetime(
        2026, 6, 1, 9
    )


def test_reentry_policy():
    now = datetime(2026, 6, 1)
    assert journey.within_reentry([], now, "never", 0)
    assert not journey.within_reentry([now - timedelta(days=400)], now, "never", 0)
    assert journey.within_reentry([now - timedelta(days=31)], now, "after_days", 30)
    assert not journey.within_reentry([now - timedelta(days=29)], now, "after_days", 30)


@given(
    st.dates(min_value=date(1950, 1, 1), max_value=date(2030, 12, 31)),
    st.integers(min_value=2031, max_value=2060),
)
def test_one_occurrence_per_year(origin, year):
    since, until = datetime(year, 1, 1), datetime(year + 1, 1, 1)
    found = journey.yearly_occurrences(origin, since, until, 12.0, "UTC")
    assert len(found) == 1
    assert found[0].year == year


def test_days_between_and_cost():
    assert journey.days_between(date(2026, 1, 1), date(2026, 1, 3)) == [
        date(2026, 1, 2),
        date(2026, 1, 3),
    ]
    assert journey.cost_of(3, 0.01) == 0.03


# --- the step rules ---------------------------------------------------------------

ACTIONS = ("sms", "survey", "appointment", "tag_add", "set_stage", "opt_out", "end", "branch")


def test_conditions_on_a_reaction():
    def reacted(done):
        return lambda reaction: reaction in done

    assert journey.condition_met("clicked", reacted({"clicked"}), None)
    assert not journey.condition_met("clicked", reacted({"replied"}), None)
    assert journey.condition_met("not_clicked", reacted({"replied"}), None)
    assert journey.condition_met("keyword", reacted({"keyword"}), None)
    assert not journey.condition_met("not_ordered", reacted({"ordered"}), None)


def test_conditions_ask_only_what_they_need():
    def never(*_args):
        raise AssertionError("not asked")

    assert journey.condition_met("none", never, never)
    assert journey.condition_met("consenting", never, lambda: True)
    assert not journey.condition_met("partner", never, lambda: False)
    assert not journey.condition_met("replied", lambda reaction: False, never)


def test_assuming_no_reaction_takes_the_negative_conditions():
    met = {
        condition
        for condition in journey.REACTION_CONDITIONS
        if journey.condition_met(condition, journey.no_reaction, None)
    }
    assert met == {"not_clicked", "not_replied", "not_ordered"}


def test_step_outcome_in_order():
    assert journey.step_outcome("branch", True, True) == journey.StepOutcome("branch", "yes")
    assert journey.step_outcome("branch", False, False) == journey.StepOutcome("branch", "no")
    # the condition comes before the control group
    assert journey.step_outcome("sms", False, True).kind == journey.SKIPPED
    assert journey.step_outcome("sms", True, True).kind == journey.HELD_OUT
    # the control group walks the steps that do not text
    assert journey.step_outcome("tag_add", True, True).kind == journey.RUN
    assert journey.step_outcome("survey", True, False).kind == journey.RUN


@given(st.sampled_from(ACTIONS), st.booleans(), st.booleans())
def test_only_texting_steps_are_held_out_and_only_branches_have_a_side(action, met, holdout):
    outcome = journey.step_outcome(action, met, holdout)
    if outcome.kind == journey.HELD_OUT:
        assert holdout and met and action in journey.SMS_ACTIONS
    assert (outcome.side is not None) == (action == "branch")
    assert outcome.kind != journey.RUN or met


def test_a_run_ends_at_an_ending_step_that_ran():
    ran = journey.StepOutcome(journey.RUN)
    skipped = journey.StepOutcome(journey.SKIPPED)
    assert journey.ends_journey(ran, "end")
    assert journey.ends_journey(ran, "opt_out")
    assert not journey.ends_journey(skipped, "end")
    assert not journey.ends_journey(ran, "sms")


def test_a_step_is_done_when_its_sms_goes():
    now = datetime(2026, 3, 1, 22)
    assert journey.step_done_at(now) == now
    assert journey.step_done_at(now, datetime(2026, 3, 2, 9)) == datetime(2026, 3, 2, 9)
    assert journey.step_done_at(now, now - timedelta(hours=1)) == now


def test_candidate_is_frozen():
    cand = journey.Candidate(7, "2026", datetime(2026, 1, 1))
    assert cand.source_model is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        cand.moment = datetime(2026, 1, 2)
    later = dataclasses.replace(cand, moment=datetime(2026, 1, 2))
    assert (later.partner_id, later.key) == (7, "2026")
