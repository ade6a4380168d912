"""Provider-neutral part of the SMS gateway layer: data types, errors, the client interface
and the helpers the provider clients share.

Nothing here imports Odoo: a client takes a :class:`GatewayConfig` and plain values, talks
HTTP through one :class:`requests.Session` and answers with plain dataclasses. The Odoo side
turns records into these values and results back into record updates.

Contract of :meth:`GatewayClient.send`: it never raises for network or provider trouble.
Every outcome is a :class:`SendResult` whose ``status`` says what to do next:

* ``'sent'``: the provider accepted the message (delivery comes later, as a status report);
* ``'retry'``: temporary trouble (HTTP 429 or 5xx, time-out, refused or reset connection),
  try again later, after ``retry_after`` seconds when the provider said so;
* ``'failed'``: permanent, retrying would fail the same way.

``error_code`` is normalised across providers, see ``ERROR_*`` below.
"""

from __future__ import annotations

import email.utils
import hmac
import math
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import requests
from requests.adapters import HTTPAdapter

# --- send outcome -------------------------------------------------------------------------
STATUS_SENT = "sent"
STATUS_RETRY = "retry"
STATUS_FAILED = "failed"

# --- normalised status of a delivery report ----------------------------------------------
REPORT_SENT = "sent"
REPORT_DELIVERED = "delivered"
REPORT_FAILED = "failed"

# --- normalised error codes ---------------------------------------------------------------
ERROR_INVALID_NUMBER = "invalid_number"
ERROR_OPTED_OUT = "opted_out"  # recipient unsubscribed / barred at the provider
ERROR_AUTH = "auth"  # credentials refused, account disabled
ERROR_RATE_LIMITED = "rate_limited"
ERROR_SERVER = "server_error"
ERROR_TIMEOUT = "timeout"
ERROR_CONNECTION = "connection"
ERROR_REJECTED = "rejected"  # other permanent refusal (parameters, content, sender...)
ERROR_CREDIT = "credit"  # insufficient funds / quota
ERROR_UNKNOWN = "unknown"
# only in delivery reports
ERROR_EXPIRED = "expired"
ERROR_NOT_DELIVERED = "not_delivered"
# only from lookup(): the provider can tell it never received the message
ERROR_NOT_FOUND = "not_found"

RETRYABLE_ERRORS = frozenset({ERROR_RATE_LIMITED, ERROR_SERVER, ERROR_TIMEOUT, ERROR_CONNECTION})

_MAX_ERROR_TEXT = 300


@dataclass(frozen=True)
class GatewayConfig:
    """Account settings of one provider (one ``sms.gateway`` record)."""

    api_url: str | None = None  # None → provider default
    account_sid: str | None = None  # Twilio account SID / Vonage api_key
    auth_token: str | None = None  # Twilio auth token / Vonage api_secret
    signature_secret: str | None = None  # Vonage signature secret; Twilio signs with auth_token
    signature_method: str | None = None  # Vonage: the one method the account signs with
    sender: str | None = None  # E.164 number, Twilio 'MG…' messaging service SID, alphanumeric
    timeout: float = 10.0
    rate_limit: float = 10.0  # messages / second
    max_concurrency: int = 4


@dataclass(frozen=True)
class OutgoingSms:
    reference: str  # our unique id (32-hex uuid of Odoo's sms.sms)
    to: str  # E.164
    body: str
    status_callback: str | None = None
    # the "From" of this SMS (a number, alphanumeric ID or Twilio 'MG…' service SID);
    # None: the account's default sender (GatewayConfig.sender)
    sender: str | None = None


@dataclass(frozen=True)
class SendResult:
    reference: str
    status: str  # 'sent' | 'retry' | 'failed'
    provider_message_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    retry_after: float | None = None  # seconds, from a Retry-After header when present
    segments: int | None = None
    price: float | None = None

    @property
    def is_retry(self):
        return self.status == STATUS_RETRY


def unknown_retry(reference, error_message):
    """The result of a send whose outcome is unknown (a crash, a broken client, an
    unexpected transport error): retried, after a provider lookup when possible."""
    return SendResult(
        reference, STATUS_RETRY, error_code=ERROR_UNKNOWN, error_message=error_message
    )


@dataclass(frozen=True)
class StatusReport:
    provider_message_id: str
    status: str  # 'sent' | 'delivered' | 'failed'
    reference: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    provider_status: str | None = None  # raw provider status
    # the provider's own error code (Twilio ErrorCode, Vonage err-code), for the
    # deliverability report and ``tools/deliverability.py``
    provider_error_code: str | None = None


@dataclass(frozen=True)
class InboundMedia:
    """A picture or file attached to an inbound MMS: kept as a link, never downloaded
    (the provider's URL is what a person opens)."""

    url: str
    content_type: str | None = None


