"""Tests for sms_journey.tools.keywords."""

import unicodedata

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from sms_journey.tools.keywords import (
    CONSENT_KEYWORDS,
    classify_consent,
    find_conflicts,
    first_word,
    flatten_families,
    match,
    normalize_text,
    words,
)

FLAT = flatten_families(CONSENT_KEYWORDS)
ALL_KEYWORDS = [(family, kw) for family, kws in FLAT.items() for kw in kws]
NORMALIZED_KEYWORDS = {normalize_text(kw) for _family, kw in ALL_KEYWORDS}

COMBINING_MARKS = "\u0301\u0300\u0302\u0308\u0327\u0326\u030c"
WRAPPERS = ["", "!", ".", "?!", "«", "»", '"', "'", "¡", "¿", "(", ")", "*", "👍", "…", ":)"]
SPACES = ["", " ", "  ", "\t", "\n", "\u00a0", " \r\n "]


@st.composite
def keyword_variants(draw):
    """(family, a keyword typed with random case, accents, punctuation and whitespace)."""
    family, keyword = draw(st.sampled_from(ALL_KEYWORDS))
    chars = []
    for char in keyword:
        char = char.upper() if draw(st.booleans()) else char.lower()
        if char.isalpha() and draw(st.integers(0, 4)) == 0:
            char = unicodedata.normalize("NFC", char + draw(st.sampled_from(COMBINING_MARKS)))
        chars.append(char)
    typed = "".join(chars)
    before = draw(st.sampled_from(SPACES)) + draw(st.sampled_from(WRAPPERS))
    after = draw(st.sampled_from(WRAPPERS)) + draw(st.sampled_from(SPACES))
    return family, before + typed + after


# --- properties ----------------------------------------------------------------------


@given(keyword_variants())
def test_keyword_variants_classify_the_same(case):
    family, text = case
    assert classify_consent(text) == family


@given(keyword_variants(), st.text(max_size=60))
def test_message_starting_with_keyword_classifies_by_first_word(case, rest):
    family, text = case
    assert classify_consent(text + " " + rest) == family


@given(st.text(max_size=60))
def test_text_not_starting_with_keyword_is_unclassified(text):
    assume(first_word(text) not in NORMALIZED_KEYWORDS)
    assert classify_consent(text) is None


@given(st.text(max_size=80))
def test_normalize_text_is_idempotent(text):
    once = normalize_text(text)
    assert normalize_text(once) == once


@given(st.text(max_size=80))
def test_normalize_text_shape(text):
    normalized = normalize_text(text)
    assert normalized == normalized.strip()
    assert "  " not in normalized
    assert not any(unicodedata.combining(c) for c in normalized)


@given(st.text(max_size=60))
def test_first_word_is_normalized_and_in_words(text):
    word = first_word(text)
    assert word == normalize_text(word)
    assert word == (words(text)[0] if words(text) else "")


@given(st.lists(st.sampled_from([kw for _f, kw in ALL_KEYWORDS]), min_size=1), st.text())
def test_match_returns_an_original_keyword(keywords, text):
    for mode in ("first_word", "exact", "contains"):
        result = match(text, keywords, mode)
        assert result is None or result in keywords


@given(st.sampled_from([kw for _f, kw in ALL_KEYWORDS]), st.text(max_size=30),
       st.text(max_size=30))  # fmt: skip
def test_contains_finds_keyword_between_spaces(keyword, before, after):
    assert match(f"{before} {keyword} {after}", [keyword], "contains") == keyword


# --- examples ------------------------------------------------------------------------


def test_no_keyword_in_two_families():
    assert find_conflicts(CONSENT_KEYWORDS) == {}


def test_consent_keywords_shape():
    assert set(CONSENT_KEYWORDS) == {"opt_out", "opt_in", "help", "confirm"}
    for per_language in CONSENT_KEYWORDS.values():
        assert set(per_language) == {"en", "it", "ro", "es", "fr", "de"}
        for keywords in per_language.values():
            assert isinstance(keywords, tuple) and keywords
            assert all(kw == kw.upper() for kw in keywords)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  STOP!  ", "stop"),
        ("«Arrêt»", "arret"),
        ("Ștefan  și\tȚara", "stefan si tara"),
        ("Ştefan şi Ţara", "stefan si tara"),
        ("Straße", "strasse"),
        ("KÜNDIGEN.", "kundigen"),
        ("...¿Sí?", "si"),
        ("don't stop", "don't stop"),
        ("\u200bSTOP\u200b", "stop"),
        ("", ""),
        (None, ""),
        (False, ""),
    ],
)
def test_normalize_text_examples(text, expected):
    assert normalize_text(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("STOP!", "stop"),
        ("stop.", "stop"),
        ("«Stop»", "stop"),
        ("STOP,please", "stop"),
        ("  \n  Stop now", "stop"),
        ("👍 yes", "yes"),
        ("y'all", "y'all"),
        ("!!!", ""),
        ("", ""),
    ],
)
def test_first_word_examples(text, expected):
    assert first_word(text) == expected


