"""Reply links: what a one-way sender's SMS carries instead of "reply ...".

A sender that cannot receive replies (an alphanumeric ID) cannot be answered STOP, C or
5. Its SMS then carry a short signed link per feature that asks for a reply; the page
behind it runs the same code as the reply would (``sms.interaction._answer_by_link``).

A link names one *action* and one outbox row (``sms.gateway.message``: its partner, its
number, its chatter message and so its appointment or survey request)::

    /o/<action letter><row id, base 36>.<expiry day, base 36>.<signature>

e.g. ``/o/a2bq.k3f.mz4kq7d2xa``. The signature is an HMAC of the action, the row id, the
expiry and the row's number (*bound*, never written in the link) with a key derived from
the database secret and scoped to reply links, cut to :data:`SIGNATURE_LENGTH` base32
characters like the journey links (``tools/link_signature.py``). The expiry is a day
count since 1970-01-01 (UTC): the link works until that day has ended.

:class:`WindowLimiter` is the pages' rate limit per client address.
"""

import base64
import collections
import hashlib
import hmac
import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from . import keywords as kw
from .link_signature import SIGNATURE_LENGTH

# action → the letter in the link; one letter per feature that asks for a reply
ACTIONS = {
    "stop": "s",  # the one-click opt-out page (marketing SMS)
    "appointment": "a",  # confirm / cancel / reschedule an appointment
    "survey": "q",  # the survey question as a page
    "confirm": "y",  # confirm a double opt-in
    "contest": "c",  # enter the open contest whose keyword the SMS names
}
LETTERS = {letter: action for action, letter in ACTIONS.items()}
# how long a link works after its SMS was queued
VALID_DAYS = 60
# the largest id of a row (PostgreSQL's integer): a bigger one is no link of ours
MAX_RECORD_ID = 2**31 - 1

_KEY_SCOPE = b"sms_journey.reply_link"
_EPOCH = date(1970, 1, 1)
_TOKEN = re.compile(
    rf"([a-z])([0-9a-z]{{1,13}})\.([0-9a-z]{{1,4}})\.([a-z2-7]{{{SIGNATURE_LENGTH}}})"
)

# refusals of parse()
MALFORMED = "malformed"
FORGED = "forged"
EXPIRED = "expired"


@dataclass(frozen=True)
class ReplyLink:
    """A verified link: which action on which outbox row, valid until ``expires``."""

    action: str
    record_id: int
    expires: date


def reply_key(secret):
    """The signing key of reply links, derived from ``secret`` (the database secret)."""
    if not secret:
        raise ValueError("a secret is required to sign reply links")
    return hmac.new(str(secret).encode(), _KEY_SCOPE, hashlib.sha256).digest()


def _b36(number):
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def _signature(key, action, record_id, day, bound):
    message = f"{action}:{int(record_id)}:{int(day)}:{bound or ''}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.b32encode(digest)[:SIGNATURE_LENGTH].decode().lower()


def expiry_of(moment, days=VALID_DAYS):
    """The last valid day of a link made at ``moment`` (a datetime or a date)."""
    day = moment.date() if isinstance(moment, datetime) else moment
    return day + timedelta(days=days)


def make_token(key, action, record_id, expires, bound=""):
    """The token of ``action`` on row ``record_id`` valid until the end of ``expires``
    (a date), bound to ``bound`` (the row's number: not in the token, checked again)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown reply link action {action!r}")
    if not 0 < int(record_id) <= MAX_RECORD_ID:
        raise ValueError("a reply link needs a record id")
    day = (expires - _EPOCH).days
    signature = _signature(key, action, record_id, day, bound)
    return f"{ACTIONS[action]}{_b36(int(record_id))}.{_b36(day)}.{signature}"


def peek(token):
    """``(action, record id)`` a token claims, unverified (to find what to bind it
    to); None when it is not shaped like a token."""
    match = _TOKEN.fullmatch(token) if isinstance(token, str) else None
    if not match or match.group(1) not in LETTERS:
        return None
    record_id = int(match.group(2), 36)
    if not 0 < record_id <= MAX_RECORD_ID:
        return None  # never looked up: the database would refuse it
    return LETTERS[match.group(1)], record_id


def parse(key, token, bound="", today=None):
    """Verify ``token`` for ``bound``: ``(ReplyLink, None)`` or ``(None, refusal)``
    (:data:`MALFORMED`, :data:`FORGED`, :data:`EXPIRED`). The signature is compared in
    constant time, and checked before the expiry (a forged link never learns whether
    its date passed)."""
    claimed = peek(token)
    if not claimed:
        return None, MALFORMED
    action, record_id = claimed
    match = _TOKEN.fullmatch(token)
    day = int(match.group(3), 36)
    expected = _signature(key, action, record_id, day, bound)
    if not hmac.compare_digest(expected.encode(), match.group(4).encode()):
        return None, FORGED
    expires = _EPOCH + timedelta(days=day)
    if (today or datetime.now(UTC).date()) > expires:
        return None, EXPIRED
    return ReplyLink(action, record_id, expires), None


# the first word of a reply instruction, in the languages we ship (en, it, ro, es)
REPLY_VERBS = frozenset({"reply", "text", "rispondi", "răspunde", "raspunde", "responde"})
# a sentence ends at . ! ? followed by a space, or at a line break
_SENTENCE_END = re.compile(r"((?<=[.!?])[ \t]+|\n+)")


def drop_reply_instructions(body):
    """``body`` without its sentences that ask for a reply ("Reply C to confirm…",
    "Rispondi 1-5"): a one-way sender's SMS carries links instead. The other sentences
    and the breaks between them are kept as written."""
    parts = _SENTENCE_END.split(body or "")
    text, dropped = "", False
    for index in range(0, len(parts), 2):
        sentence = parts[index]
        words = sentence.split(None, 1)
        if words and words[0].strip(",:;!?.").lower() in REPLY_VERBS:
            dropped = True
            continue
        # the break before a sentence, unless all that stood before it was dropped
        keep_break = index and (text or not dropped)
        text += (parts[index - 1] if keep_break else "") + sentence
    return text


def named_keyword(body, keywords):
    """The first of ``keywords`` (a contest's words, any case and accents) that ``body``
    names as a word, or None: the SMS asks to text it."""
    body_words = set(kw.words(body))
    for keyword in keywords:
        if keyword and set(kw.words(keyword)) and set(kw.words(keyword)) <= body_words:
            return keyword
    return None


def with_links(body, lines):
    """``body`` followed by one line per ``(label, url)``: the links go last, where a
    reply instruction usually stands, and the text before them is kept as written."""
    if not lines:
        return body
    return "\n".join([(body or "").rstrip(), *(f"{label} {url}" for label, url in lines)])


class WindowLimiter:
    """At most ``limit`` hits per key (a client address) in any ``window`` seconds, in
    this process (each Odoo worker counts its own). The clock is injectable."""

    def __init__(self, limit, window, *, clock=time.monotonic, max_keys=10000):
        self.limit = limit
        self.window = window
        self._clock = clock
        self._max_keys = max_keys
        self._hits = collections.OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key):
        """Count a hit of ``key``; False when it is over the limit (then not counted)."""
        now = self._clock()
        with self._lock:
            hits = self._hits.pop(key, None) or collections.deque()
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            allowed = len(hits) < self.limit
            if allowed:
                hits.append(now)
            self._hits[key] = hits  # most recent last
            while len(self._hits) > self._max_keys:
                self._hits.popitem(last=False)  # forget the oldest client
            return allowed
