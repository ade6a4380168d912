"""A thread-safe token bucket.

``rate`` tokens are added per second up to ``capacity``; each call to :meth:`acquire` takes
one (or ``tokens``) and waits until it is available. Waiting threads *reserve* their tokens
before sleeping (the level may go negative), so they are served in the order they asked and
never wake up only to find the token taken by another thread.

The clock and the sleep function are injectable so tests run without waiting.
"""

import threading
import time


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
