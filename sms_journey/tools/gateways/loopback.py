"""Loopback HTTP servers speaking Twilio's and Vonage's SMS APIs.

Used by the pytest and Odoo tests, by the benchmarks and, through ``sandbox_server.py``, as
the demo "sandbox" provider. Each server runs a stdlib ``ThreadingHTTPServer`` in a
background thread on 127.0.0.1 (port 0 = a free port), keeps HTTP/1.1 connections alive so
clients reuse them, records what it received and can be scripted to fail the way the real
provider does::

    with TwilioFormatServer() as server:
        client = TwilioClient(GatewayConfig(api_url=server.url,
                                            account_sid=server.account_sid,
                                            auth_token=server.auth_token))
        server.fail_next(kind="rate_limited")
        ...
        server.post_status(sid, "delivered")   # signed status callback

This module imports nothing but the standard library, so it also runs as a plain script's
neighbour (``sandbox_server.py``) without the addon being importable; the signature
functions are implemented here independently of the clients', which lets the tests check
one against the other.
"""

import base64
import contextlib
import hashlib
import heapq
import hmac
import itertools
import json
import logging
import os
import re
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

_logger = logging.getLogger(__name__)

TWILIO_API_VERSION = "2010-04-01"
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")

# --- signatures (independent implementations of the providers' algorithms) ---------------


def twilio_signature(auth_token, url, params):
    data = url + "".join(f"{k}{v}" for k, v in sorted(params.items()))
    digest = hmac.new(auth_token.encode(), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def vonage_signature(secret, params, method="md5hash"):
    base = "".join(
        "&{}={}".format(k, str(params[k]).replace("&", "_").replace("=", "_"))
        for k in sorted(params)
        if k != "sig"
    )
    if method == "md5hash":
        return hashlib.md5((base + secret).encode("utf-8")).hexdigest()
    return hmac.new(secret.encode("utf-8"), base.encode("utf-8"), method).hexdigest()


# --- SMS segments: counted by tools/encoding.py (standard library only, like this module)

try:
    from .. import encoding
except ImportError:  # run next to sandbox_server.py as a plain script: tools/ by path
    sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import encoding


# --- HTTP plumbing ------------------------------------------------------------------------

_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_post(url, params, headers=None, method="POST", as_json=False, timeout=10.0):
    """Send a webhook the way providers do; returns ``(status code, body bytes)``.

    HTTP errors are returned, not raised; connection errors raise ``OSError``."""
    headers = dict(headers or {})
    data = None
    if method == "GET":
        sep = "&" if "?" in url else "?"
        url = url + sep + urlencode(params)
    elif as_json:
        data = json.dumps(params).encode()
        headers["Content-Type"] = "application/json"
    else:
        data = urlencode(params).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with _NO_PROXY_OPENER.open(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def handle_error(self, request, client_address):
        _logger.debug("loopback: error on a connection from %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SmsLoopback/1.0"
    timeout = 120  # idle keep-alive connections are closed after this

    def setup(self):
        result = super().setup()
        # a socket without TCP options (not TCP) simply keeps Nagle's algorithm
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.app._track(self.connection, True)
        return result

    def finish(self):
        try:
            return super().finish()
        finally:
            self.server.app._track(self.connection, False)

    def _dispatch(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        app = self.server.app
        try:
            status, headers, payload = app._handle(self.command, self.path, self.headers, body)
        except Exception:
            _logger.exception("loopback: handler crashed")
            status, headers, payload = 500, {"Content-Type": "text/plain"}, b"loopback crash"
        if status is None:  # drop the connection without answering
            self.close_connection = True
            return
        try:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            # headers and body in one write: two small writes would meet Nagle's algorithm
            # and the peer's delayed ACK (40 ms per request on loopback)
            self._headers_buffer.append(b"\r\n")
            if self.command != "HEAD":
                self._headers_buffer.append(payload)
            self.flush_headers()
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (time-out)
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _dispatch

    def log_message(self, format, *args):
        _logger.debug("loopback %s: " + format, self.address_string(), *args)


class _Scheduler:
    """Runs callables after a delay on a small pool of threads (for automatic reports)."""

    def __init__(self, workers=4):
        self._heap = []
        self._counter = itertools.count()
        self._cond = threading.Condition()
        self._stopped = False
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="loopback-report")
        self._thread = threading.Thread(target=self._run, name="loopback-scheduler", daemon=True)
        self._thread.start()

    def call_later(self, delay, func, *args):
        with self._cond:
            if self._stopped:
                return
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._counter), func, args))
            self._cond.notify()

    def _run(self):
        while True:
            with self._cond:
                while not self._stopped and (not self._heap or self._heap[0][0] > time.monotonic()):
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(timeout)
                if self._stopped:
                    return
                _when, _n, func, args = heapq.heappop(self._heap)
            try:
                self._pool.submit(func, *args)
            except RuntimeError:  # pool shut down
                return

    def stop(self):
        with self._cond:
            self._stopped = True
            self._heap.clear()
            self._cond.notify_all()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._thread.join(timeout=2)


