"""Vonage (formerly Nexmo) SMS API client.

* send: ``POST https://rest.nexmo.com/sms/json`` (form: ``api_key``, ``api_secret``,
  ``from``, ``to``, ``text``, ``type``, ``client-ref``, ``callback``,
  ``status-report-req``). The answer is HTTP 200 with one entry per SMS part in
  ``messages``, each with its own ``status`` ("0" = accepted).
* delivery receipts (DLR) and inbound messages arrive as GET query, POST form or POST JSON.
  With signed webhooks enabled they carry ``sig`` (+ ``timestamp``, ``nonce``): the hex
  digest of ``&k=v`` pairs sorted by key (``&`` and ``=`` in values replaced by ``_``)
  computed either as MD5(pairs + secret) ("md5hash", the dashboard's legacy default) or as
  an HMAC (MD5, SHA-1, SHA-256, SHA-512) of the pairs keyed by the signature secret. The
  account signs with the one method chosen in its dashboard; like Vonage's own client
  (``Client(signature_method=...).check_signature``), we verify with that method only, so
  that a forger cannot pick the weakest one (MD5). Default: SHA-256 HMAC, the HMAC that
  Vonage's libraries prefer over the legacy md5hash.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
import time
from urllib.parse import parse_qsl, urlsplit

import requests

from ..encoding import is_gsm7
from .base import (
    ERROR_AUTH,
    ERROR_CREDIT,
    ERROR_EXPIRED,
    ERROR_INVALID_NUMBER,
    ERROR_NOT_DELIVERED,
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
    InboundPart,
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

#: signed webhooks older (or further in the future) than this are refused (replays)
MAX_SIGNATURE_AGE = 300
#: the ``sig`` methods of Vonage's dashboard: "md5hash" (legacy) and the HMACs
SIGNATURE_METHODS = ("md5hash", "md5", "sha1", "sha256", "sha512")
DEFAULT_SIGNATURE_METHOD = "sha256"
#: a long SMS has at most 255 parts (the concatenation header counts them in one byte)
MAX_PARTS = 255

# fields Vonage sends in delivery receipts and inbound messages (SMS API)
WEBHOOK_FIELDS = frozenset(
    "api-key msisdn to network-code messageId price status scts err-code client-ref "
    "message-timestamp timestamp nonce sig text type keyword concat concat-ref concat-total "
    "concat-part data udh".split()
)

# status of each entry of the send answer → (send status, normalised error code, label)
SEND_STATUSES = {
    "1": (STATUS_RETRY, ERROR_RATE_LIMITED, "Throttled"),
    "2": (STATUS_FAILED, ERROR_REJECTED, "Missing parameters"),
    "3": (STATUS_FAILED, ERROR_REJECTED, "Invalid parameters"),
    "4": (STATUS_FAILED, ERROR_AUTH, "Invalid credentials"),
    "5": (STATUS_RETRY, ERROR_SERVER, "Internal error"),
    "6": (STATUS_FAILED, ERROR_REJECTED, "Invalid message"),
    "7": (STATUS_FAILED, ERROR_OPTED_OUT, "Number barred"),
    "8": (STATUS_FAILED, ERROR_AUTH, "Partner account barred"),
    "9": (STATUS_FAILED, ERROR_CREDIT, "Partner quota violation"),
    "10": (STATUS_RETRY, ERROR_RATE_LIMITED, "Too many existing binds"),
    "11": (STATUS_FAILED, ERROR_AUTH, "Account not enabled for HTTP"),
    "12": (STATUS_FAILED, ERROR_REJECTED, "Message too long"),
    "14": (STATUS_FAILED, ERROR_AUTH, "Invalid signature"),
    "15": (STATUS_FAILED, ERROR_REJECTED, "Invalid sender address"),
    "22": (STATUS_FAILED, ERROR_REJECTED, "Invalid network code"),
    "23": (STATUS_FAILED, ERROR_REJECTED, "Invalid callback URL"),
    "29": (STATUS_FAILED, ERROR_REJECTED, "Non-whitelisted destination"),
    "32": (STATUS_FAILED, ERROR_AUTH, "Signature and API secret disallowed"),
    "33": (STATUS_FAILED, ERROR_INVALID_NUMBER, "Number de-activated"),
}
# statuses 3 and 6 are about the recipient when their error text says so
_RECIPIENT_TEXT = re.compile(r"\bto\b|msisdn|recipient|destination|prefix", re.IGNORECASE)

# DLR status → normalised report status
DLR_STATUSES = {
    "accepted": REPORT_SENT,
    "buffered": REPORT_SENT,
    "submitted": REPORT_SENT,
    "unknown": REPORT_SENT,  # no final word from the carrier
    "delivered": REPORT_DELIVERED,
    "expired": REPORT_FAILED,
    "failed": REPORT_FAILED,
    "rejected": REPORT_FAILED,
}
# DLR err-code → (normalised error code, label)
DLR_ERRORS = {
    "1": (ERROR_UNKNOWN, "Unknown"),
    "2": (ERROR_NOT_DELIVERED, "Absent subscriber - temporary"),
    "3": (ERROR_INVALID_NUMBER, "Absent subscriber - permanent"),
    "4": (ERROR_OPTED_OUT, "Call barred by user"),
    "5": (ERROR_NOT_DELIVERED, "Portability error"),
    "6": (ERROR_REJECTED, "Anti-spam rejection"),
    "7": (ERROR_NOT_DELIVERED, "Handset busy"),
    "8": (ERROR_NOT_DELIVERED, "Network error"),
    "9": (ERROR_OPTED_OUT, "Illegal number (recipient opted out of this sender)"),
    "10": (ERROR_REJECTED, "Illegal message"),
    "11": (ERROR_NOT_DELIVERED, "Unroutable"),
    "12": (ERROR_INVALID_NUMBER, "Destination unreachable"),
    "13": (ERROR_REJECTED, "Subscriber age restriction"),
    "14": (ERROR_NOT_DELIVERED, "Number blocked by carrier"),
    "15": (ERROR_NOT_DELIVERED, "Prepaid insufficient funds"),
    "16": (ERROR_NOT_DELIVERED, "Gateway quota exceeded"),
    "50": (ERROR_REJECTED, "Entity filter"),
    "51": (ERROR_REJECTED, "Header filter"),
    "52": (ERROR_REJECTED, "Content filter"),
    "53": (ERROR_REJECTED, "Consent filter"),
    "54": (ERROR_REJECTED, "Regulation error"),
    "99": (ERROR_UNKNOWN, "General error"),
}


def signature_base(params):
    """The signed string: ``&key=value`` for every param but ``sig``, sorted by key."""
    parts = []
    for key in sorted(params):
        if key == "sig":
            continue
        value = "" if params[key] is None else str(params[key])
        parts.append(f"&{key}={value.replace('&', '_').replace('=', '_')}")
    return "".join(parts)


def compute_signature(secret, params, method="md5hash"):
    """Vonage's ``sig`` of ``params`` (lower-case hex; compare case-insensitively)."""
    base = signature_base(params)
    if method == "md5hash":
        return hashlib.md5((base + secret).encode("utf-8")).hexdigest()
    if method not in SIGNATURE_METHODS:
        raise ValueError(f"Unknown Vonage signature method {method!r}")
    return hmac.new(secret.encode("utf-8"), base.encode("utf-8"), method).hexdigest()