@dataclass(frozen=True)
class InboundPart:
    """One part of a long SMS the provider delivers in pieces (Vonage ``concat``): the
    parts sharing ``reference`` (per sender) make one message once all ``total`` arrived."""

    reference: str
    number: int  # 1-based
    total: int


@dataclass(frozen=True)
class InboundSms:
    provider_message_id: str
    sender: str
    recipient: str
    body: str
    media: tuple[InboundMedia, ...] = ()
    part: InboundPart | None = None


class GatewayError(Exception):
    """Base class of the gateway layer's errors."""


class SignatureError(GatewayError):
    """A webhook's signature is missing or forged."""


class PayloadError(GatewayError):
    """A webhook's payload is malformed (missing fields, unknown status...)."""


class SenderRefused(GatewayError):
    """A signed inbound SMS from a sender the gateway takes no replies from (the sandbox
    takes them only from the numbers it texted)."""


# --- helpers shared by the providers ------------------------------------------------------


def make_session(pool_size=4):
    """A :class:`requests.Session` whose connection pools keep ``pool_size`` connections per
    host (so concurrent senders reuse connections instead of opening and dropping new ones)
    and which never retries on its own: retrying is the caller's decision."""
    session = requests.Session()
    mount_pool(session, pool_size)
    return session


def mount_pool(session, pool_size):
    pool_size = max(int(pool_size or 1), 1)
    for prefix in ("https://", "http://"):
        session.mount(
            prefix, HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        )


def parse_retry_after(value, now=None):
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), or None."""
    if value is None:
        return None
    value = str(value).strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(seconds, 0.0)


def get_header(headers, name):
    """Case-insensitive header look-up in any mapping (dict, werkzeug headers...)."""
    if not headers:
        return None
    value = headers.get(name)
    if value is not None:
        return value
    lower = name.lower()
    for key, val in headers.items():
        if key.lower() == lower:
            return val
    return None


# C0 controls but tab, line feed and carriage return, DEL, and lone surrogates (only JSON
# escapes can make those): PostgreSQL refuses NUL, the UTF-8 codec refuses surrogates.
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def clean_text(value):
    """``value`` as a string every database and log accepts: control characters and
    lone surrogates become U+FFFD, so the message is kept and shows where a character was
    unreadable instead of being refused (a refusal makes the provider retry, then drop it)."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return _UNSTORABLE.sub(REPLACEMENT, str(value))


def clean_params(params):
    """A webhook's parameters as a plain dict of cleaned strings (first value of a
    repeated key, as werkzeug's ``MultiDict.get`` gives)."""
    return {clean_text(key): clean_text(value) for key, value in (params or {}).items()}


#: longest provider message id and phone number / sender id a webhook may carry: real
#: ones are far shorter (Twilio SIDs 34 characters, E.164 16), and they are indexed
MAX_ID_LENGTH = 128
MAX_ADDRESS_LENGTH = 64


def bounded(value, limit, what):
    """``value`` when at most ``limit`` characters, else a PayloadError naming ``what``."""
    if value is not None and len(value) > limit:
        raise PayloadError(f"{what} longer than {limit} characters")
    return value


def constant_time_equals(expected, given):
    """``hmac.compare_digest`` for any two strings: it raises TypeError on non-ASCII
    text, which a hostile header can carry, so both are compared as UTF-8 bytes."""
    if expected is None or given is None:
        return False
    return hmac.compare_digest(
        str(expected).encode("utf-8", "surrogatepass"), str(given).encode("utf-8", "surrogatepass")
    )


def shorten(text, limit=_MAX_ERROR_TEXT):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def to_float(value):
    if value is None or value == "":
        return None
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(result) else result


def to_int(value):
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- the client interface -----------------------------------------------------------------


