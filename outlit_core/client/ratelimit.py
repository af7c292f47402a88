"""Token-bucket limiters (one for the ingest route, one for platform requests), kept in step with Outlit's
``X-RateLimit-*`` headers and its 429s.

The bucket hands out *reservations*: each caller takes a token now (the balance may go negative) and is
told how long to wait for it, so concurrent threads or tasks queue fairly instead of stampeding when the
bucket refills. Only the waiting differs between the sync and the async limiter.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

from .retry import parse_rate_limit_reset

__all__ = ["AsyncRateLimiter", "RateLimiter", "TokenBucket"]


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` banked; ``reserve()`` returns the wait in seconds.

    ``rate=None`` paces nothing by rate: the bucket then only holds every caller back while a block set by
    the server (an empty ``X-RateLimit`` window, a 429's ``Retry-After``) lasts.
    """

    def __init__(
        self,
        rate: float | None,
        burst: float | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        max_block: float | None = None,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError(f"rate must be positive (or None for no pacing by rate), got {rate!r}")
        self.rate = float(rate) if rate is not None else None
        self.burst = float(burst if burst is not None else max(1.0, rate or 1.0))
        self._monotonic = monotonic
        self._wall_clock = wall_clock
        #: an empty server window resetting later than this blocks nobody: the next request's 429 then
        #: raises with the wait (a long quota must not hang every worker inside the limiter)
        self.max_block = max_block
        self._tokens = self.burst
        self._updated = monotonic()
        self._blocked_until = 0.0
        self._in_flight = 0
        self._generation = 0
        self._lock = threading.Lock()

    def _refill(self, now: float) -> None:
        if self.rate is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def reserve(self, waited_out: int | None = None) -> float:
        """Take a token; returns how long to wait before sending.

        ``waited_out`` is a generation :meth:`block_for` returned to a caller that has since slept through
        that block itself; while no newer block is set, it is not waited for a second time.
        """
        with self._lock:
            now = self._monotonic()
            wait = 0.0
            if self.rate is not None:
                self._refill(now)
                self._tokens -= 1.0
                wait = 0.0 if self._tokens >= 0 else -self._tokens / self.rate
            if waited_out is not None and waited_out == self._generation:
                return wait
            return max(wait, self._blocked_until - now)

    @property
    def block_generation(self) -> int:
        """Changes whenever a new block (empty server window, 429) is set."""
        return self._generation

    def blocked_since(self, generation: int) -> tuple[float, int]:
        """Seconds still to wait for blocks set after ``generation`` was read, and the current generation."""
        with self._lock:
            if generation == self._generation:
                return 0.0, generation
            return max(0.0, self._blocked_until - self._monotonic()), self._generation

    def _block_until(self, when: float) -> None:
        if when > self._blocked_until:
            self._blocked_until = when
            self._generation += 1

    def waits(self, waited_out: int | None = None) -> Iterator[float]:
        """The waits (seconds) before the caller may send; sleep each before asking for the next. When it
        ends, the caller counts as in flight until :meth:`release`. Sleeping is the caller's (sync or async).
        """
        generation = self.block_generation
        wait = self.reserve(waited_out)
        while wait > 0:
            yield wait
            # A response seen while the caller slept may have closed the server's window: honour that too.
            wait, generation = self.blocked_since(generation)
        self.begin()

    def begin(self) -> None:
        """A request that took a token is being sent now (after its wait)."""
        with self._lock:
            self._in_flight += 1

    def release(self) -> None:
        """A request that :meth:`begin` counted has its answer (or failed)."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def observe(self, headers: Mapping[str, str]) -> None:
        """Adopt the server's view: never hold more tokens than it says remain; wait out an empty window.

        Call it with a response's headers before :meth:`release`: requests still in flight may land in the
        same server window, so they are counted against what remains.
        """
        remaining_raw = headers.get("x-ratelimit-remaining")
        if remaining_raw is None:
            return
        try:
            remaining = float(remaining_raw)
        except ValueError:
            return
        with self._lock:
            now = self._monotonic()
            self._refill(now)
            remaining -= max(0, self._in_flight - 1)
            self._tokens = min(self._tokens, remaining)
            if remaining <= 0:
                reset_in = parse_rate_limit_reset(headers.get("x-ratelimit-reset"), self._wall_clock())
                # Without a reset time, assume the window is one second long.
                reset_in = reset_in if reset_in is not None else 1.0
                if self.max_block is None or reset_in <= self.max_block:
                    self._block_until(now + reset_in)

    def block_for(self, seconds: float) -> int | None:
        """Hold every caller back for ``seconds`` (after a 429 that named a wait).

        Returns the generation of the block now in force, for a caller that sleeps ``seconds`` itself to
        pass to ``acquire(waited_out=...)``; None when a longer block was already set (still to be waited).
        """
        with self._lock:
            when = self._monotonic() + seconds
            if when < self._blocked_until:
                return None
            self._block_until(when)
            return self._generation


class _Limiter:
    """A bucket and the way its holder sleeps; ``release`` ends the caller's time in flight."""

    def __init__(self, bucket: TokenBucket, sleep: Callable[[float], Any]) -> None:
        self.bucket = bucket
        self._sleep = sleep

    def release(self) -> None:
        self.bucket.release()


class RateLimiter(_Limiter):
    """Blocking limiter for :class:`~outlit_core.client.OutlitClient`."""

    def __init__(self, bucket: TokenBucket, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(bucket, sleep)

    def acquire(self, waited_out: int | None = None) -> float:
        """Wait for a token, then count the caller as in flight until :meth:`release`.

        ``waited_out``: what :meth:`TokenBucket.block_for` returned before the caller slept that block out.
        """
        total = 0.0
        for wait in self.bucket.waits(waited_out):
            self._sleep(wait)
            total += wait
        return total


class AsyncRateLimiter(_Limiter):
    """Awaiting limiter for :class:`~outlit_core.client.AsyncOutlitClient`."""

    def __init__(
        self, bucket: TokenBucket, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    ) -> None:
        super().__init__(bucket, sleep)

    async def acquire(self, waited_out: int | None = None) -> float:
        """Wait for a token, then count the caller as in flight until :meth:`release`."""
        total = 0.0
        for wait in self.bucket.waits(waited_out):
            await self._sleep(wait)
            total += wait
        return total
