"""Phone number normalisation to E.164, built on ``phonenumbers``.

Contacts, opt-out lists and inbound messages must all agree on one spelling of a number,
so everything is stored as E.164 (``+393331234567``). Input may be national (with a
default region), international with ``+`` or ``00``, and use spaces, dashes, dots, slashes
and parentheses as separators. Anything that is not a valid number raises
:class:`InvalidPhoneNumber`.
"""

import functools
import re
import unicodedata

import phonenumbers
from phonenumbers import timezone as phonenumbers_timezone

# Separators people type inside numbers; anything else (letters, extensions) is refused.
_SEPARATORS_RE = re.compile(r"[\s\-.()/\[\]]+")
_NUMBER_RE = re.compile(r"\+?[0-9]+")
_UNKNOWN_TIMEZONE = "Etc/Unknown"
_MAX_INPUT_LENGTH = 64


class InvalidPhoneNumber(ValueError):
    """A string that cannot be turned into a valid E.164 number.

    :param number: what was given.
    :param reason: short machine-readable cause: ``'empty'``, ``'not_a_number'``,
        ``'no_country_code'``, ``'invalid_country_code'``, ``'too_short'``, ``'too_long'``
        or ``'invalid'``.
    :param message: human-readable explanation.
    """

    def __init__(self, number, reason, message):
        super().__init__(message)
        self.number = number
        self.reason = reason


def _clean(number):
    """Return ``number`` as ``+digits`` or ``digits``, or raise InvalidPhoneNumber."""
    if number is None or number is False:
        raise InvalidPhoneNumber(number, "empty", "Phone number is empty.")
    if not isinstance(number, str):
        raise TypeError(f"phone number must be a str, got {type(number).__name__}")
    if not number.strip():
        raise InvalidPhoneNumber(number, "empty", "Phone number is empty.")
    if len(number) > _MAX_INPUT_LENGTH:
        raise InvalidPhoneNumber(
            number, "too_long", f"{number[:20]!r}... is too long to be a phone number."
        )
    # NFKC turns full-width digits and plus signs into ASCII; other scripts' digits
    # (Arabic-Indic, Devanagari...) are mapped by their decimal value.
    text = unicodedata.normalize("NFKC", number)
    text = "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text)
    compact = _SEPARATORS_RE.sub("", text)
    if not _NUMBER_RE.fullmatch(compact):
        raise InvalidPhoneNumber(
            number,
            "not_a_number",
            f"{number!r} is not a phone number: only digits, a leading '+' and the "
            "separators space, '-', '.', '/' and parentheses are allowed.",
        )
    return compact


def _region(default_region):
    if not default_region:
        return None
    region = str(default_region).strip().upper()
    return region if region in phonenumbers.SUPPORTED_REGIONS else None


def _parse(compact, region):
    """Parse the cleaned number, reading a leading ``00`` as ``+`` when needed."""
    try:
        parsed = phonenumbers.parse(compact, region)
    except phonenumbers.NumberParseException as error:
        if compact.startswith("00"):
            return phonenumbers.parse("+" + compact[2:], None)
        raise error
    if compact.startswith("00") and not phonenumbers.is_valid_number(parsed):
        # '00' is the international prefix almost everywhere, but phonenumbers only
        # knows that when the default region uses it.
        try:
            return phonenumbers.parse("+" + compact[2:], None)
        except phonenumbers.NumberParseException:
            return parsed
    return parsed


_PARSE_ERRORS = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "invalid_country_code",
    phonenumbers.NumberParseException.NOT_A_NUMBER: "not_a_number",
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too_short",
    phonenumbers.NumberParseException.TOO_SHORT_NSN: "too_short",
    phonenumbers.NumberParseException.TOO_LONG: "too_long",
}


def _parse_error(number, compact, default_region, region, error):
    reason = _PARSE_ERRORS.get(error.error_type, "invalid")
    if reason == "invalid_country_code" and not compact.startswith(("+", "00")):
        if default_region and not region:
            message = (
                f"{number!r} has no country code and the default region "
                f"{default_region!r} is unknown."
            )
        else:
            message = (
                f"{number!r} has no country code: write it with '+' or '00' and the "
                "country code, or give a default region."
            )
        return InvalidPhoneNumber(number, "no_country_code", message)
    messages = {
        "invalid_country_code": f"{number!r} starts with an unknown country code.",
        "not_a_number": f"{number!r} is not a phone number.",
        "too_short": f"{number!r} is too short to be a phone number.",
        "too_long": f"{number!r} is too long to be a phone number.",
    }
    return InvalidPhoneNumber(number, reason, messages.get(reason, f"{number!r} is invalid."))


