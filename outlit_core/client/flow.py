"""The one request flow both clients run: rate-limit waits, attempts, retries, cooldowns, the call deadline.

It is written once, without I/O, the way httpx writes ``Auth.auth_flow``: a generator that yields
:class:`Send` ("send this request, give me the answer") and :class:`Sleep` ("wait this long") and is sent
back the :class:`~.responses.Reply` or the transport exception. ``OutlitClient`` drives it with blocking
calls, ``AsyncOutlitClient`` with awaits; nothing else differs between them.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx

from . import responses
from .calls import Call
from .config import ClientConfig
from .exceptions import OutlitError, OutlitPlanLimitError, OutlitResponseError
from .ratelimit import TokenBucket
from .redact import Redactor
from .responses import Outcome, Reply
from .tools import ToolSpec
from .urls import mask_url

log = logging.getLogger("outlit_core.client")

T = TypeVar("T")


@dataclass(frozen=True)
class Send:
    """Send ``request`` and read its whole answer by ``until`` (a ``time.monotonic()`` instant, or None)."""

    request: httpx.Request
    until: float | None


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Emit(Generic[T]):
    """Hand ``items`` to the caller now (a page, or the items of a paged list), then carry on."""

    items: Sequence[T]


Step = Send | Sleep
#: a flow yields steps, is sent a Reply / exception after a Send (None after a Sleep), and returns T
Flow = Generator[Step, Any, T]
#: a flow that also yields items for the caller as it goes (the client's iterators)
Feed = Generator[Step | Emit[T], Any, None]


class FeedReader(Generic[T]):
    """Reads a feed a handout at a time: each :meth:`next_items` is a flow that runs the feed up to its next
    :class:`Emit` and returns it (None once the feed has ended), so a client needs only its flow runner."""

    def __init__(self, feed: Feed[T]) -> None:
        self._feed = feed
        self._reply: Any = None

    def next_items(self) -> Flow[Emit[T] | None]:
        while True:
            try:
                step = self._feed.send(self._reply)
            except StopIteration:
                return None
            self._reply = None
            if isinstance(step, Emit):
                return step
            self._reply = yield step


class Core:
    """What both clients share, bound to one :class:`ClientConfig`: limiters, secret scrubbing, the flows."""

    def __init__(
        self,
        config: ClientConfig,
        ingest_limiter: TokenBucket | None = None,
        platform_limiter: TokenBucket | None = None,
    ) -> None:
        self.config = config
        self.redactor = Redactor(config.api_key)
        self.ingest_limiter = ingest_limiter or config.ingest_bucket()
        self.platform_limiter = platform_limiter or config.platform_bucket()

    def client_kwargs(self) -> dict[str, Any]:
        return {
            "base_url": self.config.base_url,
            "timeout": self.config.timeout,
            # Only encodings the client can inflate in bounded steps (see transport.read_body).
            "headers": {
                "User-Agent": self.config.user_agent,
                "Accept": "application/json",
                "Accept-Encoding": "gzip, deflate",
            },
            "follow_redirects": False,
        }

    def build(self, http: httpx.Client | httpx.AsyncClient, call: Call) -> httpx.Request:
        headers: dict[str, str] = {}
        if call.auth:
            headers["Authorization"] = f"Bearer {self.config.require_api_key()}"
        content = call.content
        if content is None and call.json_body is not None:
            content = json.dumps(call.json_body, separators=(",", ":"), ensure_ascii=False).encode()
        if content is not None:
            headers["Content-Type"] = "application/json"
        params = {k: v for k, v in (call.params or {}).items() if v is not None}
        return http.build_request(call.method, call.path, params=params, content=content, headers=headers)

    def url(self, call: Call) -> str:
        return mask_url(f"{self.config.base_url}{call.path}")

    # --- the request flow -------------------------------------------------------------------------------

    def request(self, http: httpx.Client | httpx.AsyncClient, call: Call) -> Flow[Outcome]:
        """Send ``call`` until it succeeds, fails for good, or its deadline leaves no room for another try."""
        policy = self.config.retry
        bucket = self.ingest_limiter if call.ingest else self.platform_limiter
        began = policy.monotonic()
        deadline = began + self.config.deadline if self.config.deadline is not None else None
        retries = 0
        waited_out: int | None = None
        while True:
            for wait in bucket.waits(waited_out):
                yield Sleep(wait)
            try:
                error = yield from self._attempt(http, call, retries, deadline)
            finally:
                bucket.release()
            if isinstance(error, Outcome):
                return error
            delay = self.retry_delay(call, error, retries)
            cooldown = self.cooldown(error)
            if cooldown:
                # Set even when this call gives up: the others sharing the bucket must still hold back.
                waited_out = bucket.block_for(cooldown)
            past_deadline = (
                delay is not None and deadline is not None and policy.monotonic() + delay >= deadline
            )
            if delay is None or past_deadline:
                raise self._give_up(error, retries + 1, policy.monotonic() - began, past_deadline)
            if cooldown and delay < cooldown:
                waited_out = None  # this call has not sat the block out, so its next acquire waits for it
            self.log_retry(call, error, delay, retries)
            yield Sleep(delay)
            retries += 1

    def _attempt(
        self, http: httpx.Client | httpx.AsyncClient, call: Call, retries: int, deadline: float | None
    ) -> Flow[Outcome | OutlitError]:
        policy = self.config.retry
        request = self.build(http, call)
        limit = self.config.attempt_timeout
        left = limit
        if deadline is not None:
            to_deadline = deadline - policy.monotonic()
            left = to_deadline if left is None else min(left, to_deadline)
        # ``deadline`` is kept on the policy's (injectable) clock; the I/O layer needs real monotonic time.
        until = time.monotonic() + left if left is not None else None
        started = time.perf_counter()
        reply = yield Send(request, until)
        if isinstance(reply, Reply):
            self._log_attempt(call, reply.status_code, started, retries)
            bucket = self.ingest_limiter if call.ingest else self.platform_limiter
            bucket.observe(reply.headers)
            result = responses.finish(
                call.label,
                reply,
                retries,
                ingest=call.ingest,
                now=policy.clock(),
                policy_statuses=policy.statuses,
            )
        elif isinstance(reply, OutlitResponseError):
            self._log_attempt(call, reply.code, started, retries)
            result = reply
        else:
            result = responses.transport_error(call.label, self.url(call), reply, limit)
            self._log_attempt(call, result.code or "transport error", started, retries)
        if isinstance(result, OutlitError):
            result.url = self.url(call)
            self.redactor.exception(result)
        return result

    def _give_up(self, error: OutlitError, attempts: int, elapsed: float, past_deadline: bool) -> OutlitError:
        error.attempts = attempts
        if past_deadline:
            error.extend(
                f"; gave up after {attempts} attempts in {elapsed:.1f} s: another would end past the call's "
                f"{self.config.deadline:g} s deadline"
            )
        elif attempts > 1:
            error.extend(f"; gave up after {attempts} attempts in {elapsed:.1f} s")
        return self.redactor.exception(error)

    def retry_delay(self, call: Call, error: OutlitError, retries: int) -> float | None:
        """Seconds to wait before the next attempt, or None to give up and raise ``error``."""
        policy = self.config.retry
        if retries >= policy.max_retries or not error.retryable:
            return None
        if error.ambiguous and not (call.idempotent or call.retry_writes or policy.retry_writes):
            return None
        if error.retry_after is not None:
            # Sitting out a long window (a monthly allowance, a long Retry-After) would just hang a worker.
            return error.retry_after if error.retry_after <= policy.max_wait else None
        if isinstance(error, OutlitPlanLimitError):
            return None  # no reset time: backing off blindly would only burn more of the allowance
        return policy.backoff(retries)

    def cooldown(self, error: OutlitError) -> float | None:
        """Seconds every request sharing this call's limiter must hold back after ``error``, or None.

        A 429 (or 503) with a wait, or a plan limit that resets soon, speaks for the client's whole budget,
        not for this one request. A wait beyond ``max_wait`` is raised instead, so it blocks nobody.
        """
        wait = error.retry_after
        if not wait or wait > self.config.retry.max_wait:
            return None
        if error.status_code in (429, 503) or isinstance(error, OutlitPlanLimitError):
            return wait
        return None

    def log_retry(self, call: Call, error: OutlitError, delay: float, retries: int) -> None:
        reason = f"HTTP {error.status_code}" if error.status_code else (error.code or "error")
        if error.retry_after is not None:
            reason += f", server asked to wait {error.retry_after:g} s"
        log.info(
            "%s failed (%s) at %s; retry %d/%d in %.2f s",
            call.label,
            reason,
            self.url(call),
            retries + 1,
            self.config.retry.max_retries,
            delay,
        )

    def _log_attempt(self, call: Call, outcome: object, started: float, retries: int) -> None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s -> %s in %.1f ms (attempt %d)",
                call.label,
                outcome,
                (time.perf_counter() - started) * 1000.0,
                retries + 1,
            )


class Pager:
    """The pagination of one list tool, without I/O: which input to send next, and when to stop.

    A cursor seen before, or more than ``max_pages`` pages, ends it with :class:`OutlitResponseError`
    instead of paging forever.
    """

    def __init__(self, spec: ToolSpec, first_input: dict[str, Any], max_pages: int) -> None:
        self.spec = spec
        self.max_pages = max_pages
        self._next: dict[str, Any] | None = first_input
        self._seen: set[str] = set()
        self.pages = 0

    def next_input(self) -> dict[str, Any] | None:
        return self._next

    def take(self, page: dict[str, Any]) -> None:
        """Record a page; work out the input of the next one (or that there is none)."""
        self.pages += 1
        spec, current = self.spec, self._next or {}
        self._next = None
        if not spec.paginated:
            return
        pagination = page.get("pagination") or {}
        cursor = pagination.get("nextCursor")
        if not cursor or pagination.get("hasMore") is False:
            return
        label = f"tool {spec.name}"
        if not isinstance(cursor, str) or cursor in self._seen:
            raise OutlitResponseError(
                f"{label}: Outlit returned the same pagination cursor twice; stopping to avoid a loop",
                code="pagination_loop",
            )
        if self.pages >= self.max_pages:
            raise OutlitResponseError(
                f"{label}: stopped after {self.pages} pages (max_pages) while Outlit still offered a next "
                "cursor; narrow the input (filters, dates) or raise max_pages",
                code="pagination_limit",
            )
        self._seen.add(cursor)
        self._next = {**current, "cursor": cursor}
