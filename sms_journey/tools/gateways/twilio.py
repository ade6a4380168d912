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
    REPORT_DELIVERED,
    REPORT_FAILED,
    REPORT_SENT,
    STATUS_FAILED,
    STATUS_RETRY,
    STATUS_SENT,
    GatewayClient,
    InboundSms,
    PayloadError,
    SendResult,
    StatusReport,
    get_header,
    shorten,
    to_float,
    to_int,
)

_logger = logging.getLogger(__name__)

API_VERSION = "2010-04-01"
SIGNATURE_HEADER = "X-Twilio-Signature"
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

# Twilio message status → normalised report status
STATUS_MAP = {
    "accepted": REPORT_SENT,
    "scheduled": REPORT_SENT,
    "queued": REPORT_SENT,
    "sending": REPORT_SENT,
    "sent": REPORT_SENT,
    "delivered": REPORT_DELIVERED,
    "read": REPORT_DELIVERED,
    "undelivered": REPORT_FAILED,
    "failed": REPORT_FAILED,
    "canceled": REPORT_FAILED,
}


def compute_signature(auth_token, url, params):
    """Twilio's request signature of a form POST (or of a GET with ``params={}``)."""
    data = url + "".join(f"{key}{value}" for key, value in sorted(params.items()))
    digest = hmac.new(auth_token.encode(), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _url_variants(url):
    """``url`` as given, and with the default port added or removed: Twilio signs the URL as
    configured, proxies in front of Odoo may add or strip the port."""
    variants = [url]
    parts = urlsplit(url)
    default_port = {"https": 443, "http": 80}.get(parts.scheme)
    if parts.hostname and default_port:
        host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        userinfo = parts.netloc.rpartition("@")[0]
        prefix = f"{userinfo}@" if userinfo else ""
        if parts.port is None:
            netloc = f"{prefix}{host}:{default_port}"
        elif parts.port == default_port:
            netloc = f"{prefix}{host}"
        else:
            netloc = None
        if netloc:
            variants.append(urlunsplit(parts._replace(netloc=netloc)))
    return variants


def _form_params(params, body):
    if params:
        return {str(k): "" if v is None else str(v) for k, v in params.items()}
    if body:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
        return dict(parse_qsl(text, keep_blank_values=True))
    return {}


def _error_text(code, message, status=None):
    text = f"Twilio error {code}" if code else "Twilio error"
    if message:
        text += f": {message}"
    if status:
        text += f" (HTTP {status})"
    return shorten(text)


class TwilioClient(GatewayClient):
    code = "twilio"
    default_api_url = "https://api.twilio.com"
    provider_name = "Twilio"
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
        sender = self.config.sender or ""
        if sender.startswith("MG"):
            data["MessagingServiceSid"] = sender
        elif sender:
            data["From"] = sender
        if sms.status_callback:
            data["StatusCallback"] = sms.status_callback
        return data

    def send(self, sms):
        try:
            response = self.session.post(
                self.messages_url, data=self._payload(sms), auth=self._auth, timeout=self.timeout
            )
        except requests.RequestException as exc:
            return self._transport_error(sms, exc)
        try:
            payload = response.json()
        except ValueError:
            payload = None
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
        """Search the account's messages to ``sms.to`` sent since the day of ``since`` for
        one with the same body created at or after ``since``."""
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)  # Odoo datetimes are naive UTC
        earliest = since - self.lookup_clock_skew
        params = {
            "To": sms.to,
            "DateSent>": earliest.astimezone(UTC).strftime("%Y-%m-%d"),
            "PageSize": str(self.lookup_page_size),
        }
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
            for message in messages:
                found = self._match(sms, message, earliest)
                if found:
                    return found
            next_page = payload.get("next_page_uri")
            if not next_page:
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
        try:
            created = parsedate_to_datetime(message.get("date_created") or "")
        except (TypeError, ValueError, IndexError):
            created = None
        if created is None:
            return None
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        if created < earliest:
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
    def verify_signature(self, url, params, headers, body):
        signature = get_header(headers, SIGNATURE_HEADER)
        token = self.config.auth_token
        if not signature or not token or not url:
            return False
        form = _form_params(params, body)
        return any(
            hmac.compare_digest(compute_signature(token, candidate, form), signature)
            for candidate in _url_variants(url)
        )

    def parse_status(self, params, body):
        form = _form_params(params, body)
        sid = form.get("MessageSid") or form.get("SmsSid")
        raw_status = form.get("MessageStatus") or form.get("SmsStatus")
        if not sid or not raw_status:
            raise PayloadError("Twilio status callback without MessageSid or MessageStatus")
        status = STATUS_MAP.get(raw_status)
        if status is None:
            raise PayloadError(f"Unknown Twilio message status {raw_status!r}")
        error_code = error_message = None
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
            )
        ]

    def parse_inbound(self, params, body):
        form = _form_params(params, body)
        sid = form.get("MessageSid") or form.get("SmsMessageSid") or form.get("SmsSid")
        sender, recipient = form.get("From"), form.get("To")
        if not sid or not sender or not recipient:
            raise PayloadError("Twilio inbound message without MessageSid, From or To")
        return InboundSms(
            provider_message_id=sid, sender=sender, recipient=recipient, body=form.get("Body", "")
        )

    def webhook_response(self):
        return 200, "text/xml", EMPTY_TWIML
