"""The loopback servers' common part: the providers' signatures (implemented apart from
the clients'), the HTTP plumbing, the base server (connections, scheduled delivery
reports, scripted failures) and ``WebhookRecorder``."""

import base64
import contextlib
import hashlib
import heapq
import hmac
import itertools
import json
import logging
import os
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

_logger = logging.getLogger(__name__)


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


# --- SMS segments: counted by tools/encoding.py (standard library only, like this package),
# for the provider formats (twilio_format.py, vonage_format.py)

try:
    from ... import encoding
except ImportError:  # run next to sandbox_server.py as a plain script: tools/ by path
    sys.path.append(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    import encoding  # noqa: F401


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
