"""When and how long to wait before retrying a request.

The waits follow "capped exponential backoff with full jitter" unless Outlit says how long to wait
(``Retry-After``, ``X-RateLimit-Reset`` or a plan error's ``resetAt``), in which case its answer wins.
Sleeping, randomness and the wall clock are injectable so tests never sleep for real.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = [
    "RetryPolicy",
    "parse_rate_limit_reset",
    "parse_reset_at",
    "parse_retry_after",
]

# Statuses retried by default. 400/401/403/404 are never retried (the same request fails again); a 409
# conflict or a 402 is retried only when Outlit's body says ``retryable: true``.
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How the client retries failed requests.

    * ``max_retries``: retries after the first attempt (so at most ``max_retries + 1`` requests).
    * ``base_delay`` / ``max_delay``: the backoff before retry *n* is uniform in
      ``[0, min(max_delay, base_delay * 2**n)]`` (full jitter).
    * ``max_wait``: the longest server-requested wait (Retry-After, reset times) the client sits out;
      a longer one (e.g. a monthly plan allowance) is raised at once instead of blocking a worker.
    * ``retry_writes``: also retry writes after an *ambiguous* failure (timeout after sending, 5xx), where
      the first attempt may already have taken effect. Off by default.
    """

    max_retries: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_wait: float = 120.0
    retry_writes: bool = False
    statuses: frozenset[int] = RETRYABLE_STATUSES
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    async_sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, repr=False, compare=False)
    random: Callable[[], float] = field(default=random.random, repr=False, compare=False)
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)
    #: the clock call deadlines are measured on
    monotonic: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)

    def __post_init__(self) -> None:
        from .exceptions import OutlitConfigurationError

        for name in ("max_retries", "base_delay", "max_delay", "max_wait"):
            if getattr(self, name) < 0:
                raise OutlitConfigurationError(
                    f"RetryPolicy.{name} must be >= 0, got {getattr(self, name)!r}"
                )

    def replace(self, **changes: object) -> RetryPolicy:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def backoff(self, retry_number: int) -> float:
        """Jittered wait before retry ``retry_number`` (0-based) when the server gave no hint."""
        ceiling = min(self.max_delay, self.base_delay * (2**retry_number))
        return self.random() * ceiling


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def parse_rate_limit_reset(value: str | None, now: float) -> float | None:
    """Seconds until the window in an ``X-RateLimit-Reset`` header ends.

    Outlit sends epoch seconds; epoch milliseconds and small relative second counts (as some gateways
    send) are recognised too.
    """
    if not value:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    if number > 1e12:  # epoch milliseconds
        return max(0.0, number / 1000.0 - now)
    if number > 1e9:  # epoch seconds
        return max(0.0, number - now)
    return max(0.0, number)


def parse_reset_at(value: object) -> datetime | None:
    """A plan error's ``resetAt`` (epoch milliseconds, or an ISO string) as an aware UTC datetime."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = value / 1000.0 if value > 1e11 else float(value)
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def server_wait(headers: Mapping[str, str], now: float, reset_at: datetime | None = None) -> float | None:
    """The longest wait any of the server's hints asks for, or None when it gave none."""
    waits = [
        parse_retry_after(headers.get("retry-after"), now),
        parse_rate_limit_reset(headers.get("x-ratelimit-reset"), now)
        if headers.get("x-ratelimit-remaining", "").strip() in ("", "0")
        else None,
        max(0.0, reset_at.timestamp() - now) if reset_at is not None else None,
    ]
    known = [w for w in waits if w is not None]
    return max(known) if known else None
