"""A loopback server speaking Twilio's Messages API (create, fetch, list, signed status
callbacks and inbound messages)."""

import base64
import hmac
import logging
import re
import time
import uuid
from datetime import UTC, date, datetime
from email.utils import format_datetime
from urllib.parse import quote, urlencode

from .server import (
    _json,
    _LoopbackServer,
    _query_and_form,
    encoding,
    twilio_signature,
)

_logger = logging.getLogger(__name__)

TWILIO_API_VERSION = "2010-04-01"
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def _twilio_error(status, code, message, extra=None):
    return _json(
        status,
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        extra,
    )


def _twilio_date_bound(value):
    """A ``DateSent`` filter of Twilio's list: a date, or an aware datetime."""
    value = value.strip()
    if len(value) == 10:
        return date.fromisoformat(value)
    bound = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return bound if bound.tzinfo else bound.replace(tzinfo=UTC)


def _twilio_list_matches(message, params):
    """Whether ``message`` passes the filters of a list request (To, From, DateSent)."""
    if params.get("To") and message["to"] != params["To"]:
        return False
    if params.get("From") and message["from"] != params["From"]:
        return False
    sent = message["date_sent"]
    for key, op in (("DateSent>", "ge"), ("DateSent<", "le"), ("DateSent", "eq")):
        if not params.get(key):
            continue
        if sent is None:
            return False
        bound = _twilio_date_bound(params[key])
        value = sent.date() if isinstance(bound, date) and not isinstance(bound, datetime) else sent
        if op == "ge" and not value >= bound:
            return False
        if op == "le" and not value <= bound:
            return False
        if op == "eq" and not value == bound:
            return False
    return True


