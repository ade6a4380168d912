"""Tests for sms_journey.tools.keyword_rules."""

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sms_journey.tools.keyword_rules import (
    SPECIFICITY,
    KeywordRule,
    matches,
    parse_keywords,
    pick,
)
from sms_journey.tools.keywords import match, words

WORDS = ["yes", "si", "ok", "price", "info please", "cancel", "confirm", "r", "c", "promo"]
MODES = list(SPECIFICITY)


@st.composite
def rule_lists(draw):
    count = draw(st.integers(min_value=0, max_value=6))
    return [
        KeywordRule(
            id=index + 1,
            keywords=tuple(
                draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=3, unique=True))
            ),
            mode=draw(st.sampled_from(MODES)),
            sequence=draw(st.integers(min_value=0, max_value=3)),
        )
        for index in range(count)
    ]


messages = st.lists(st.sampled_from([*WORDS, "hello", "the", "!", "Sì"]), max_size=5).map(" ".join)


def test_parse_keywords_splits_and_dedupes():
    assert parse_keywords(" YES, sì ;Si\nOK , ,yes!") == ("YES", "sì", "OK")
    assert parse_keywords("") == ()
    assert parse_keywords(False) == ()
    assert parse_keywords("more  info") == ("more info",)


@given(st.text())
def test_parse_keywords_never_empty_words(text):
    for keyword in parse_keywords(text):
        assert words(keyword)


def test_lower_sequence_wins():
    rules = [
        KeywordRule(1, ("yes",), "exact", sequence=20),
        KeywordRule(2, ("yes",), "contains", sequence=10),
    ]
    assert pick("yes", rules).rule.id == 2


def test_specificity_exact_first_word_contains():
    rules = [
        KeywordRule(1, ("price",), "contains"),
        KeywordRule(2, ("price",), "first_word"),
        KeywordRule(3, ("price",), "exact"),
    ]
    assert pick("Price!", rules).rule.id == 3
    assert pick("price of the shoes", rules).rule.id == 2
    assert pick("what price?", rules).rule.id == 1


def test_longer_keyword_wins_on_same_mode():
    rules = [KeywordRule(1, ("info",), "contains"), KeywordRule(2, ("info please",), "contains")]
    assert pick("more info please", rules).rule.id == 2
    assert pick("more info", rules).rule.id == 1


def test_no_match_and_accents():
    rules = [KeywordRule(1, ("SÌ",), "first_word")]
    assert pick("no thanks", rules) is None
    assert pick("si grazie", rules).keyword == "SÌ"
    assert pick("", rules) is None


def test_bad_rule_values():
    with pytest.raises(ValueError):
        KeywordRule(1, ("x",), "regex")
    with pytest.raises(TypeError):
        KeywordRule(1, "x")


@given(messages, rule_lists())
def test_winner_matches_and_is_minimal(text, rules):
    winner = pick(text, rules)
    matching = [rule for rule in rules if match(text, rule.keywords, rule.mode)]
    if not matching:
        assert winner is None
        return
    assert winner.rule in matching
    assert match(text, (winner.keyword,), winner.rule.mode) == winner.keyword
    assert winner.rule.sequence == min(rule.sequence for rule in matching)
    best_mode = min(SPECIFICITY[r.mode] for r in matching if r.sequence == winner.rule.sequence)
    assert SPECIFICITY[winner.rule.mode] == best_mode


@given(messages, rule_lists(), st.randoms())
def test_order_of_rules_does_not_matter(text, rules, rnd):
    shuffled = list(rules)
    rnd.shuffle(shuffled)
    assert pick(text, rules) == pick(text, shuffled)
    assert [m.rule.id for m in matches(text, rules)] == [m.rule.id for m in matches(text, shuffled)]


def test_order_independence_fixed_example():
    rules = [KeywordRule(i, ("ok",), "contains") for i in range(1, 6)]
    random.Random(1).shuffle(rules)
    assert pick("ok", rules).rule.id == 1
