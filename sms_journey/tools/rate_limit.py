"""A thread-safe token bucket.

``rate`` tokens are added per second up to ``capacity``; each call to :meth:`acquire` takes
one (or ``tokens``) and waits until it is available. Waiting threads *reserve* their tokens
before sleeping (the level may go negative), so they are served in the order they asked and
never wake up only to find the token taken by another thread.

The clock and the sleep function are injectable so tests run without waiting.
"""

import collections
import logging
import math
import threading
import time

_logger = logging.getLogger(__name__)


class TokenBucket:
    def __init__(self, rate, capacity=1.0, *, clock=time.monotonic, sleep=time.sleep):
        """
        :param rate: tokens per second (> 0).
        :param capacity: burst size: how many tokens may pile up while idle. The default 1
            never lets two acquisitions happen closer than ``1 / rate`` seconds.
        """
        rate = float(rate)
        capacity = float(capacity)
        if not rate > 0:
            raise ValueError("rate must be positive")
        if not capacity >= 1:
            raise ValueError("capacity must be at least 1")
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = capacity  # start full
        self._updated = clock()

    def _refill(self):
        now = self._clock()
        elapsed = now - self._updated
        if elapsed > 0:
            self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
        self._updated = now

    @property
    def tokens(self):
        """Tokens currently available (negative while threads wait on reservations)."""
        with self._lock:
            self._refill()
            return self._tokens

    def try_acquire(self, tokens=1.0):
        """Take ``tokens`` if available now; never waits."""
        with self._lock:
            self._refill()
            if self._tokens >= tokens:
                self._tokens -= tokens
                return True
            return False

    def acquire(self, tokens=1.0, timeout=None):
        """Take ``tokens``, waiting as long as needed (at most ``timeout`` seconds).

        :return: True once taken; False when it would take longer than ``timeout`` (then
            nothing is taken).
        """
        if tokens > self.capacity:
            raise ValueError("cannot acquire more tokens than the bucket's capacity")
        with self._lock:
            self._refill()
            wait = max(0.0, (tokens - self._tokens) / self.rate)
            if timeout is not None and wait > timeout:
                return False
            self._tokens -= tokens
        if wait > 0:
            self._sleep(wait)
        return True

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        return False


class SharedRate:
    """A rate shared by several processes (Odoo workers, servers) sending through one
    provider account: ``acquire`` has the :class:`TokenBucket` interface, but the tokens
    come in chunks from ``reserve``, which books the next free time window of the shared
    clock (the database's) and answers in how many seconds it starts.

    Windows never overlap, each ``chunk / rate`` seconds long, and a send starts only at
    its slot in its window: however many processes send, at most ``rate × T + chunk``
    sends start in any ``T`` seconds. Slots a process booked and did not use are lost,
    which only makes it slower, never faster.
    """

    def __init__(self, rate, reserve, chunk=None, *, clock=time.monotonic, sleep=time.sleep):
        """
        :param rate: sends per second (> 0), the account's limit.
        :param reserve: ``reserve(span_seconds) -> delay_seconds``: books a window of
            ``span_seconds`` after every window booked before, returns the delay until
            it starts (0 when it starts now).
        :param chunk: sends booked at once; by default a fifth of a second's worth, at
            least 1 and at most 100.
        """
        rate = float(rate)
        if not rate > 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.chunk = int(chunk or min(max(math.ceil(rate / 5), 1), 100))
        self._reserve = reserve
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._slots = collections.deque()

    def acquire(self, tokens=1.0):
        with self._lock:
            if not self._slots:
                try:
                    delay = max(float(self._reserve(self.chunk / self.rate)), 0.0)
                except Exception:
                    # the book is out of reach: this chunk waits a whole window, so this
                    # process alone cannot exceed the rate; the send itself goes on
                    _logger.warning("Could not book a sending window", exc_info=True)
                    delay = self.chunk / self.rate
                start = self._clock() + delay
                self._slots.extend(start + index / self.rate for index in range(self.chunk))
            slot = self._slots.popleft()
        wait = slot - self._clock()
        if wait > 0:
            self._sleep(wait)
        return True