@pytest.mark.parametrize(
    ("text", "family"),
    [
        ("STOP", "opt_out"),
        ("Stop please, too many messages", "opt_out"),
        ("cancel", "opt_out"),
        ("Arrêt", "opt_out"),
        ("dezabonare", "opt_out"),
        ("Kündigen!", "opt_out"),
        ("kuendigen", "opt_out"),
        ("start", "opt_in"),
        ("Démarrer", "opt_in"),
        ("help?", "help"),
        ("Info", "help"),
        ("Yes!", "confirm"),
        ("y", "confirm"),
        ("Sì", "confirm"),
        ("sí, gracias", "confirm"),
        ("da", "confirm"),
        ("y'all ok?", None),
        ("please stop", None),
        ("stopping", None),
        ("", None),
        (None, None),
    ],
)
def test_classify_consent_examples(text, family):
    assert classify_consent(text) == family


def test_classify_consent_with_flat_user_lists():
    families = {"opt_out": ["STOP", "Opt out"], "opt_in": ["OPT"], "vip": ["GOLD"]}
    assert classify_consent("opt out now", families) == "opt_out"
    assert classify_consent("opt in", families) == "opt_in"
    assert classify_consent("gold", families) == "vip"
    assert classify_consent("start", families) is None


def test_classify_consent_conflict_prefers_opt_out():
    families = {"confirm": ["OK"], "opt_out": ["ok"]}
    assert classify_consent("OK", families) == "opt_out"
    assert find_conflicts(families) == {"ok": ("confirm", "opt_out")}


def test_families_must_not_be_a_single_string():
    with pytest.raises(TypeError):
        classify_consent("stop", {"opt_out": "STOP"})


def test_flatten_families():
    flat = flatten_families(CONSENT_KEYWORDS)
    assert flat["opt_out"].count("STOP") == 1
    assert "KÜNDIGEN" in flat["opt_out"]
    assert flatten_families({"help": ("HELP", "HELP")}) == {"help": ("HELP",)}


@pytest.mark.parametrize(
    ("text", "mode", "expected"),
    [
        ("stop", "exact", "STOP"),
        ("Stop!!", "exact", "STOP"),
        ("stop now", "exact", None),
        ("stop all", "exact", "STOP ALL"),
        ("stop all now", "first_word", "STOP ALL"),
        ("stop now", "first_word", "STOP"),
        ("please stop now", "first_word", None),
        ("please stop now", "contains", "STOP"),
        ("please, stop all!", "contains", "STOP ALL"),
        ("nonstop", "contains", None),
        ("stopall", "contains", None),
        ("", "contains", None),
    ],
)
def test_match_modes(text, mode, expected):
    assert match(text, ["STOP", "STOP ALL"], mode) == expected


def test_match_longer_keyword_first_regardless_of_order():
    assert match("stop all", ["STOP", "stop all"]) == "stop all"
    assert match("stop all", ["stop all", "STOP"]) == "stop all"


def test_match_rejects_bad_arguments():
    with pytest.raises(ValueError):
        match("stop", ["STOP"], "startswith")
    with pytest.raises(TypeError):
        match("stop", "STOP")


def test_match_ignores_empty_keywords():
    assert match("!!!", ["!!!", ""], "exact") is None


def test_keyword_lists_are_prepared_once_whatever_their_type():
    # the inbound worker matches the same lists against every reply: prepared once
    keywords = ["Stop all", "STOP", "arrêt"]
    expected = match("arret please", keywords)
    assert expected == "arrêt"
    assert match("arret please", tuple(keywords)) == expected
    assert match("arret please", (k for k in keywords)) == expected
    assert match("stop all now", keywords) == "Stop all"