def _region_label(parsed):
    region = phonenumbers.region_code_for_country_code(parsed.country_code)
    if region in (None, "ZZ", phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY):
        return f"country code +{parsed.country_code}"
    return region


@functools.lru_cache(maxsize=8192)  # batches check each number twice (blacklist, compliance)
def normalize(number, default_region=None):
    """Return ``number`` in E.164 form, e.g. ``'+393331234567'``.

    :param number: the number as typed; national numbers need ``default_region``.
    :param default_region: ISO 3166 alpha-2 code (``'IT'``, ``'RO'``) used for numbers
        without a country code. Unknown codes are ignored.
    :raises InvalidPhoneNumber: for empty input, non-numbers and numbers that are not
        valid (wrong length, unassigned range) for their country.
    :raises TypeError: if ``number`` is neither a str nor None/False.
    """
    compact = _clean(number)
    region = _region(default_region)
    try:
        parsed = _parse(compact, region)
    except phonenumbers.NumberParseException as error:
        raise _parse_error(number, compact, default_region, region, error) from None
    label = _region_label(parsed)
    possible = phonenumbers.is_possible_number_with_reason(parsed)
    results = phonenumbers.ValidationResult
    if possible == results.TOO_SHORT:
        raise InvalidPhoneNumber(number, "too_short", f"{number!r} is too short for {label}.")
    if possible == results.TOO_LONG:
        raise InvalidPhoneNumber(number, "too_long", f"{number!r} is too long for {label}.")
    if possible == results.INVALID_COUNTRY_CODE:
        raise InvalidPhoneNumber(
            number, "invalid_country_code", f"{number!r} starts with an unknown country code."
        )
    if possible == results.INVALID_LENGTH:
        raise InvalidPhoneNumber(
            number, "invalid", f"{number!r} has the wrong number of digits for {label}."
        )
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneNumber(
            number, "invalid", f"{number!r} is not a valid number for {label}."
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def try_normalize(number, default_region=None):
    """Like :func:`normalize` but return None instead of raising InvalidPhoneNumber."""
    try:
        return normalize(number, default_region)
    except InvalidPhoneNumber:
        return None


_CANONICAL_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def _parse_e164(e164):
    """The parsed number of ``e164`` if it is valid, else None. A number already in
    canonical E.164 (what we store) is parsed once; anything else is normalized first."""
    if e164 and _CANONICAL_E164.fullmatch(e164):
        try:
            parsed = phonenumbers.parse(e164)
        except phonenumbers.NumberParseException:
            return None
        if not phonenumbers.is_valid_number(parsed):
            return None
        if phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == e164:
            return parsed
    normalized = try_normalize(e164)
    return phonenumbers.parse(normalized) if normalized else None


def _country_of(parsed):
    region = phonenumbers.region_code_for_number(parsed)
    if region in (None, "ZZ", phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY):
        return None
    return region


def _zones(parsed):
    zones = phonenumbers_timezone.time_zones_for_number(parsed)
    return tuple(zone for zone in zones if zone != _UNKNOWN_TIMEZONE)


# asked for every SMS queued (its price, its destination country) and by the send rules:
# parsing costs more than the rest of queueing it (bench/README.md, issue 21)
@functools.lru_cache(maxsize=65536)
def region_of(e164):
    """ISO alpha-2 country of a number (``'IT'``), or None if invalid or non-geographic."""
    parsed = _parse_e164(e164)
    return None if parsed is None else _country_of(parsed)


def timezones_of(e164):
    """Time zone names (pytz/IANA) the number may be in; ``()`` when unknown or invalid.

    Mobile numbers of large countries can map to many zones (a Russian mobile gives
    sixteen), in the order ``phonenumbers`` lists them.
    """
    parsed = _parse_e164(e164)
    return () if parsed is None else _zones(parsed)


def region_and_timezones(e164):
    """``(region_of(e164), timezones_of(e164))`` from one parse of the number."""
    parsed = _parse_e164(e164)
    return (None, ()) if parsed is None else (_country_of(parsed), _zones(parsed))


def same_number(a, b, default_region=None):
    """True if ``a`` and ``b`` are both valid and normalise to the same E.164 number."""
    first = try_normalize(a, default_region)
    return first is not None and first == try_normalize(b, default_region)
