"""TokenBucket and SharedRate with a fake clock (and real-time threaded checks)."""

import threading
import time

import pytest

from sms_journey.tools.rate_limit import SharedRate, TokenBucket


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def bucket(rate, capacity=1.0):
    clock = FakeClock()
    return TokenBucket(rate, capacity, clock=clock, sleep=clock.sleep), clock


def test_first_is_immediate_then_spaced():
    tb, clock = bucket(10)
    for _ in range(11):
        assert tb.acquire()
    assert clock.now == pytest.approx(1.0)
    assert clock.sleeps[0] == pytest.approx(0.1)
    assert len(clock.sleeps) == 10


def test_burst_capacity():
    tb, clock = bucket(5, capacity=5)
    for _ in range(5):
        tb.acquire()
    assert clock.sleeps == []
    tb.acquire()
    assert clock.sleeps == [pytest.approx(0.2)]


def test_refill_is_capped_at_capacity():
    tb, clock = bucket(10, capacity=3)
    for _ in range(3):
        tb.acquire()
    clock.now += 100
    assert tb.tokens == pytest.approx(3)
    for _ in range(3):
        tb.acquire()
    assert clock.sleeps == []
    tb.acquire()
    assert clock.sleeps == [pytest.approx(0.1)]


def test_try_acquire():
    tb, clock = bucket(4)
    assert tb.try_acquire()
    assert not tb.try_acquire()
    clock.now += 0.2
    assert not tb.try_acquire()
    clock.now += 0.05
    assert tb.try_acquire()
    assert clock.sleeps == []


def test_acquire_timeout_takes_nothing():
    tb, clock = bucket(2)
    tb.acquire()
    assert tb.acquire(timeout=0.1) is False
    assert clock.sleeps == []
    assert tb.tokens == pytest.approx(0)
    assert tb.acquire(timeout=0.5) is True
    assert clock.sleeps == [pytest.approx(0.5)]


def test_reservations_queue_up():
    """Waiters reserve their token: three threads asking at the same instant wait 0, 1/r and
    2/r (no thundering herd, nobody skipped)."""
    clock = FakeClock()
    waits = []
    tb = TokenBucket(10, clock=clock, sleep=waits.append)  # sleep does not advance the clock
    for _ in range(3):
        tb.acquire()
    assert waits == [pytest.approx(0.1), pytest.approx(0.2)]
    assert tb.tokens == pytest.approx(-2)


def test_context_manager():
    tb, clock = bucket(10)
    with tb:
        pass
    with tb:
        pass
    assert clock.sleeps == [pytest.approx(0.1)]


@pytest.mark.parametrize("rate, capacity", [(0, 1), (-1, 1), (1, 0.5)])
def test_invalid_arguments(rate, capacity):
    with pytest.raises(ValueError):
        TokenBucket(rate, capacity)


def test_cannot_acquire_more_than_capacity():
    tb, _clock = bucket(10, capacity=2)
    with pytest.raises(ValueError):
        tb.acquire(3)


def test_threads_share_the_rate():
    tb = TokenBucket(100)
    stamps = []
    lock = threading.Lock()

    def worker():
        for _ in range(5):
            tb.acquire()
            with lock:
                stamps.append(time.monotonic())

    start = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start
    assert len(stamps) == 20
    assert elapsed >= 0.18  # 19 intervals of 10 ms


class SharedClock:
    """The database's window book, shared by several SharedRate users."""

    def __init__(self, clock):
        self.clock = clock
        self.booked_until = 0.0
        self.calls = 0

    def reserve(self, span):
        self.calls += 1
        start = max(self.booked_until, self.clock())
        self.booked_until = start + span
        return start - self.clock()


def test_shared_rate_two_processes_share_the_rate():
    clock = FakeClock()
    book = SharedClock(clock)
    first = SharedRate(10, book.reserve, clock=clock, sleep=clock.sleep)
    second = SharedRate(10, book.reserve, clock=clock, sleep=clock.sleep)
    assert first.chunk == 2
    starts = []
    for _ in range(5):
        for rate in (first, second):
            rate.acquire()
            starts.append(clock())
    # 10 sends at 10 per second, whoever sends: at least 0.9 s from the first to the
    # last; here 1.0, as each books its third window for one send (a slot is lost)
    assert starts[-1] - starts[0] == pytest.approx(1.0)
    assert book.calls == 6
    # in any half second, at most 5 sends and one chunk of burst
    assert all(sum(t <= s < t + 0.5 for s in starts) <= 5 + first.chunk for t in starts)


def test_shared_rate_chunk_bounds():
    assert SharedRate(1000, lambda span: 0).chunk == 100
    assert SharedRate(0.5, lambda span: 0).chunk == 1
    with pytest.raises(ValueError):
        SharedRate(0, lambda span: 0)


def test_shared_rate_threads_never_exceed_the_rate():
    book_lock = threading.Lock()
    booked = [0.0]

    def reserve(span):
        with book_lock:
            now = time.monotonic()
            start = max(booked[0], now)
            booked[0] = start + span
            return start - now

    rates = [SharedRate(200, reserve) for _ in range(2)]
    starts = []

    def send(rate):
        for _ in range(40):
            rate.acquire()
            starts.append(time.monotonic())

    threads = [threading.Thread(target=send, args=(rate,)) for rate in rates for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    starts.sort()
    # 160 sends at 200/s: at least 0.75 s (one chunk of burst at most)
    assert starts[-1] - starts[0] >= (160 - rates[0].chunk) / 200 - 0.02


def test_shared_rate_when_the_book_fails_waits_a_window():
    clock = FakeClock()

    def broken(span):
        raise RuntimeError("database unavailable")

    rate = SharedRate(10, broken, chunk=2, clock=clock, sleep=clock.sleep)
    rate.acquire()
    rate.acquire()
    assert clock() == pytest.approx(0.3)  # the window's 0.2 s, then the second slot
