"""The token bucket, driven by a fake clock."""

from __future__ import annotations

import asyncio
import threading

from outlit_core.client.ratelimit import AsyncRateLimiter, RateLimiter, TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_steady_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(10, monotonic=clock, wall_clock=clock)
    waits = [bucket.reserve() for _ in range(12)]
    assert waits[:10] == [0.0] * 10
    assert waits[10] == 0.1 and abs(waits[11] - 0.2) < 1e-9
    clock.now += 1.0
    assert bucket.reserve() == 0.0  # refilled (and the debt paid off)


def test_sleeping_limiter_keeps_the_rate() -> None:
    clock = Clock()
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    limiter = RateLimiter(TokenBucket(100, burst=1, monotonic=clock, wall_clock=clock), sleep=sleep)
    start = clock.now
    for _ in range(201):
        limiter.acquire()
    assert abs((clock.now - start) - 2.0) < 1e-6  # 200 waits of 10 ms after the first token


def test_server_remaining_caps_tokens_and_empty_window_blocks_until_reset() -> None:
    clock = Clock()
    bucket = TokenBucket(100, monotonic=clock, wall_clock=clock)
    bucket.observe({"x-ratelimit-remaining": "2"})
    assert [bucket.reserve() for _ in range(2)] == [0.0, 0.0]
    assert bucket.reserve() > 0
    bucket.observe({"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(clock.now + 5))})
    assert bucket.reserve() >= 5.0


def test_headers_without_remaining_are_ignored() -> None:
    clock = Clock()
    bucket = TokenBucket(5, monotonic=clock, wall_clock=clock)
    bucket.observe({"x-ratelimit-reset": "99"})
    bucket.observe({"x-ratelimit-remaining": "garbage"})
    assert bucket.reserve() == 0.0


def test_block_for() -> None:
    clock = Clock()
    bucket = TokenBucket(5, monotonic=clock, wall_clock=clock)
    bucket.block_for(3)
    assert bucket.reserve() == 3.0


def test_threads_share_one_bucket_fairly() -> None:
    clock = Clock()
    bucket = TokenBucket(50, burst=1, monotonic=clock, wall_clock=clock)
    waits: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(25):
            wait = bucket.reserve()
            with lock:
                waits.append(wait)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # 100 reservations at 50/s with no time passing: every wait is distinct, the last is ~2 s out.
    assert len(set(round(w, 6) for w in waits)) == 100
    assert abs(max(waits) - 99 / 50) < 1e-6


def test_async_limiter() -> None:
    clock = Clock()
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    limiter = AsyncRateLimiter(TokenBucket(10, burst=1, monotonic=clock, wall_clock=clock), sleep=sleep)

    async def run() -> None:
        for _ in range(3):
            await limiter.acquire()

    asyncio.run(run())
    assert len(slept) == 2


def test_requests_in_flight_count_against_what_the_server_says_remains() -> None:
    clock = Clock()
    bucket = TokenBucket(100, monotonic=clock, wall_clock=clock)
    for _ in range(4):
        bucket.reserve()
        bucket.begin()
    # This response's own request is one of the four; the other three may still land in the window.
    bucket.observe({"x-ratelimit-remaining": "3", "x-ratelimit-reset": str(int(clock.now + 1))})
    assert bucket.reserve() >= 1.0
    for _ in range(4):
        bucket.release()
    assert bucket.in_flight == 0


def test_a_waiter_honours_a_block_set_while_it_slept() -> None:
    clock = Clock()
    bucket = TokenBucket(10, burst=1, monotonic=clock, wall_clock=clock)
    bucket.reserve()  # someone else holds the only token: our reservation has to wait 0.1 s
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds
        if len(slept) == 1:  # meanwhile a response reports the server window is exhausted
            bucket.observe({"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(clock.now) + 2)})

    waited = RateLimiter(bucket, sleep=sleep).acquire()
    assert slept[0] == 0.1 and len(slept) == 2 and slept[1] > 1.0
    assert waited == sum(slept)


def test_a_fake_sleep_never_spins() -> None:
    clock = Clock()
    bucket = TokenBucket(10, burst=1, monotonic=clock, wall_clock=clock)
    bucket.block_for(5)
    slept: list[float] = []
    RateLimiter(bucket, sleep=slept.append).acquire()  # the clock never moves
    assert slept == [5.0]


def test_one_late_ingest_request_does_not_push_a_window_over_the_limit() -> None:
    """Outlit counts ingest requests in fixed one-second windows. A request that leaves later than its
    turn (a busy interpreter, a slow network) lands in the next window, which must still stay within
    ``ingest_rps``: a 429 costs the run the whole second ``Retry-After`` asks for."""
    import math
    from collections import Counter

    from outlit_core.client.config import ClientConfig

    clock = Clock()
    bucket = ClientConfig.create(public_key="pk_x", ingest_rps=100).ingest_bucket(monotonic=clock)
    windows: Counter[int] = Counter()
    for _ in range(400):
        clock.now += bucket.reserve()
        # the last request of the first window leaves 15 ms late, past the window's end
        late = 0.015 if 1000.985 <= clock.now < 1001.0 else 0.0
        windows[math.floor(clock.now + late)] += 1
    assert max(windows.values()) <= 100, windows
