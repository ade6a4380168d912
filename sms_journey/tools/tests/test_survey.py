"""Tests for sms_journey.tools.survey."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sms_journey.tools.survey import Answer, expected_answers, parse_answer

NOISE = st.sampled_from(["", "!", " :)", " grazie", ".", " 👍"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4", Answer("4", 4.0)),
        (" 5!", Answer("5", 5.0)),
        ("4/5", Answer("4", 4.0)),
        ("I'd say 3", Answer("3", 3.0)),
        ("1 1", Answer("1", 1.0)),
        ("6", None),
        ("0", None),
        ("3 or 4", None),
        ("great", None),
        ("4.5", None),
        ("", None),
    ],
)
def test_scale(text, expected):
    assert parse_answer(text, "scale") == expected


@given(st.integers(min_value=-20, max_value=20), NOISE)
def test_scale_in_range_only(number, noise):
    answer = parse_answer(f"{number}{noise}", "scale", 1, 10)
    if 1 <= number <= 10:
        assert answer == Answer(str(number), float(number))
    else:
        assert answer is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("YES", "yes"),
        ("Sì, certo", "yes"),
        ("da", "yes"),
        ("No grazie", "no"),
        ("NON!", "no"),
        ("yes no", None),
        ("maybe", None),
        ("nothing", None),  # a word starting with "no" is not "no"
    ],
)
def test_yes_no(text, expected):
    answer = parse_answer(text, "yes_no")
    assert (answer.value if answer else None) == expected


def test_choice_by_name_or_position():
    choices = ("Shop", "Website", "Phone call")
    assert parse_answer("the website", "choice", choices=choices) == Answer("Website", 2.0)
    assert parse_answer("PHONE CALL!", "choice", choices=choices) == Answer("Phone call", 3.0)
    assert parse_answer("3", "choice", choices=choices) == Answer("Phone call", 3.0)
    assert parse_answer("4", "choice", choices=choices) is None
    assert parse_answer("shop or website", "choice", choices=choices) is None
    assert parse_answer("phone", "choice", choices=choices) is None


@given(st.text())
def test_never_raises(text):
    for kind in ("scale", "yes_no"):
        parse_answer(text, kind)
    parse_answer(text, "choice", choices=("a", "b"))


def test_unknown_kind_and_expected_text():
    with pytest.raises(ValueError):
        parse_answer("1", "stars")
    assert expected_answers("scale", 1, 5) == "1-5"
    assert expected_answers("yes_no") == "YES/NO"
    assert expected_answers("choice", choices=("A", "B")) == "A/B"
