"""Tests for sms_journey.tools.phone."""

import re

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st
from phonenumbers import timezone as phonenumbers_timezone

from sms_journey.tools import phone as phone_tools
from sms_journey.tools.phone import (
    InvalidPhoneNumber,
    normalize,
    region_of,
    same_number,
    timezones_of,
    try_normalize,
)

REGIONS = (
    "IT", "RO", "ES", "FR", "DE", "GB", "US", "CA", "IN", "AU", "BR", "MX", "NZ", "CH",
    "AT", "BE", "NL", "PL", "PT", "IE", "SE", "JP", "ZA", "AR", "MD", "HU",
)  # fmt: skip
TYPES = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE)
FORMATS = (
    phonenumbers.PhoneNumberFormat.E164,
    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    phonenumbers.PhoneNumberFormat.NATIONAL,
)
SEPARATORS = ("", " ", "-", ".", "  ", " - ", "/")


def _examples():
    found = []
    for region in REGIONS:
        for number_type in TYPES:
            example = phonenumbers.example_number_for_type(region, number_type)
            if example is not None:
                found.append((region, example))
    return found


EXAMPLES = _examples()


@st.composite
def valid_numbers(draw):
    """A (region, PhoneNumber) pair: an example number with random trailing digits."""
    region, example = draw(st.sampled_from(EXAMPLES))
    national = str(example.national_number)
    keep = draw(st.integers(min_value=max(1, len(national) - 4), max_value=len(national)))
    tail = draw(st.text(alphabet="0123456789", min_size=len(national) - keep,
                        max_size=len(national) - keep))  # fmt: skip
    candidate = phonenumbers.PhoneNumber(
        country_code=example.country_code,
        national_number=int(national[:keep] + tail),
        italian_leading_zero=example.italian_leading_zero,
    )
    if not phonenumbers.is_valid_number(candidate):
        candidate = example
    return region, candidate


@st.composite
def spelled_numbers(draw):
    """(region, expected E.164, a way of typing it)."""
    region, number = draw(valid_numbers())
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    style = draw(st.sampled_from(("e164", "international", "national", "00", "digits")))
    if style == "national":
        text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    elif style == "international":
        text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    elif style == "00":
        text = "00" + e164[1:]
    else:
        text = e164
    if style in ("digits", "00", "e164"):
        # Re-space the digits randomly.
        prefix, digits = ("+", text[1:]) if text.startswith("+") else ("", text)
        pieces = [prefix]
        for digit in digits:
            pieces.append(digit)
            pieces.append(draw(st.sampled_from(SEPARATORS)))
        text = "".join(pieces)
    if draw(st.booleans()):
        text = f"  {text} "
    return region, e164, text


# --- properties ----------------------------------------------------------------------


@given(valid_numbers(), st.sampled_from(FORMATS))
def test_normalize_is_idempotent(pair, number_format):
    region, number = pair
    text = phonenumbers.format_number(number, number_format)
    first = normalize(text, region)
    assert first.startswith("+")
    assert normalize(first) == first
    assert normalize(first, region) == first


@given(spelled_numbers())
def test_spellings_normalize_to_the_same_e164(case):
    region, e164, text = case
    assert normalize(text, region) == e164
    assert same_number(text, e164, region)


