"""SMS encoding detection and segment counting (GSM 03.38 7-bit vs UCS-2).

Carriers bill per segment, so the composer needs to know how a text will be encoded and
split before it is sent. A text is sent as GSM-7 when every character is in the GSM 03.38
basic or extension table, otherwise the whole message falls back to UCS-2.

Sizes (with the 6-octet concatenation header taken out of multipart messages):

* GSM-7: 160 septets in a single message, 153 per segment when concatenated. Extension-table
  characters cost two septets (ESC + char) and are never split across segments.
* UCS-2: 70 UTF-16 code units in a single message, 67 per segment when concatenated.
  Characters outside the BMP (most emoji) cost two units (a surrogate pair) and are never
  split across segments.

Splitting is done per code point: grapheme clusters (emoji with modifiers, flags) may be cut
between segments, which handsets reassemble anyway.
"""

from dataclasses import dataclass

GSM7 = "GSM-7"
UCS2 = "UCS-2"

# GSM 03.38 basic table in code order; position 0x1B is ESC (the extension-table escape),
# which is not a character of its own and is left out.
GSM7_BASIC_CHARS = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
# Extension table: sent as ESC + char, so two septets each.
GSM7_EXTENSION_CHARS = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE_LIMIT = 160
GSM7_SEGMENT_LIMIT = 153
UCS2_SINGLE_LIMIT = 70
UCS2_SEGMENT_LIMIT = 67

# Past this many segments or units, many handsets and carriers handle a message badly:
# the editors warn (the rule is advice, nothing refuses a longer text).
ADVISED_MAX_SEGMENTS = 3
ADVISED_MAX_LENGTH = 480

_LIMITS = {
    GSM7: (GSM7_SINGLE_LIMIT, GSM7_SEGMENT_LIMIT),
    UCS2: (UCS2_SINGLE_LIMIT, UCS2_SEGMENT_LIMIT),
}


@dataclass(frozen=True)
class SmsEncodingInfo:
    """How a text will be sent.

    :param encoding: ``'GSM-7'`` or ``'UCS-2'``.
    :param length: size in septets (GSM-7) or UTF-16 code units (UCS-2).
    :param segments: number of SMS parts; ``0`` for an empty text.
    :param chars_left: units still free in the last segment before one more is needed.
        For an empty text this is the single-message limit (160).
    :param unicode_chars: distinct characters that forced UCS-2, in order of first
        appearance; empty for GSM-7.
    """

    encoding: str
    length: int
    segments: int
    chars_left: int
    unicode_chars: tuple[str, ...]

    @property
    def is_unicode(self):
        """True when the text is sent as UCS-2."""
        return self.encoding == UCS2


_GSM7_ALL_CHARS = GSM7_BASIC_CHARS | GSM7_EXTENSION_CHARS


def _as_text(text):
    # Odoo hands over False for empty Char/Text fields.
    if text is None or text is False:
        return ""
    if not isinstance(text, str):
        raise TypeError(f"SMS text must be a str, got {type(text).__name__}")
    return text


def _is_gsm_char(char):
    return char in GSM7_BASIC_CHARS or char in GSM7_EXTENSION_CHARS


def is_gsm7(text):
    """Return True if ``text`` can be sent with the GSM-7 alphabet (empty text included)."""
    return all(_is_gsm_char(char) for char in _as_text(text))


def _encoding_of(text):
    return GSM7 if all(_is_gsm_char(char) for char in text) else UCS2


def char_cost(char, encoding):
    """Units one character takes in ``encoding``: septets for GSM-7, UTF-16 units for UCS-2."""
    if encoding == GSM7:
        return 2 if char in GSM7_EXTENSION_CHARS else 1
    if encoding == UCS2:
        return 2 if ord(char) > 0xFFFF else 1
    raise ValueError(f"unknown SMS encoding {encoding!r}, expected {GSM7!r} or {UCS2!r}")


def _split(text, encoding):
    """Return ``(segments, units used in the last segment)`` for a non-empty text."""
    single_limit, segment_limit = _LIMITS[encoding]
    costs = [char_cost(char, encoding) for char in text]
    total = sum(costs)
    if total <= single_limit:
        return [text], total
    # Greedy filling gives the minimum count; a two-unit char that does not fit whole
    # starts the next segment (the unit before it stays unused).
    segments, start, used = [], 0, 0
    for index, cost in enumerate(costs):
        if used + cost > segment_limit:
            segments.append(text[start:index])
            start, used = index, 0
        used += cost
    segments.append(text[start:])
    return segments, used


def analyze(text):
    """Describe how ``text`` will be encoded and split; see :class:`SmsEncodingInfo`."""
    text = _as_text(text)
    # set arithmetic instead of a Python test per character: the bulk send paths
    # analyse every SMS they queue
    chars = set(text)
    unicode_set = chars - _GSM7_ALL_CHARS
    encoding = UCS2 if unicode_set else GSM7
    unicode_chars = tuple(dict.fromkeys(c for c in text if c in unicode_set)) if unicode_set else ()
    single_limit, segment_limit = _LIMITS[encoding]
    if not text:
        return SmsEncodingInfo(encoding, 0, 0, single_limit, unicode_chars)
    if encoding == GSM7:
        double = chars & GSM7_EXTENSION_CHARS
    else:
        double = {char for char in chars if ord(char) > 0xFFFF}
    length = len(text) + sum(text.count(char) for char in double)
    if length <= single_limit:
        return SmsEncodingInfo(encoding, length, 1, single_limit - length, unicode_chars)
    segments, last_used = _split(text, encoding)
    return SmsEncodingInfo(
        encoding, length, len(segments), segment_limit - last_used, unicode_chars
    )


def client_definition():
    """The alphabet, the limits and the advice, for the browser's counter.

    The web client's port of :func:`analyze` (``static/src/sms_encoding/``) gets them
    from the session (``ir.http.session_info``), so the alphabet is defined once, here;
    the port is tested on the cases of ``tools/tests/encoding_cases.json`` as this
    module is.
    """
    return {
        "basic": "".join(sorted(GSM7_BASIC_CHARS)),
        "extension": "".join(sorted(GSM7_EXTENSION_CHARS)),
        "gsm7": [GSM7_SINGLE_LIMIT, GSM7_SEGMENT_LIMIT],
        "ucs2": [UCS2_SINGLE_LIMIT, UCS2_SEGMENT_LIMIT],
        "advised_max_segments": ADVISED_MAX_SEGMENTS,
        "advised_max_length": ADVISED_MAX_LENGTH,
    }


def segment_count(text, encoding=None):
    """Number of SMS segments needed for ``text`` (0 for an empty text), in ``encoding``
    (``GSM7`` or ``UCS2``: what a provider was told to send it as, e.g. Vonage's
    ``type=unicode``), else in the text's own encoding."""
    text = _as_text(text)
    if not text:
        return 0
    return len(_split(text, encoding or _encoding_of(text))[0])


def split_segments(text):
    """Return the texts of the individual segments, in order (``[]`` for an empty text).

    Joining the parts gives back ``text``; no extension character or surrogate pair is
    cut in two.
    """
    text = _as_text(text)
    if not text:
        return []
    return _split(text, _encoding_of(text))[0]