class GatewayClient:
    """Talks to one provider account. Thread-safe: :meth:`send` may be called from several
    threads at once (the session's pool holds ``max_concurrency`` connections)."""

    code = None
    #: the provider's API base URL when the config has none
    default_api_url = None
    #: human name used in error messages
    provider_name = "Provider"
    #: longest per-message status callback URL the provider accepts (None: no limit)
    max_callback_length = None

    @classmethod
    def callback_problem(cls, url):
        """Why the provider would refuse ``url`` as a per-message status callback, or
        None. Such a URL is left out of the request (the account's own setting
        applies) rather than have every SMS refused."""
        if url and cls.max_callback_length and len(url) > cls.max_callback_length:
            return (
                f"{cls.provider_name} accepts status callback URLs of at most "
                f"{cls.max_callback_length} characters; this one has {len(url)}"
            )
        return None

    def __init__(self, config: GatewayConfig, session: requests.Session | None = None):
        if not isinstance(config, GatewayConfig):
            raise TypeError("config must be a GatewayConfig")
        self.config = config
        self._owns_session = session is None
        self._session = session
        self._session_lock = threading.Lock()
        self._pool_size = max(int(config.max_concurrency or 1), 1)

    @property
    def session(self):
        """The HTTP session to the provider, built on first use: a webhook only checks a
        signature and parses, it never calls the provider."""
        if self._session is None:
            with self._session_lock:
                if self._session is None:
                    self._session = make_session(self.config.max_concurrency)
        return self._session

    # -- plumbing --
    @property
    def api_url(self):
        return (self.config.api_url or self.default_api_url or "").rstrip("/")

    @property
    def timeout(self):
        return self.config.timeout if self.config.timeout and self.config.timeout > 0 else 10.0

    def ensure_pool(self, size):
        """Grow the connection pool of a session this client built to ``size`` connections
        (used when a batch is sent with more threads than ``config.max_concurrency``)."""
        if self._owns_session and size > self._pool_size:
            mount_pool(self.session, size)
            self._pool_size = size

    def close(self):
        if self._owns_session and self._session is not None:
            self._session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _post_form(self, url, data, **kwargs):
        """POST the form ``data`` to ``url``: the response and its JSON body (None when the
        body is no JSON). Raises ``requests.RequestException`` when no answer came."""
        response = self.session.post(url, data=data, timeout=self.timeout, **kwargs)
        try:
            payload = response.json()
        except ValueError:  # requests' JSONDecodeError too
            payload = None
        return response, payload

    def _transport_error(self, sms, exc):
        """SendResult of a request that got no HTTP answer."""
        if isinstance(exc, requests.ConnectTimeout):
            return SendResult(
                sms.reference,
                STATUS_RETRY,
                error_code=ERROR_TIMEOUT,
                error_message=f"{self.provider_name}: connection timed out "
                f"after {self.timeout:g} s ({shorten(exc)})",
            )
        if isinstance(exc, requests.Timeout):
            return SendResult(
                sms.reference,
                STATUS_RETRY,
                error_code=ERROR_TIMEOUT,
                error_message=f"{self.provider_name}: no answer within {self.timeout:g} s; "
                "the provider may have accepted the message",
            )
        if isinstance(exc, requests.ConnectionError):
            return SendResult(
                sms.reference,
                STATUS_RETRY,
                error_code=ERROR_CONNECTION,
                error_message=f"{self.provider_name}: connection error ({shorten(exc)})",
            )
        return unknown_retry(
            sms.reference, f"{self.provider_name}: {type(exc).__name__}: {shorten(exc)}"
        )

    def _retry_result(self, sms, response, error_code, text):
        """A temporary refusal (429, 5xx): retried later, after Retry-After if given."""
        return SendResult(
            sms.reference,
            STATUS_RETRY,
            error_code=error_code,
            error_message=text,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )

    def _http_status_error(self, sms, response, detail=""):
        """SendResult for an HTTP status the provider-specific code did not classify."""
        status = response.status_code
        text = f"{self.provider_name}: HTTP {status}" + (f": {detail}" if detail else "")
        if status == 429:
            return self._retry_result(sms, response, ERROR_RATE_LIMITED, text)
        if status >= 500:
            return self._retry_result(sms, response, ERROR_SERVER, text)
        error_code = ERROR_AUTH if status in (401, 403) else ERROR_REJECTED
        return SendResult(sms.reference, STATUS_FAILED, error_code=error_code, error_message=text)

    # -- the interface --
    def send(self, sms: OutgoingSms) -> SendResult:
        raise NotImplementedError

    def lookup(self, sms: OutgoingSms, since: datetime) -> SendResult | None:
        """After a crash between sending and recording: did the provider get ``sms``?

        :return: ``SendResult(status='sent', provider_message_id=…)`` when found,
            ``SendResult(status='retry', error_code='not_found')`` when the provider can tell
            it was not received (safe to send again), ``None`` when it cannot tell.
        """
        return None

    def verify_signature(
        self,
        url: str,
        params: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
        method: str = "POST",
    ) -> bool:
        """Whether the webhook comes from the provider. ``url`` is the full URL called
        (query included), ``params`` the form of a POST or the query of a GET (a mapping
        that may have ``getlist`` for repeated keys), ``body`` the raw body. Must compare
        in constant time and never raise."""
        raise NotImplementedError

    def parse_status(self, params: Mapping[str, str], body: bytes) -> list[StatusReport]:
        raise NotImplementedError

    def parse_inbound(self, params: Mapping[str, str], body: bytes) -> InboundSms:
        raise NotImplementedError

    def webhook_response(self) -> tuple[int, str, bytes]:
        return 200, "text/plain", b""
