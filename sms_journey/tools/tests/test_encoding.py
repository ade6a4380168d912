"""Tests for sms_journey.tools.encoding."""

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sms_journey.tools import encoding
from sms_journey.tools.encoding import (
    GSM7,
    GSM7_BASIC_CHARS,
    GSM7_EXTENSION_CHARS,
    UCS2,
    analyze,
    char_cost,
    is_gsm7,
    segment_count,
    split_segments,
)

GSM_ALPHABET = "".join(sorted(GSM7_BASIC_CHARS | GSM7_EXTENSION_CHARS))
gsm_text = st.text(alphabet=GSM_ALPHABET, max_size=700)
# Weighted towards the interesting cases: extension chars, BMP non-GSM, astral emoji.
any_char = st.one_of(
    st.sampled_from(GSM_ALPHABET),
    st.sampled_from("€[]{}^~|\\"),
    st.sampled_from("ăâîșțĂÂÎȘȚçñ…“”’—€"),
    st.sampled_from("😀🎉👍🏽🇮🇹𝄞"),
    st.characters(exclude_categories=("Cs",)),
)
any_text = st.text(alphabet=any_char, max_size=500)
non_gsm_char = st.characters(exclude_categories=("Cs",)).filter(lambda c: not is_gsm7(c))


def _limits(info):
    single = 160 if info.encoding == GSM7 else 70
    per_segment = 153 if info.encoding == GSM7 else 67
    return single, per_segment


def _units(text, enc):
    return sum(char_cost(char, enc) for char in text)


# --- properties ----------------------------------------------------------------------


@given(any_text)
def test_segments_within_limits(text):
    info = analyze(text)
    parts = split_segments(text)
    single, per_segment = _limits(info)
    limit = single if len(parts) == 1 else per_segment
    for part in parts:
        assert 0 < _units(part, info.encoding) <= limit


@given(any_text)
def test_split_joins_back_and_matches_count(text):
    parts = split_segments(text)
    assert "".join(parts) == text
    assert len(parts) == analyze(text).segments == segment_count(text)


@given(any_text)
def test_length_is_sum_of_char_costs(text):
    info = analyze(text)
    assert info.length == _units(text, info.encoding)
    if info.encoding == UCS2:
        assert info.length == len(text.encode("utf-16-le")) // 2


@given(any_text.filter(bool))
def test_chars_left_in_range(text):
    info = analyze(text)
    single, per_segment = _limits(info)
    limit = single if info.segments == 1 else per_segment
    assert 0 <= info.chars_left < limit
    last = split_segments(text)[-1]
    assert info.chars_left == limit - _units(last, info.encoding)


@given(any_text.filter(bool))
def test_chars_left_is_what_still_fits(text):
    info = analyze(text)
    filler = "a" if info.encoding == GSM7 else "ж"
    assert segment_count(text + filler * info.chars_left) == info.segments
    assert segment_count(text + filler * (info.chars_left + 1)) == info.segments + 1


@given(gsm_text)
def test_gsm_only_is_never_ucs2(text):
    info = analyze(text)
    assert info.encoding == GSM7
    assert info.unicode_chars == ()
    assert is_gsm7(text)


@given(gsm_text, non_gsm_char, st.data())
def test_one_non_gsm_char_forces_ucs2(text, char, data):
    position = data.draw(st.integers(0, len(text)))
    mixed = text[:position] + char + text[position:]
    info = analyze(mixed)
    assert info.encoding == UCS2
    assert info.unicode_chars == (char,)
    assert not is_gsm7(mixed)


@given(any_text)
def test_unicode_chars_are_the_distinct_non_gsm_chars(text):
    info = analyze(text)
    assert set(info.unicode_chars) == {c for c in text if not is_gsm7(c)}
    assert len(set(info.unicode_chars)) == len(info.unicode_chars)


# --- examples at the boundaries ------------------------------------------------------


def test_empty_text():
    info = analyze("")
    assert (info.encoding, info.length, info.segments, info.chars_left) == (GSM7, 0, 0, 160)
    assert split_segments("") == []
    assert segment_count("") == 0
    assert analyze(None).segments == 0
    assert analyze(False).segments == 0


def test_non_str_rejected():
    with pytest.raises(TypeError):
        analyze(123)


@pytest.mark.parametrize(
    ("text", "segments", "chars_left"),
    [
        ("a" * 1, 1, 159),
        ("a" * 160, 1, 0),
        ("a" * 161, 2, 153 - 8),
        ("a" * 306, 2, 0),
        ("a" * 307, 3, 152),
        ("a" * 153 * 3, 3, 0),
        ("a" * (153 * 3 + 1), 4, 152),
    ],
)
def test_gsm_boundaries(text, segments, chars_left):
    info = analyze(text)
    assert info.encoding == GSM7
    assert (info.segments, info.chars_left) == (segments, chars_left)


