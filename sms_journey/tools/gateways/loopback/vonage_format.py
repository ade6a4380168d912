"""A loopback server speaking Vonage's SMS API (one message per part, balances, signed
delivery receipts and inbound messages, long ones in parts)."""

import hmac
import logging
import os
import re
import time
import uuid
from datetime import UTC, datetime

from .server import _digits, _json, _LoopbackServer, _query_and_form, encoding, vonage_signature

_logger = logging.getLogger(__name__)


def _vonage_answer(*parts):
    return _json(200, {"message-count": str(len(parts)), "messages": list(parts)})


class VonageFormatServer(_LoopbackServer):
    """Vonage's SMS API (``/sms/json``) and its signed webhooks (DLR, inbound).

    Failure kinds for :meth:`fail_next`: ``invalid_number`` (status 3, "Invalid to
    address"), ``opted_out`` (7), ``auth`` (4), ``credit`` (9), ``rate_limited`` (1),
    ``server_error`` (HTTP 500), ``unavailable`` (HTTP 503), ``timeout`` and
    ``timeout_accepted`` (see :class:`TwilioFormatServer`).

    Webhooks are posted with ``dlr_method`` ('POST' form, 'GET' query or 'JSON') and signed
    with ``signature_method`` ('sha256', our gateway's default, 'sha512', 'sha1', 'md5' or
    'md5hash').
    """

    FAILURE_KINDS = (
        "invalid_number",
        "opted_out",
        "auth",
        "credit",
        "rate_limited",
        "server_error",
        "unavailable",
        "timeout",
        "timeout_accepted",
    )
    AUTO_STATUSES = ("accepted", "delivered")
    FAILED_STATUS = "failed"
    DEFAULT_DELIVERY_ERROR = "2"
    PART_PRICE = "0.03330000"

    def __init__(
        self,
        api_key="key",
        api_secret="secret",
        signature_secret="sigsecret",
        delay=0.0,
        *,
        signature_method="sha256",
        dlr_method="POST",
        account_sid=None,
        auth_token=None,
        **kwargs,
    ):
        super().__init__(delay=delay, **kwargs)
        # account_sid / auth_token: GatewayConfig's names for the key and the secret
        self.api_key = account_sid or api_key
        self.api_secret = auth_token or api_secret
        self.signature_secret = signature_secret
        self.signature_method = signature_method
        self.dlr_method = dlr_method
        self.balance = 100.0

    @property
    def account_sid(self):
        return self.api_key

    @property
    def auth_token(self):
        return self.api_secret

    def _handle(self, method, path, headers, body):
        with self._lock:
            self._requests_count += 1
        route, params = _query_and_form(path, headers, body)
        if route != "/sms/json" or method not in ("GET", "POST"):
            return 404, {"Content-Type": "text/plain"}, b"Not Found"
        self._wait(self.delay)
        to = params.get("to", "")
        if not self._authorized(params):
            return _vonage_answer({"status": "4", "error-text": "Bad Credentials"})
        kind = self._take_failure(to)
        refusal = self._refusal(kind, params, to)
        if refusal:
            return refusal
        answer = self._accept(params, to)
        if kind == "timeout_accepted":
            self._wait(self.timeout_sleep)
        return answer

    def _refusal(self, kind, params, to):
        """The answer to a request the provider refuses (a scripted failure, a missing
        parameter, a wrong number), or None."""
        if kind == "timeout":
            self._wait(self.timeout_sleep)
            return 503, {"Content-Type": "text/plain"}, b"Service Unavailable"
        if kind == "server_error":
            return 500, {"Content-Type": "text/plain"}, b"Internal Server Error"
        if kind == "unavailable":
            return 503, {"Content-Type": "text/plain"}, b"Service Unavailable"
        failure = {
            "invalid_number": ("3", "Invalid to address"),
            "opted_out": ("7", "Number barred."),
            "auth": ("4", "Bad Credentials"),
            "credit": ("9", "Quota Exceeded - rejected"),
            "rate_limited": ("1", "Throughput Rate Exceeded - please wait [ 1000 ] and retry"),
        }.get(kind)
        if failure:
            return _vonage_answer({"status": failure[0], "error-text": failure[1]})
        for field in ("from", "to", "text"):
            if not params.get(field):
                return _vonage_answer({"status": "2", "error-text": f"Missing {field} param"})
        if not re.fullmatch(r"[1-9]\d{6,14}", to):
            return _vonage_answer({"status": "3", "error-text": "Invalid to address"})
        return None

    def _accept(self, params, to):
        """Store the message (one per part, as Vonage does) and answer its parts."""
        text = params["text"]
        kind_of_text = params.get("type") or "text"
        parts = encoding.segment_count(
            text, encoding.UCS2 if kind_of_text == "unicode" else encoding.GSM7
        )
        ids = [str(uuid.uuid4()) for _ in range(parts)]
        message = {
            "id": ids[0],
            "message-id": ids[0],
            "message_ids": ids,
            "to": to,
            "from": params["from"],
            "body": text,
            "type": kind_of_text,
            "callback": params.get("callback") or None,
            "status_callback": params.get("callback") or None,
            "client_ref": params.get("client-ref") or None,
            "status_report_req": params.get("status-report-req"),
            "parts": parts,
            "status": "accepted",
            "received_at": time.time(),
        }
        with self._lock:
            self.balance -= parts * float(self.PART_PRICE)
            balance = self.balance
        self._store(message, ids)
        answer = []
        for message_id in ids:
            entry = {
                "to": to,
                "message-id": message_id,
                "status": "0",
                "remaining-balance": f"{balance:.8f}",
                "message-price": self.PART_PRICE,
                "network": "12345",
            }
            if message["client_ref"]:
                entry["client-ref"] = message["client_ref"]
            answer.append(entry)
        return _vonage_answer(*answer)

    def _authorized(self, params):
        if params.get("api_key") != self.api_key:
            return False
        if "sig" in params:  # signed request instead of api_secret
            signature = params["sig"].lower()
            return any(
                hmac.compare_digest(
                    vonage_signature(self.signature_secret, params, method), signature
                )
                for method in ("md5hash", "sha256", "sha512", "sha1", "md5")
            )
        return hmac.compare_digest(params.get("api_secret", ""), self.api_secret)

    # -- webhooks --
    def sign(self, params, method=None):
        """Add ``timestamp``, ``nonce`` and ``sig`` to ``params`` (in place) and return it."""
        params.setdefault("timestamp", str(int(time.time())))
        params.setdefault("nonce", str(uuid.uuid4()))
        params.pop("sig", None)
        params["sig"] = vonage_signature(
            self.signature_secret, params, method or self.signature_method
        )
        return params

    def _send_webhook(self, url, params):
        method = (self.dlr_method or "POST").upper()
        if method == "JSON":
            return self._post(url, params, as_json=True)
        return self._post(url, params, method="GET" if method == "GET" else "POST")

    def post_status(self, message_id, status, error_code=None, url=None):
        """Send a signed delivery receipt for part ``message_id``.

        :return: ``(HTTP status, response body bytes)`` of the receiving end.
        """
        with self._lock:
            message = self._by_id.get(message_id)
            if message is not None:
                message["status"] = status
                message = dict(message)
        url = self._callback_of(message, url)
        now = datetime.now(UTC)
        params = {
            "msisdn": (message or {}).get("to") or "",
            "to": (message or {}).get("from") or "",
            "network-code": "12345",
            "messageId": message_id,
            "price": self.PART_PRICE,
            "status": status,
            "scts": now.strftime("%y%m%d%H%M"),
            "err-code": str(error_code)
            if error_code is not None
            else ("0" if status in ("delivered", "accepted", "buffered") else "1"),
            "api-key": self.api_key,
            "message-timestamp": now.strftime("%Y-%m-%d %H:%M:%S"),
        }
        if message and message.get("client_ref"):
            params["client-ref"] = message["client_ref"]
        return self._send_webhook(url, self.sign(params))

    def post_inbound(self, url, sender, recipient, body, message_id=None, concat=None):
        """Send a signed inbound message (``msisdn`` → ``to``) to ``url``. ``concat`` =
        ``(reference, part, total)`` sends it as one part of a long message."""
        params = {
            "msisdn": _digits(sender),
            "to": _digits(recipient),
            "messageId": message_id or uuid.uuid4().hex[:16].upper(),
            "text": body,
            "type": "text" if encoding.is_gsm7(body) else "unicode",
            "keyword": (body.split() or [""])[0].upper(),
            "api-key": self.api_key,
            "message-timestamp": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        }
        if concat:
            reference, part, total = concat
            params.update(
                {
                    "concat": "true",
                    "concat-ref": str(reference),
                    "concat-part": str(part),
                    "concat-total": str(total),
                }
            )
        return self._send_webhook(url, self.sign(params))

    def post_long_inbound(self, url, sender, recipient, body, part_length=153, order=None):
        """Send ``body`` as the parts Vonage delivers for a long SMS (153 GSM characters
        each), in ``order`` (part numbers, 1-based; repeats allowed) or in sequence.

        :return: the ``(status, body)`` answers, one per part sent.
        """
        chunks = [body[i : i + part_length] for i in range(0, len(body), part_length)] or [""]
        reference = format(int.from_bytes(os.urandom(2), "big"), "04X")
        batch = uuid.uuid4().hex[:12].upper()  # a part sent again keeps its messageId
        answers = []
        for number in order or range(1, len(chunks) + 1):
            answers.append(
                self.post_inbound(
                    url,
                    sender,
                    recipient,
                    chunks[number - 1],
                    message_id=f"{batch}{number:02d}",
                    concat=(reference, number, len(chunks)),
                )
            )
        return answers


# ==========================================================================================
# Webhook receiver (the other side, for tests)
# ==========================================================================================