def _e164(number):
    """Vonage writes numbers without '+': give them back in E.164 when numeric."""
    if number and number.isdigit():
        return "+" + number
    return number


def _strip_plus(number):
    if number and number.startswith("+") and number[1:].isdigit():
        return number[1:]
    return number


def _webhook_params(params, body):
    """Query/form params, or the JSON body, as a flat dict of strings, as received (the
    signature covers the raw values; :func:`clean_params` makes them storable)."""
    result = {str(k): "" if v is None else str(v) for k, v in (params or {}).items()}
    if body:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
        stripped = text.lstrip()
        data = None
        if stripped.startswith("{"):
            try:
                data = json.loads(stripped)
            except (ValueError, RecursionError):
                data = None
            if isinstance(data, dict):
                for key, value in data.items():
                    if isinstance(value, bool):
                        value = "true" if value else "false"
                    result.setdefault(str(key), "" if value is None else str(value))
        elif not result:
            result.update(parse_qsl(text, keep_blank_values=True))
    return result


def _b64url(text):
    text = text.encode("ascii") if isinstance(text, str) else text
    return base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))


def verify_jwt(token, secret, body, now):
    """A Messages API signed webhook: ``Authorization: Bearer <JWT>`` signed HS256 with
    the signature secret (as ``vonage_jwt.verify_signature``, i.e. PyJWT's ``decode``:
    signature, then ``exp``/``nbf`` when present), whose ``payload_hash`` claim, when
    present, is the SHA-256 of the body."""
    try:
        header_b64, payload_b64, signature_b64 = token.strip().split(".")
        header = json.loads(_b64url(header_b64))
        claims = json.loads(_b64url(payload_b64))
        signature = _b64url(signature_b64)
    except (ValueError, TypeError, UnicodeError, RecursionError):
        return False
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return False
    if header.get("alg") != "HS256":
        return False
    expected = hmac.new(
        secret.encode("utf-8"), f"{header_b64}.{payload_b64}".encode("ascii"), hashlib.sha256
    ).digest()
    if not hmac.compare_digest(expected, signature):
        return False
    for claim, late in (("exp", True), ("nbf", False)):
        if claim in claims:
            moment = to_float(claims[claim])
            if moment is None or not math.isfinite(moment):
                return False
            if (late and now >= moment) or (not late and now < moment):
                return False
    if "payload_hash" in claims:
        raw = body if isinstance(body, bytes) else str(body or "").encode("utf-8")
        if not constant_time_equals(hashlib.sha256(raw).hexdigest(), claims["payload_hash"]):
            return False
    return True