def _dials_00_abroad(region):
    """Whether "00" is the international call prefix of ``region`` (Japan dials 010,
    the United States 011: there "00…" is not an international spelling)."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    return bool(metadata and re.fullmatch(metadata.international_prefix, "00"))


@given(spelled_numbers(), st.sampled_from(REGIONS))
def test_international_spellings_ignore_default_region(case, other_region):
    _region, e164, _text = case
    spaced = " ".join((e164[:3], e164[3:6], e164[6:]))
    assert normalize(spaced, other_region) == e164
    if _dials_00_abroad(other_region):
        assert normalize("00" + e164[1:], other_region) == e164


@given(st.text(max_size=80), st.sampled_from((None, *REGIONS, "zz", "")))
def test_garbage_raises_only_invalid_phone_number(text, region):
    try:
        result = normalize(text, region)
    except InvalidPhoneNumber as error:
        assert error.reason in {
            "empty", "not_a_number", "no_country_code", "invalid_country_code",
            "too_short", "too_long", "invalid",
        }  # fmt: skip
        assert str(error)
    else:
        assert phonenumbers.is_valid_number(phonenumbers.parse(result))
        assert normalize(result) == result


@given(st.text(alphabet=st.characters(exclude_categories=("Nd",)), max_size=40))
def test_text_without_digits_is_rejected(text):
    with pytest.raises(InvalidPhoneNumber):
        normalize(text, "IT")
    assert try_normalize(text, "IT") is None


@given(valid_numbers())
def test_region_and_timezones_of_valid_numbers(pair):
    _region, number = pair
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    assert region_of(e164) == phonenumbers.region_code_for_number(number)
    zones = timezones_of(e164)
    assert isinstance(zones, tuple)
    assert "Etc/Unknown" not in zones


# --- examples ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("333 123 4567", "IT", "+393331234567"),
        ("+39 333 123 4567", None, "+393331234567"),
        ("0039 333 1234567", None, "+393331234567"),
        ("0039-333-1234567", "US", "+393331234567"),
        ("(+39) 333.123.45.67", None, "+393331234567"),
        ("0721 234 567", "RO", "+40721234567"),
        ("0721-234-567", "ro", "+40721234567"),
        ("+40 (721) 234 567", "IT", "+40721234567"),
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("(201) 555-0123", "US", "+12015550123"),
        ("+1 201 555 0123", None, "+12015550123"),
        ("＋３９ ３３３ １２３４５６７", None, "+393331234567"),
        ("٣٣٣١٢٣٤٥٦٧", "IT", "+393331234567"),
    ],
)
def test_normalize_examples(text, region, expected):
    assert normalize(text, region) == expected
    assert try_normalize(text, region) == expected


@pytest.mark.parametrize(
    ("text", "region", "reason"),
    [
        ("", "IT", "empty"),
        ("   ", "IT", "empty"),
        (None, "IT", "empty"),
        (False, "IT", "empty"),
        ("abc", "IT", "not_a_number"),
        ("333 123 4567 ext. 12", "IT", "not_a_number"),
        ("+39 333 +123", None, "not_a_number"),
        ("3331234567", None, "no_country_code"),
        ("3331234567", "XX", "no_country_code"),
        ("+999 1234 5678", None, "invalid_country_code"),
        ("333", "IT", "too_short"),
        ("+39 333 12345678901", None, "too_long"),
        ("+39 000 0000000", None, "invalid"),
        ("1" * 200, "IT", "too_long"),
    ],
)
def test_invalid_numbers(text, region, reason):
    with pytest.raises(InvalidPhoneNumber) as caught:
        normalize(text, region)
    assert caught.value.reason == reason
    assert caught.value.number == text
    assert isinstance(caught.value, ValueError)
    assert try_normalize(text, region) is None


def test_error_message_says_what_and_why():
    with pytest.raises(InvalidPhoneNumber, match="'3331234567' has no country code"):
        normalize("3331234567")
    with pytest.raises(InvalidPhoneNumber, match="too short for IT"):
        normalize("+39 333")


def test_non_string_is_type_error():
    with pytest.raises(TypeError):
        normalize(393331234567)


def test_region_of():
    assert region_of("+393331234567") == "IT"
    assert region_of("+40721234567") == "RO"
    assert region_of("+12015550123") == "US"
    assert region_of("+80012345678") is None  # international freephone
    assert region_of("not a number") is None
    assert region_of(False) is None


def test_timezones_of():
    assert "Europe/Rome" in timezones_of("+393331234567")
    assert timezones_of("+40721234567") == ("Europe/Bucharest",)
    assert timezones_of("+12015550123") == ("America/New_York",)
    assert timezones_of("+80012345678") == ()
    assert timezones_of("garbage") == ()
    assert timezones_of(None) == ()


def test_same_number():
    assert same_number("333 123 4567", "+39 333 1234567", "IT")
    assert same_number("0039 333 1234567", "+393331234567")
    assert not same_number("+393331234567", "+393331234568")
    assert not same_number("garbage", "garbage")
    assert not same_number(None, None)


@given(valid_numbers(), st.sampled_from(FORMATS))
def test_one_parse_of_a_stored_number_agrees_with_normalizing_it(pair, number_format):
    """A number in canonical E.164 is parsed once (``_parse_e164``'s fast path); its
    country and zones are those of the number normalized first, whatever was typed."""
    region, number = pair
    typed = phonenumbers.format_number(number, number_format)
    e164 = normalize(typed, region)
    parsed = phonenumbers.parse(e164)
    expected = (
        phone_tools._country_of(parsed),
        tuple(z for z in phonenumbers_timezone.time_zones_for_number(parsed) if z != "Etc/Unknown"),
    )
    assert phone_tools.region_and_timezones(e164) == expected
    assert phone_tools.region_and_timezones(typed if typed.startswith("+") else e164) == expected