class _LoopbackServer:
    """Common machinery: the HTTP server thread, records, scripted failures, reports."""

    FAILURE_KINDS = ()
    #: status sequence posted by ``auto_report`` (after ``report_delay`` each)
    AUTO_STATUSES = ()
    FAILED_STATUS = "failed"
    DEFAULT_DELIVERY_ERROR = None

    def __init__(
        self,
        *,
        delay=0.0,
        host="127.0.0.1",
        port=0,
        timeout_sleep=5.0,
        auto_report=False,
        report_delay=1.0,
        default_callback=None,
        on_message=None,
        on_report=None,
        poll_interval=0.01,
    ):
        self.delay = delay
        # how often the server thread checks for stop(): short for tests that start and
        # stop many servers, longer for a server that runs for days
        self.poll_interval = poll_interval
        self.host = host
        self.port = port
        self.timeout_sleep = timeout_sleep
        self.auto_report = auto_report
        self.report_delay = report_delay
        self.default_callback = default_callback
        self.on_message = on_message
        self.on_report = on_report
        self._lock = threading.RLock()
        self._messages = []
        self._by_id = {}
        self._failures = []
        self._delivery_failures = {}
        self._reports = []
        self._requests_count = 0
        self._connections = set()
        self._connections_count = 0
        self._stopping = threading.Event()
        self._httpd = None
        self._thread = None
        self._scheduler = None

    # -- life cycle --
    def start(self):
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = _HTTPServer((self.host, self.port), _Handler)
        self._httpd.app = self
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": self.poll_interval},
            name=f"{type(self).__name__}:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self):
        httpd, self._httpd = self._httpd, None
        self._stopping.set()
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        with self._lock:
            connections = list(self._connections)
            scheduler, self._scheduler = self._scheduler, None
        for conn in connections:
            # a connection the client closed already has nothing to shut down
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if scheduler is not None:
            scheduler.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def serve_forever(self):
        """Run until interrupted (Ctrl-C / SIGTERM raising SystemExit)."""
        self.start()
        try:
            while not self._stopping.wait(3600):
                pass
        finally:
            self.stop()

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    def _track(self, connection, add):
        with self._lock:
            if add:
                self._connections.add(connection)
                self._connections_count += 1
            else:
                self._connections.discard(connection)

    # -- records --
    @property
    def messages(self):
        """Copies of the messages received, oldest first."""
        with self._lock:
            return [dict(m) for m in self._messages]

    @property
    def requests_count(self):
        with self._lock:
            return self._requests_count

    @property
    def connections_count(self):
        """TCP connections accepted so far (shows whether clients reuse connections)."""
        with self._lock:
            return self._connections_count

    @property
    def reports(self):
        """Webhooks posted so far: dicts url, params, status_code, body (or error)."""
        with self._lock:
            return [dict(r) for r in self._reports]

    def get_message(self, message_id):
        with self._lock:
            message = self._by_id.get(message_id)
            return dict(message) if message else None

    def reset(self):
        with self._lock:
            self._messages.clear()
            self._by_id.clear()
            self._failures.clear()
            self._delivery_failures.clear()
            self._reports.clear()
            self._requests_count = 0
            self._connections_count = 0

    def _store(self, message, ids):
        with self._lock:
            self._messages.append(message)
            for message_id in ids:
                self._by_id[message_id] = message
        if self.on_message:
            try:
                self.on_message(dict(message))
            except Exception:
                _logger.exception("loopback: on_message failed")
        callback = message.get("callback") or self.default_callback
        # a message the provider holds in its queue gets no report until it leaves it
        if self.auto_report and callback and not message.get("held"):
            for message_id in ids:
                self._schedule_reports(message_id, list(self._auto_statuses(message)))

    # -- scripted failures --
    def fail_next(self, to=None, kind="server_error", times=1):
        """Make the next ``times`` sends (to ``to`` only, when given) fail as ``kind``."""
        if kind not in self.FAILURE_KINDS:
            raise ValueError(f"unknown failure kind {kind!r}, expected one of {self.FAILURE_KINDS}")
        with self._lock:
            self._failures.append({"to": _digits(to), "kind": kind, "remaining": int(times)})

    def fail_delivery(self, to, error_code=None):
        """Make automatic reports of messages to ``to`` end in a delivery failure."""
        with self._lock:
            self._delivery_failures[_digits(to)] = error_code

    def _take_failure(self, to):
        to = _digits(to)
        with self._lock:
            for failure in self._failures:
                if failure["to"] is None or failure["to"] == to:
                    failure["remaining"] -= 1
                    if failure["remaining"] <= 0:
                        self._failures.remove(failure)
                    return failure["kind"]
        return None

    def _wait(self, seconds):
        if seconds and seconds > 0:
            self._stopping.wait(seconds)

    # -- reports --
    def _auto_statuses(self, message):
        to = _digits(message.get("to"))
        with self._lock:
            failing = to in self._delivery_failures
            code = self._delivery_failures.get(to)
        statuses = [(s, None) for s in self.AUTO_STATUSES]
        if failing:
            statuses[-1] = (self.FAILED_STATUS, code or self.DEFAULT_DELIVERY_ERROR)
        return statuses

    def _schedule_reports(self, message_id, statuses):
        with self._lock:
            if self._stopping.is_set():
                return
            if self._scheduler is None:
                self._scheduler = _Scheduler()
            scheduler = self._scheduler
        if statuses:
            scheduler.call_later(self.report_delay, self._auto_post, message_id, statuses)

    def _auto_post(self, message_id, statuses):
        status, code = statuses[0]
        try:
            self.post_status(message_id, status, error_code=code)
        except Exception as exc:
            _logger.warning("loopback: status callback for %s failed: %s", message_id, exc)
        if len(statuses) > 1:
            self._schedule_reports(message_id, statuses[1:])

    def _post(self, url, params, headers=None, method="POST", as_json=False):
        record = {"url": url, "params": dict(params), "method": method}
        try:
            status, body = http_post(url, params, headers=headers, method=method, as_json=as_json)
        except OSError as exc:
            record["error"] = str(exc)
            with self._lock:
                self._reports.append(record)
            self._notify_report(record)
            raise
        record.update(status_code=status, body=body)
        with self._lock:
            self._reports.append(record)
        self._notify_report(record)
        return status, body

    def _notify_report(self, record):
        if self.on_report:
            try:
                self.on_report(dict(record))
            except Exception:
                _logger.exception("loopback: on_report failed")

    def _callback_of(self, message, url):
        url = url or (message or {}).get("callback") or self.default_callback
        if not url:
            raise ValueError("no callback URL: the message has none and none was given")
        return url

    def _handle(self, method, path, headers, body):
        raise NotImplementedError