class TwilioFormatServer(_LoopbackServer):
    """Twilio's Messages API (create, list, fetch) and its signed webhooks.

    Failure kinds for :meth:`fail_next`: ``invalid_number`` (400/21211), ``opted_out``
    (400/21610), ``not_mobile`` (400/21614), ``auth`` (401/20003), ``rate_limited``
    (429/20429 with ``Retry-After: 1``), ``server_error`` (500/20500), ``unavailable``
    (503/20503), ``credit`` (401/20005), ``timeout`` (answers 503 after ``timeout_sleep``
    seconds, nothing is created) and ``timeout_accepted`` (the message is created but the
    answer comes only after ``timeout_sleep`` seconds: a read time-out that ``lookup``
    must detect).

    Twilio's magic test numbers fail the same way: +15005550001 (21211), +15005550004
    (21610), +15005550009 (21614).
    """

    FAILURE_KINDS = (
        "invalid_number",
        "opted_out",
        "not_mobile",
        "auth",
        "rate_limited",
        "server_error",
        "unavailable",
        "credit",
        "timeout",
        "timeout_accepted",
    )
    AUTO_STATUSES = ("sent", "delivered")
    FAILED_STATUS = "undelivered"
    DEFAULT_DELIVERY_ERROR = "30003"
    MAGIC_NUMBERS = {
        "+15005550001": "invalid_number",
        "+15005550004": "opted_out",
        "+15005550009": "not_mobile",
    }
    PRICE = "-0.00790"

    def __init__(
        self,
        auth_token="sandbox-token",
        account_sid="ACsandbox",
        delay=0.0,
        queue_hold=0.0,
        **kwargs,
    ):
        super().__init__(delay=delay, **kwargs)
        self.auth_token = auth_token
        self.account_sid = account_sid
        #: seconds a created message stays queued ("accepted" with a Messaging Service)
        #: without a DateSent, as Twilio holds messages beyond the sender's MPS; 0 = sent
        #: at once. A held message gets no automatic status reports.
        self.queue_hold = queue_hold

    # -- requests --
    def _handle(self, method, path, headers, body):
        with self._lock:
            self._requests_count += 1
        route, params = _query_and_form(path, headers, body)
        match = re.fullmatch(
            rf"/{TWILIO_API_VERSION}/Accounts/([^/]+)/Messages(?:/([A-Za-z0-9]+))?\.json", route
        )
        if not match:
            return _twilio_error(404, 20404, f"The requested resource {route} was not found")
        if not self._authorized(headers, match[1]):
            return _twilio_error(
                401, 20003, "Authenticate", {"WWW-Authenticate": 'Basic realm="Twilio API"'}
            )
        if match[2]:
            if method != "GET":
                return _twilio_error(405, 20004, "Method not allowed")
            self._release_held()
            message = self.get_message(match[2])
            if not message:
                return _twilio_error(404, 20404, f"The requested resource {route} was not found")
            return _json(200, self._resource(message))
        if method == "POST":
            return self._create(params)
        if method == "GET":
            return self._list(route, params)
        return _twilio_error(405, 20004, "Method not allowed")

    def _authorized(self, headers, path_sid):
        auth = headers.get("Authorization") or ""
        if not auth.startswith("Basic "):
            return False
        try:
            user, _sep, password = base64.b64decode(auth[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return (
            hmac.compare_digest(user, self.account_sid)
            and hmac.compare_digest(password, self.auth_token)
            and path_sid == self.account_sid
        )

    def _failure_response(self, kind, to):
        if kind == "invalid_number":
            return _twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if kind == "opted_out":
            return _twilio_error(400, 21610, "Attempt to send to unsubscribed recipient")
        if kind == "not_mobile":
            return _twilio_error(400, 21614, f"'To' number {to} is not a valid mobile number")
        if kind == "auth":
            return _twilio_error(
                401, 20003, "Authenticate", {"WWW-Authenticate": 'Basic realm="Twilio API"'}
            )
        if kind == "credit":
            return _twilio_error(401, 20005, "Account not active")
        if kind == "rate_limited":
            return _twilio_error(429, 20429, "Too Many Requests", {"Retry-After": "1"})
        if kind == "server_error":
            return _twilio_error(500, 20500, "Internal Server Error")
        if kind == "unavailable":
            return _twilio_error(503, 20503, "Service Unavailable")
        raise ValueError(kind)

    def _create(self, form):
        self._wait(self.delay)
        to = form.get("To", "")
        kind = self._take_failure(to)
        if kind == "timeout":
            self._wait(self.timeout_sleep)
            return _twilio_error(503, 20503, "Service Unavailable")
        if kind and kind != "timeout_accepted":
            return self._failure_response(kind, to)
        sender = form.get("From") or None
        service = form.get("MessagingServiceSid") or None
        text = form.get("Body")
        if not to:
            return _twilio_error(400, 21604, "A 'To' phone number is required.")
        if not _E164.match(to):
            return _twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if to in self.MAGIC_NUMBERS:
            return self._failure_response(self.MAGIC_NUMBERS[to], to)
        if not sender and not service:
            return _twilio_error(400, 21603, "A 'From' phone number is required.")
        if not text:
            return _twilio_error(400, 21602, "Message body is required.")
        if len(text) > 1600:
            return _twilio_error(
                400, 21617, "The concatenated message body exceeds the 1600 character limit."
            )
        now = datetime.now(UTC).replace(microsecond=0)
        sid = "SM" + uuid.uuid4().hex
        message = {
            "id": sid,
            "sid": sid,
            "account_sid": self.account_sid,
            "to": to,
            "from": sender,
            "messaging_service_sid": service,
            "body": text,
            "status_callback": form.get("StatusCallback") or None,
            "callback": form.get("StatusCallback") or None,
            "client_ref": None,
            "status": "accepted" if service else "queued",
            "num_segments": encoding.segment_count(text),
            "price": None,
            "error_code": None,
            "date_created": now,
            "date_sent": None if self.queue_hold else now,
            "received_at": time.time(),
            "held": bool(self.queue_hold),
        }
        self._store(message, [sid])
        if kind == "timeout_accepted":
            self._wait(self.timeout_sleep)
        return _json(201, self._resource(message))

    def _release_held(self):
        """Messages whose queue time is over leave the queue: sent, with a DateSent."""
        if not self.queue_hold:
            return
        deadline = time.time() - self.queue_hold
        with self._lock:
            for message in self._messages:
                if message.get("held") and message["received_at"] <= deadline:
                    message["held"] = False
                    message["status"] = "sent"
                    message["date_sent"] = datetime.now(UTC).replace(microsecond=0)

    def _resource(self, message):
        sid = message["sid"]
        base = f"/{TWILIO_API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}"
        return {
            "account_sid": self.account_sid,
            "api_version": TWILIO_API_VERSION,
            "body": message["body"],
            "date_created": format_datetime(message["date_created"]),
            "date_sent": format_datetime(message["date_sent"]) if message["date_sent"] else None,
            "date_updated": format_datetime(message["date_created"]),
            "direction": "outbound-api",
            "error_code": message["error_code"],
            "error_message": None,
            "from": message["from"],
            "messaging_service_sid": message["messaging_service_sid"],
            "num_media": "0",
            "num_segments": str(message["num_segments"]),
            "price": message["price"],
            "price_unit": "USD",
            "sid": sid,
            "status": message["status"],
            "subresource_uris": {"media": f"{base}/Media.json"},
            "to": message["to"],
            "uri": f"{base}.json",
        }

    def _list(self, route, params):
        self._release_held()
        try:
            page_size = max(1, min(int(params.get("PageSize") or 50), 1000))
            page = max(0, int(params.get("Page") or 0))
            found = [m for m in self.messages if _twilio_list_matches(m, params)]
        except ValueError as exc:
            return _twilio_error(400, 20001, f"Invalid parameter: {exc}")
        # newest first by DateSent, the messages still queued (no DateSent) on top
        found.sort(
            key=lambda m: (
                m["date_sent"] is None,
                m["date_sent"] or m["date_created"],
                m["received_at"],
            ),
            reverse=True,
        )
        chunk = found[page * page_size : (page + 1) * page_size]
        filters = {k: v for k, v in params.items() if k not in ("Page", "PageToken", "PageSize")}

        def page_uri(number):
            query = dict(filters, PageSize=page_size, Page=number)
            if number:
                query["PageToken"] = f"PA{number}"
            return f"{route}?{urlencode(query, quote_via=quote)}"

        has_next = (page + 1) * page_size < len(found)
        return _json(
            200,
            {
                "messages": [self._resource(m) for m in chunk],
                "page": page,
                "page_size": page_size,
                "start": page * page_size,
                "end": page * page_size + max(len(chunk) - 1, 0),
                "uri": page_uri(page),
                "first_page_uri": page_uri(0),
                "previous_page_uri": page_uri(page - 1) if page else None,
                "next_page_uri": page_uri(page + 1) if has_next else None,
            },
        )

    # -- webhooks --
    def sign(self, url, params):
        return twilio_signature(self.auth_token, url, params)

    def post_status(self, message_id, status, error_code=None, url=None):
        """POST a signed status callback for message ``message_id``.

        :return: ``(HTTP status, response body bytes)`` of the receiving end.
        """
        message = self._update_status(message_id, status, error_code)
        url = self._callback_of(message, url)
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": TWILIO_API_VERSION,
            "From": (message or {}).get("from") or "",
            "MessageSid": message_id,
            "MessageStatus": status,
            "SmsSid": message_id,
            "SmsStatus": status,
            "To": (message or {}).get("to") or "",
        }
        if message and message.get("messaging_service_sid"):
            params["MessagingServiceSid"] = message["messaging_service_sid"]
        if error_code:
            params["ErrorCode"] = str(error_code)
        return self._post(url, params, {"X-Twilio-Signature": self.sign(url, params)})

    def _update_status(self, message_id, status, error_code):
        with self._lock:
            message = self._by_id.get(message_id)
            if message is None:
                return None
            message["status"] = status
            if status in ("sent", "delivered") and message["price"] is None:
                message["price"] = self.PRICE
            if error_code:
                message["error_code"] = int(error_code) if str(error_code).isdigit() else None
            return dict(message)

    def post_inbound(self, url, sender, recipient, body, message_id=None, media=()):
        """POST a signed inbound message (a reply) to ``url``; ``media`` is a list of
        ``(url, content_type)`` of MMS attachments."""
        message_id = message_id or ("MM" if media else "SM") + uuid.uuid4().hex
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": TWILIO_API_VERSION,
            "Body": body,
            "From": sender,
            "MessageSid": message_id,
            "NumMedia": str(len(media)),
            # a media-only MMS counts one
            "NumSegments": str(max(1, encoding.segment_count(body))),
            "SmsMessageSid": message_id,
            "SmsSid": message_id,
            "SmsStatus": "received",
            "To": recipient,
        }
        for index, (media_url, content_type) in enumerate(media):
            params[f"MediaUrl{index}"] = media_url
            params[f"MediaContentType{index}"] = content_type
        return self._post(url, params, {"X-Twilio-Signature": self.sign(url, params)})


# ==========================================================================================
# Vonage
# ==========================================================================================
