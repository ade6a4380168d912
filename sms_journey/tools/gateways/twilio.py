"""Twilio Programmable Messaging client (REST API 2010-04-01, Messages resource).

* send: ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` with HTTP Basic auth
  (account SID, auth token) and form fields ``To``, ``From`` or ``MessagingServiceSid``,
  ``Body``, ``StatusCallback``. Success is HTTP 201 with the message resource as JSON;
  errors are JSON ``{code, message, more_info, status}``.
* webhooks (status callbacks, inbound messages) are form posts signed with
  ``X-Twilio-Signature`` = base64(HMAC-SHA1(auth token, URL + concatenated sorted params)).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from datetime import UTC, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import requests

from .base import (
    ERROR_AUTH,
    ERROR_CREDIT,
    ERROR_EXPIRED,
    ERROR_INVALID_NUMBER,
    ERROR_NOT_DELIVERED,
    ERROR_NOT_FOUND,
    ERROR_OPTED_OUT,
    ERROR_RATE_LIMITED,
    ERROR_REJECTED,
    ERROR_SERVER,
    ERROR_UNKNOWN,
    MAX_ADDRESS_LENGTH,
    MAX_ID_LENGTH,
    REPORT_DELIVERED,
    REPORT_FAILED,
    REPORT_SENT,
    STATUS_FAILED,
    STATUS_RETRY,
    STATUS_SENT,
    GatewayClient,
    InboundMedia,
    InboundSms,
    PayloadError,
    SendResult,
    StatusReport,
    bounded,
    clean_params,
    constant_time_equals,
    get_header,
    shorten,
    to_float,
    to_int,
)

_logger = logging.getLogger(__name__)

API_VERSION = "2010-04-01"
SIGNATURE_HEADER = "X-Twilio-Signature"
#: Twilio attaches at most 10 media to one MMS
MAX_MEDIA = 10
EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'

# REST API error codes (HTTP 4xx answers to the create-message request)
API_ERRORS = {
    20003: ERROR_AUTH,  # Authenticate (HTTP 401)
    20005: ERROR_CREDIT,  # Account not active (out of funds, trial not activated)
    10001: ERROR_CREDIT,  # Account is not active
    20404: ERROR_AUTH,  # resource not found: wrong account SID in the URL
    20429: ERROR_RATE_LIMITED,  # Too Many Requests
    20500: ERROR_SERVER,
    20503: ERROR_SERVER,
    21211: ERROR_INVALID_NUMBER,  # Invalid 'To' phone number
    21217: ERROR_INVALID_NUMBER,  # Phone number does not appear to be valid
    21401: ERROR_INVALID_NUMBER,  # Invalid phone number
    21407: ERROR_INVALID_NUMBER,  # This phone number type does not support SMS
    21421: ERROR_INVALID_NUMBER,  # PhoneNumber is invalid
    21612: ERROR_INVALID_NUMBER,  # 'To' number not currently reachable via SMS
    21614: ERROR_INVALID_NUMBER,  # 'To' number is not a valid mobile number
    21610: ERROR_OPTED_OUT,  # Attempt to send to unsubscribed recipient
}

# delivery error codes (ErrorCode of failed / undelivered status callbacks)
DELIVERY_ERRORS = {
    30001: (ERROR_EXPIRED, "Queue overflow"),
    30002: (ERROR_REJECTED, "Account suspended"),
    30003: (ERROR_NOT_DELIVERED, "Unreachable destination handset"),
    30004: (ERROR_OPTED_OUT, "Message blocked"),
    30005: (ERROR_INVALID_NUMBER, "Unknown destination handset"),
    30006: (ERROR_INVALID_NUMBER, "Landline or unreachable carrier"),
    30007: (ERROR_REJECTED, "Message filtered"),
    30008: (ERROR_UNKNOWN, "Unknown error"),
    30009: (ERROR_NOT_DELIVERED, "Missing segment"),
    30010: (ERROR_REJECTED, "Message price exceeds max price"),
    30032: (ERROR_REJECTED, "Toll-free number not verified"),
    30034: (ERROR_REJECTED, "Message from an unregistered number"),
    30036: (ERROR_EXPIRED, "Validity period expired"),
    21610: (ERROR_OPTED_OUT, "Attempt to send to unsubscribed recipient"),
    21211: (ERROR_INVALID_NUMBER, "Invalid 'To' phone number"),
    21614: (ERROR_INVALID_NUMBER, "'To' number is not a valid mobile number"),
    21408: (ERROR_REJECTED, "Permission to send an SMS has not been enabled for the region"),
}

# Twilio message status (the Message resource's ``status`` enum, every value) →
# normalised report status
STATUS_MAP = {
    "accepted": REPORT_SENT,  # a Messaging Service took it, the sender is not chosen yet
    "scheduled": REPORT_SENT,  # to be sent at SendAt
    "queued": REPORT_SENT,  # waiting for the sender's rate (MPS), no DateSent yet
    "sending": REPORT_SENT,
    "sent": REPORT_SENT,
    # some parts (or some recipients of a group message) confirmed, not all: not final
    "partially_delivered": REPORT_SENT,
    "delivered": REPORT_DELIVERED,
    "read": REPORT_DELIVERED,  # WhatsApp/RCS read receipt: delivered at least
    "undelivered": REPORT_FAILED,
    "failed": REPORT_FAILED,
    "canceled": REPORT_FAILED,
}
# statuses of inbound messages: a callback with them is about a message we received, not
# one we sent; it is acknowledged and ignored
INBOUND_STATUSES = frozenset({"receiving", "received"})


def _values(params, key):
    """All values of ``key``: werkzeug/Django multi-dicts keep repeated keys."""
    getlist = getattr(params, "getlist", None)
    values = getlist(key) if getlist is not None else params[key]
    if not isinstance(values, list | tuple):
        values = [values]
    return ["" if value is None else str(value) for value in values]


def compute_signature(auth_token, url, params):
    """Twilio's ``X-Twilio-Signature`` as twilio-python's ``RequestValidator`` computes
    it: base64(HMAC-SHA1(auth token, URL + every parameter name followed by each of its
    values)), names sorted, each name's values de-duplicated and sorted. A GET and a JSON
    request sign the URL alone (``params={}``)."""
    data = url
    for key in sorted({str(k) for k in params}):
        for value in sorted(set(_values(params, key))):
            data += key + value
    digest = hmac.new(
        auth_token.encode(), data.encode("utf-8", "surrogatepass"), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def _url_variants(url):
    """``url`` without a port and with one (the scheme's default when it has none), as
    ``RequestValidator.validate`` tries both: Twilio signs the URL sometimes with, sometimes
    without the port, and proxies in front of Odoo may add or strip it."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return [url]
    userinfo, _at, hostport = parts.netloc.rpartition("@")
    prefix = f"{userinfo}@" if _at else ""
    host = hostport[: hostport.rindex(":")] if port is not None else hostport
    default_port = 443 if parts.scheme == "https" else 80
    variants = [
        urlunsplit(parts._replace(netloc=prefix + host)),
        urlunsplit(parts._replace(netloc=f"{prefix}{host}:{port or default_port}")),
    ]
    return list(dict.fromkeys(variants))


def _form_params(params, body):
    if params:
        return clean_params(params)
    if body and not body.lstrip().startswith(b"{" if isinstance(body, bytes) else "{"):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
        return clean_params(dict(parse_qsl(text, keep_blank_values=True)))
    return {}


def _error_text(code, message, status=None):
    text = f"Twilio error {code}" if code else "Twilio error"
    if message:
        text += f": {message}"
    if status:
        text += f" (HTTP {status})"
    return shorten(text)


def _date(value):
    """A Twilio RFC 2822 date as an aware datetime, or None."""
    try:
        when = parsedate_to_datetime(value or "")
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _sent_before(message, earliest):
    """Whether ``message`` left Twilio before ``earliest`` (so every message after it in
    the list, newest first, is older still)."""
    if not isinstance(message, dict):
        return False
    sent = _date(message.get("date_sent"))
    return sent is not None and sent < earliest


def _media(form):
    """The MMS attachments: ``MediaUrl{N}`` / ``MediaContentType{N}`` for N below
    ``NumMedia`` (at most MAX_MEDIA, as Twilio sends); links only, nothing is fetched."""
    count = min(max(to_int(form.get("NumMedia")) or 0, 0), MAX_MEDIA)
    media = []
    for index in range(count):
        url = form.get(f"MediaUrl{index}")
        if url and url.lower().startswith(("https://", "http://")):
            media.append(
                InboundMedia(url=url, content_type=form.get(f"MediaContentType{index}") or None)
            )
    return tuple(media)


class TwilioClient(GatewayClient):
    code = "twilio"
    default_api_url = "https://api.twilio.com"
    provider_name = "Twilio"
    max_callback_length = 4000  # error 21609 beyond

    @classmethod
    def callback_problem(cls, url):
        problem = super().callback_problem(url)
        if problem is None and url and "_" in (urlsplit(url).hostname or ""):
            # error 21609: the Messages API refuses underscores in the host name
            problem = "Twilio refuses status callback URLs whose host name has an underscore"
        return problem

    #: pages of the message list read by lookup() before giving up ("cannot tell")
    lookup_max_pages = 10
    lookup_page_size = 100
    #: tolerated clock difference between us and the provider in lookup()
    lookup_clock_skew = timedelta(seconds=30)

    @property
    def messages_url(self):
        return f"{self.api_url}/{API_VERSION}/Accounts/{self.config.account_sid}/Messages.json"

    @property
    def _auth(self):
        return (self.config.account_sid or "", self.config.auth_token or "")

    # -- sending --
    def _payload(self, sms):
        data = {"To": sms.to, "Body": sms.body}
        sender = sms.sender or self.config.sender or ""
        if sender.startswith("MG"):
            data["MessagingServiceSid"] = sender
        elif sender:
            data["From"] = sender
        if sms.status_callback and not self.callback_problem(sms.status_callback):
            data["StatusCallback"] = sms.status_callback
        return data

    def send(self, sms):
        try:
            response, payload = self._post_form(
                self.messages_url, self._payload(sms), auth=self._auth
            )
        except requests.RequestException as exc:
            return self._transport_error(sms, exc)
        if not isinstance(payload, dict):
            payload = None
        if 200 <= response.status_code < 300:
            return self._accepted(sms, payload)
        return self._refused(sms, response, payload)

    def _accepted(self, sms, payload):
        if not payload or not payload.get("sid"):
            # The provider said yes: the message must not be sent again.
            return SendResult(
                sms.reference,
                STATUS_SENT,
                error_message="Twilio accepted the message but its answer had no message SID",
            )
        status = payload.get("status")
        if status in ("failed", "undelivered", "canceled"):
            code = to_int(payload.get("error_code"))
            error_code, label = DELIVERY_ERRORS.get(code, (ERROR_UNKNOWN, None))
            return SendResult(
                sms.reference,
                STATUS_FAILED,
                provider_message_id=payload["sid"],
                error_code=error_code,
                error_message=_error_text(code, payload.get("error_message") or label or status),
            )
        price = to_float(payload.get("price"))
        return SendResult(
            sms.reference,
            STATUS_SENT,
            provider_message_id=payload["sid"],
            segments=to_int(payload.get("num_segments")),
            price=abs(price) if price is not None else None,  # Twilio prices are negative
        )

    def _refused(self, sms, response, payload):
        status = response.status_code
        code = to_int(payload.get("code")) if payload else None
        message = payload.get("message") if payload else shorten(response.text, 200)
        text = _error_text(code, message, status)
        error_code = API_ERRORS.get(code)
        if status == 429 or error_code == ERROR_RATE_LIMITED:
            return self._retry_result(sms, response, ERROR_RATE_LIMITED, text)
        if status >= 500:
            return self._retry_result(sms, response, ERROR_SERVER, text)
        if error_code is None:
            error_code = ERROR_AUTH if status in (401, 403) else ERROR_REJECTED
        return SendResult(sms.reference, STATUS_FAILED, error_code=error_code, error_message=text)

    # -- crash recovery --
    def lookup(self, sms, since):
        """Search the account's messages to ``sms.to`` for one with the same body created
        at or after ``since``.

        Not filtered on ``DateSent``: a message Twilio accepted but holds in its queue
        (beyond the sender's MPS, or scheduled) has no DateSent yet and such a filter
        would hide it, so it would be sent twice. The list comes newest first (unsent
        messages, without DateSent, at the top); paging stops at a page whose messages
        were all sent before ``since``: older pages cannot hold it.
        """
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)  # Odoo datetimes are naive UTC
        earliest = since - self.lookup_clock_skew
        params = {"To": sms.to, "PageSize": str(self.lookup_page_size)}
        url = self.messages_url
        for _page in range(self.lookup_max_pages):
            try:
                response = self.session.get(
                    url, params=params, auth=self._auth, timeout=self.timeout
                )
            except requests.RequestException as exc:
                _logger.info("Twilio lookup of %s failed: %s", sms.reference, exc)
                return None
            if response.status_code != 200:
                _logger.info(
                    "Twilio lookup of %s failed: HTTP %s", sms.reference, response.status_code
                )
                return None
            try:
                payload = response.json()
                messages = payload["messages"]
            except (ValueError, KeyError, TypeError):
                return None
            if not isinstance(messages, list):
                return None
            for message in messages:
                found = self._match(sms, message, earliest)
                if found:
                    return found
            next_page = payload.get("next_page_uri")
            if not next_page or all(_sent_before(m, earliest) for m in messages):
                return SendResult(
                    sms.reference,
                    STATUS_RETRY,
                    error_code=ERROR_NOT_FOUND,
                    error_message="Twilio has no record of this message",
                )
            base = urlsplit(self.api_url)
            url = urlunsplit((base.scheme, base.netloc, "", "", "")) + next_page
            params = None  # the next page's URI carries the filters
        return None  # too many pages to tell

    def _match(self, sms, message, earliest):
        if not isinstance(message, dict) or message.get("body") != sms.body:
            return None
        if message.get("to") not in (None, sms.to):
            return None
        if message.get("direction") not in (None, "outbound-api", "outbound-call"):
            return None
        created = _date(message.get("date_created"))
        if created is None or created < earliest:
            return None
        price = to_float(message.get("price"))
        return SendResult(
            sms.reference,
            STATUS_SENT,
            provider_message_id=message.get("sid"),
            segments=to_int(message.get("num_segments")),
            price=abs(price) if price is not None else None,
        )

    # -- webhooks --
    def verify_signature(self, url, params, headers, body, method="POST"):
        """As ``RequestValidator.validate``: a JSON request (``bodySHA256`` in the URL)
        signs the URL and carries the body's SHA-256; a GET signs the URL (its query
        holds the parameters); a form POST signs the URL and the form. Both port variants
        of the URL are tried; every comparison is constant-time."""
        signature = get_header(headers, SIGNATURE_HEADER)
        token = self.config.auth_token
        if not signature or not token or not url:
            return False
        body_hashes = [
            value
            for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=True)
            if key == "bodySHA256"
        ]
        if body_hashes:
            raw = body if isinstance(body, bytes) else str(body or "").encode("utf-8")
            if not constant_time_equals(hashlib.sha256(raw).hexdigest(), body_hashes[0]):
                return False
            signed = {}
        elif str(method).upper() == "GET":
            signed = {}
        else:
            signed = params or {}
            if not signed and body:
                text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
                signed = dict(parse_qsl(text, keep_blank_values=True))
        matches = [
            constant_time_equals(compute_signature(token, candidate, signed), signature)
            for candidate in _url_variants(url)
        ]
        return any(matches)

    def parse_status(self, params, body):
        form = _form_params(params, body)
        sid = form.get("MessageSid") or form.get("SmsSid")
        raw_status = form.get("MessageStatus") or form.get("SmsStatus")
        if not sid or not raw_status:
            raise PayloadError("Twilio status callback without MessageSid or MessageStatus")
        bounded(sid, MAX_ID_LENGTH, "MessageSid")
        if raw_status in INBOUND_STATUSES:
            return []
        status = STATUS_MAP.get(raw_status)
        if status is None:
            raise PayloadError(f"Unknown Twilio message status {shorten(raw_status, 40)!r}")
        error_code = error_message = code = None
        if status == REPORT_FAILED:
            code = to_int(form.get("ErrorCode"))
            error_code, label = DELIVERY_ERRORS.get(code, (ERROR_UNKNOWN, None))
            if raw_status == "canceled" and code is None:
                error_code, label = ERROR_REJECTED, "canceled"
            error_message = _error_text(code, form.get("ErrorMessage") or label or raw_status)
        return [
            StatusReport(
                provider_message_id=sid,
                status=status,
                error_code=error_code,
                error_message=error_message,
                provider_status=raw_status,
                provider_error_code=None if code is None else str(code),
            )
        ]

    def parse_inbound(self, params, body):
        form = _form_params(params, body)
        sid = form.get("MessageSid") or form.get("SmsMessageSid") or form.get("SmsSid")
        sender, recipient = form.get("From"), form.get("To")
        if not sid or not sender or not recipient:
            raise PayloadError("Twilio inbound message without MessageSid, From or To")
        return InboundSms(
            provider_message_id=bounded(sid, MAX_ID_LENGTH, "MessageSid"),
            sender=bounded(sender, MAX_ADDRESS_LENGTH, "From"),
            recipient=bounded(recipient, MAX_ADDRESS_LENGTH, "To"),
            body=form.get("Body", ""),
            media=_media(form),
        )

    def webhook_response(self):
        return 200, "text/xml", EMPTY_TWIML