def _digits(number):
    if number is None:
        return None
    return str(number).lstrip("+").strip()


def _json(status, payload, extra=None):
    headers = {"Content-Type": "application/json"}
    headers.update(extra or {})
    return status, headers, json.dumps(payload).encode()


def _query_and_form(path, headers, body):
    parts = urlsplit(path)
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    content_type = (headers.get("Content-Type") or "").lower()
    if body:
        if "json" in content_type:
            try:
                data = json.loads(body)
            except ValueError:
                data = {}
            if isinstance(data, dict):
                params.update({str(k): "" if v is None else str(v) for k, v in data.items()})
        else:
            params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return parts.path, params


# ==========================================================================================
# Twilio
# ==========================================================================================


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
        def date_filter(value):
            value = value.strip()
            if len(value) == 10:
                return date.fromisoformat(value)
            bound = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return bound if bound.tzinfo else bound.replace(tzinfo=UTC)

        def matches(message):
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
                bound = date_filter(params[key])
                value = (
                    sent.date()
                    if isinstance(bound, date) and not isinstance(bound, datetime)
                    else sent
                )
                if op == "ge" and not value >= bound:
                    return False
                if op == "le" and not value <= bound:
                    return False
                if op == "eq" and not value == bound:
                    return False
            return True

        self._release_held()
        try:
            page_size = max(1, min(int(params.get("PageSize") or 50), 1000))
            page = max(0, int(params.get("Page") or 0))
            found = [m for m in self.messages if matches(m)]
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
        if kind == "timeout_accepted":
            self._wait(self.timeout_sleep)
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


class WebhookRecorder(_LoopbackServer):
    """Records every request it gets and answers ``response`` (status, content type, body):
    a stand-in for the Odoo controller when testing webhooks without Odoo."""

    def __init__(self, response=(200, "text/plain", b"OK"), **kwargs):
        super().__init__(**kwargs)
        self.response = response
        self._received = []
        self._cond = threading.Condition(self._lock)

    def _handle(self, method, path, headers, body):
        parts = urlsplit(path)
        _route, params = _query_and_form(path, headers, body)
        record = {
            "method": method,
            "path": parts.path,
            "url": self.url + path,
            "url_without_query": self.url + parts.path,
            "headers": dict(headers.items()),
            "params": params,
            "query": dict(parse_qsl(parts.query, keep_blank_values=True)),
            "body": body,
        }
        if "json" not in (headers.get("Content-Type") or "").lower() and method != "GET":
            record["form"] = dict(parse_qsl(body.decode("utf-8", "replace"), True))
        else:
            record["form"] = {}
        with self._cond:
            self._requests_count += 1
            self._received.append(record)
            self._cond.notify_all()
        status, content_type, payload = self.response
        return status, {"Content-Type": content_type}, payload

    @property
    def received(self):
        with self._lock:
            return list(self._received)

    def wait_for(self, count, timeout=5.0):
        """Wait until ``count`` requests were received; returns them (fewer on time-out)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._received) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            return list(self._received)