@pytest.mark.parametrize(
    ("text", "segments", "chars_left"),
    [
        ("ж" * 70, 1, 0),
        ("ж" * 71, 2, 67 - 4),
        ("ж" * 134, 2, 0),
        ("ж" * 135, 3, 66),
    ],
)
def test_ucs2_boundaries(text, segments, chars_left):
    info = analyze(text)
    assert info.encoding == UCS2
    assert (info.length, info.segments, info.chars_left) == (len(text), segments, chars_left)


def test_extension_chars_cost_two_septets():
    assert analyze("€").length == 2
    assert analyze("a" * 158 + "€").segments == 1
    assert analyze("a" * 159 + "€").segments == 2
    assert analyze("{}[]~^|\\\f€").length == 20


def test_euro_at_segment_boundary_is_not_split():
    # 152 septets + '€' would straddle the 153 boundary: it moves to segment two.
    text = "a" * 152 + "€" + "b" * 10
    parts = split_segments(text)
    assert parts == ["a" * 152, "€" + "b" * 10]
    info = analyze(text)
    assert (info.length, info.segments, info.chars_left) == (164, 2, 153 - 12)


def test_euro_fitting_exactly_at_end_of_segment():
    text = "a" * 151 + "€" + "b" * 10
    assert split_segments(text) == ["a" * 151 + "€", "b" * 10]


def test_euro_as_153rd_char():
    # The 153rd character is '€': septets 153-154, so it opens the second segment.
    text = "a" * 152 + "€" + "a" * 100
    assert len(split_segments(text)[0]) == 152
    assert segment_count(text) == 2


def test_extension_chars_can_add_a_segment():
    # 153 '€' = 306 septets, but only 76 fit per segment (152 septets).
    assert segment_count("€" * 80) == 1
    assert segment_count("€" * 81) == 2
    assert segment_count("€" * 153) == 3


def test_emoji_counts_two_units_and_is_not_split():
    assert analyze("😀").length == 2
    assert analyze("😀" * 35).segments == 1
    assert analyze("😀" * 35 + "a").segments == 2
    # 66 units + a surrogate pair would straddle the 67 boundary: the pair moves on.
    text = "ж" * 66 + "😀" + "ж" * 5
    assert split_segments(text) == ["ж" * 66, "😀" + "ж" * 5]


def test_single_non_gsm_char_reported():
    info = analyze("Salut Ștefan, ați câștigat! Ș")
    assert info.encoding == UCS2
    assert info.unicode_chars == ("Ș", "ț", "â", "ș")


def test_gsm_special_chars():
    assert is_gsm7("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ ¤¡ÄÖÑÜ§¿äöñüà")
    assert not is_gsm7("\x1b")
    assert not is_gsm7("ç")  # only the capital Ç is in the table
    assert not is_gsm7("`")


def test_char_cost_unknown_encoding():
    with pytest.raises(ValueError):
        char_cost("a", "UTF-8")


def test_info_is_frozen():
    info = analyze("hi")
    with pytest.raises(AttributeError):
        info.segments = 3
    assert encoding.SmsEncodingInfo is type(info)
    assert not info.is_unicode


# --- the cases the browser's port is tested on too --------------------------------------

_CASES = json.loads((Path(__file__).parent / "encoding_cases.json").read_text("utf-8"))["cases"]


@pytest.mark.parametrize("case", _CASES, ids=lambda case: repr(case["text"])[:40])
def test_shared_cases(case):
    """``static/src/sms_encoding/sms_encoding.js`` must give the same answers
    (``tests/test_sms_encoding_js.py`` runs it on this file in the browser)."""
    info = analyze("".join(piece * times for piece, times in case["text"]))
    assert (
        info.encoding,
        info.length,
        info.segments,
        info.chars_left,
        "".join(info.unicode_chars),
    ) == (
        case["encoding"],
        case["length"],
        case["segments"],
        case["chars_left"],
        case["unicode_chars"],
    )


def test_client_definition_is_the_alphabet():
    definition = encoding.client_definition()
    assert set(definition["basic"]) == GSM7_BASIC_CHARS
    assert set(definition["extension"]) == GSM7_EXTENSION_CHARS
    assert definition["gsm7"] == [160, 153]
    assert definition["ucs2"] == [70, 67]