def _part(data):
    """The concatenation fields of one part of a long inbound SMS, or None."""
    if str(data.get("concat", "")).lower() != "true":
        return None
    reference = data.get("concat-ref") or ""
    total = to_int(data.get("concat-total"))
    number = to_int(data.get("concat-part"))
    if not reference or total is None or number is None or not 1 <= number <= total <= MAX_PARTS:
        raise PayloadError("Vonage message part with an invalid concat-ref, -total or -part")
    return InboundPart(reference=shorten(reference, 64), number=number, total=total)


class VonageClient(GatewayClient):
    code = "vonage"
    default_api_url = "https://rest.nexmo.com"
    provider_name = "Vonage"
    # the SMS API's ``callback``: "Max 100 characters"; beyond, the account's delivery
    # receipt URL applies, and reports still match by client-ref
    max_callback_length = 100

    def __init__(self, config, session=None, clock=None):
        super().__init__(config, session=session)
        #: returns the current Unix time; replaced in tests
        self.clock = clock or time.time
        self.max_signature_age = MAX_SIGNATURE_AGE

    # -- sending --
    def _payload(self, sms):
        data = {
            "api_key": self.config.account_sid or "",
            "api_secret": self.config.auth_token or "",
            "from": _strip_plus(sms.sender or self.config.sender or ""),
            "to": _strip_plus(sms.to),
            "text": sms.body,
            "type": "text" if is_gsm7(sms.body) else "unicode",
            "client-ref": sms.reference,
            "status-report-req": "1",
        }
        if sms.status_callback and not self.callback_problem(sms.status_callback):
            data["callback"] = sms.status_callback
        return data

    def send(self, sms):
        try:
            response, payload = self._post_form(f"{self.api_url}/sms/json", self._payload(sms))
        except requests.RequestException as exc:
            return self._transport_error(sms, exc)
        if response.status_code != 200:
            detail = ""
            if isinstance(payload, dict):
                detail = payload.get("error-text") or payload.get("title") or ""
            return self._http_status_error(sms, response, shorten(detail or response.text, 200))
        parts = payload.get("messages") if isinstance(payload, dict) else None
        if not isinstance(parts, list) or not parts:
            # HTTP 200 without a readable answer: Vonage may have queued it, do not resend
            return SendResult(
                sms.reference,
                STATUS_SENT,
                error_message="Vonage answered without message entries: "
                + shorten(response.text, 200),
            )
        return self._result(sms, [p if isinstance(p, dict) else {} for p in parts])

    def _result(self, sms, parts):
        accepted = [p for p in parts if str(p.get("status")) == "0"]
        first_id = next((p.get("message-id") for p in accepted if p.get("message-id")), None)
        prices = [to_float(p.get("message-price")) for p in accepted]
        price = (
            sum(p for p in prices if p is not None) if any(p is not None for p in prices) else None
        )
        if len(accepted) == len(parts):
            return SendResult(
                sms.reference,
                STATUS_SENT,
                provider_message_id=first_id,
                segments=len(parts),
                price=price,
            )
        refused = next(p for p in parts if str(p.get("status")) != "0")
        status_code = str(refused.get("status"))
        text = refused.get("error-text") or ""
        send_status, error_code, label = SEND_STATUSES.get(
            status_code, (STATUS_FAILED, ERROR_UNKNOWN, "Unknown status")
        )
        if status_code == "3" and _RECIPIENT_TEXT.search(text):
            error_code = ERROR_INVALID_NUMBER
        elif status_code == "6" and _RECIPIENT_TEXT.search(text):
            error_code = ERROR_INVALID_NUMBER
        message = f"Vonage status {status_code}: {text or label}"
        if accepted:
            # Some parts went out: sending again would duplicate them.
            send_status = STATUS_FAILED
            message += f" ({len(accepted)} of {len(parts)} parts accepted)"
        return SendResult(
            sms.reference,
            send_status,
            provider_message_id=first_id,
            error_code=error_code,
            error_message=shorten(message),
            segments=len(parts) if accepted else None,
            price=price if accepted else None,
        )

    # lookup(): the SMS API cannot search sent messages → base implementation (None)

    # -- webhooks --
    def verify_signature(self, url, params, headers, body, method="POST"):
        """Messages API webhooks carry a JWT (``Authorization: Bearer``); SMS API ones
        a ``sig`` parameter, computed with the method the account is set to (the
        gateway's ``signature_method``) and with no other, compared in constant time.
        A ``sig`` needs a fresh ``timestamp``."""
        secret = self.config.signature_secret
        if not secret:
            return False
        method = self.config.signature_method or DEFAULT_SIGNATURE_METHOD
        if method not in SIGNATURE_METHODS:
            return False  # a setting we do not know checks nothing
        authorization = get_header(headers, "Authorization") or ""
        if authorization[:7].lower() == "bearer ":
            return verify_jwt(authorization[7:], secret, body, self.clock())
        data = _webhook_params(params, body)
        signature = (data.get("sig") or "").strip().lower()
        if not signature:
            return False
        timestamp = to_float(data.get("timestamp"))
        if timestamp is None or not math.isfinite(timestamp):
            return False
        if abs(self.clock() - timestamp) > self.max_signature_age:
            return False
        candidates = [data]
        # Query parameters of our own callback URL (e.g. "?ref=…") are not signed by Vonage;
        # on a GET webhook they are mixed with Vonage's: try again without them.
        own = {key for key, _value in parse_qsl(urlsplit(url or "").query, True)}
        own -= WEBHOOK_FIELDS
        if own & data.keys():
            candidates.append({k: v for k, v in data.items() if k not in own})
        matches = [
            constant_time_equals(compute_signature(secret, candidate, method), signature)
            for candidate in candidates
        ]
        return any(matches)

    def parse_status(self, params, body):
        data = clean_params(_webhook_params(params, body))
        message_id = data.get("messageId") or data.get("message-id")
        raw_status = (data.get("status") or "").lower()
        if not message_id or not raw_status:
            raise PayloadError("Vonage delivery receipt without messageId or status")
        bounded(message_id, MAX_ID_LENGTH, "messageId")
        status = DLR_STATUSES.get(raw_status)
        if status is None:
            raise PayloadError(f"Unknown Vonage delivery status {shorten(raw_status, 40)!r}")
        error_code = error_message = None
        err = data.get("err-code") or ""
        if status == REPORT_FAILED:
            if raw_status == "expired":
                error_code, label = ERROR_EXPIRED, "Expired"
            else:
                error_code, label = DLR_ERRORS.get(err, (ERROR_UNKNOWN, raw_status))
            error_message = f"Vonage DLR {raw_status}" + (f", err-code {err}" if err else "")
            error_message += f": {label}"
        return [
            StatusReport(
                provider_message_id=message_id,
                status=status,
                reference=data.get("client-ref") or None,
                error_code=error_code,
                error_message=error_message,
                provider_status=raw_status,
                provider_error_code=shorten(err, 20) if err and status == REPORT_FAILED else None,
            )
        ]

    def parse_inbound(self, params, body):
        data = clean_params(_webhook_params(params, body))
        message_id = data.get("messageId") or data.get("message-id")
        sender, recipient = data.get("msisdn"), data.get("to")
        if not message_id or not sender or not recipient:
            raise PayloadError("Vonage inbound message without messageId, msisdn or to")
        return InboundSms(
            provider_message_id=bounded(message_id, MAX_ID_LENGTH, "messageId"),
            sender=bounded(_e164(sender), MAX_ADDRESS_LENGTH, "msisdn"),
            recipient=bounded(_e164(recipient), MAX_ADDRESS_LENGTH, "to"),
            body=data.get("text", ""),
            part=_part(data),
        )

    def webhook_response(self):
        return 204, "text/plain", b""
