"""The client-wide platform limiter: ``platform_rps`` pacing and the cooldown a 429 sets for every thread."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time

import httpx
import pytest
import respx
from outlit_client_testlib import BASE, KEY, NOW, PUBLIC

import outlit_sandbox
from outlit_core.client import (
    AsyncOutlitClient,
    OutlitClient,
    OutlitPlanLimitError,
    OutlitRateLimitError,
    RetryPolicy,
    TokenBucket,
)

OK_PAGE = {"items": [], "pagination": {"hasMore": False, "nextCursor": None}}
SLOW_DOWN = httpx.Response(429, headers={"Retry-After": "2"}, json={"error": "slow down"})


class Clock:
    """A monotonic clock that only moves when the client sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def tool_route(api: respx.MockRouter) -> respx.Route:
    return api.post("/api/tools/call")


def test_a_429_on_one_thread_holds_back_the_other_threads(api: respx.MockRouter) -> None:
    log: list[tuple[str, object]] = []
    first_slept = threading.Event()

    def sleep(seconds: float) -> None:
        log.append((threading.current_thread().name, seconds))
        first_slept.set()

    def answer(request: httpx.Request) -> httpx.Response:
        log.append((threading.current_thread().name, "request"))
        return SLOW_DOWN if len(log) == 1 else httpx.Response(200, json=OK_PAGE)

    tool_route(api).side_effect = answer
    policy = RetryPolicy(sleep=sleep, random=lambda: 1.0, clock=lambda: NOW)
    # the frozen clock keeps the 2 s block in force however long the threads take
    bucket = TokenBucket(None, monotonic=Clock(), wall_clock=lambda: NOW)
    with OutlitClient(KEY, retry=policy, platform_limiter=bucket) as client:

        def first() -> None:
            client.call_tool("outlit_schema")

        def second() -> None:
            assert first_slept.wait(5)  # starts after the first thread's 429
            client.call_tool("outlit_schema")

        threads = [threading.Thread(target=first, name="a"), threading.Thread(target=second, name="b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
    b = [what for who, what in log if who == "b"]
    assert b == [2.0, "request"], log  # b never fired into the window a was told to wait out
    assert [what for who, what in log if who == "a"] == ["request", 2.0, "request"], log


def test_a_429_on_one_task_holds_back_the_other_tasks(api: respx.MockRouter) -> None:
    log: list[tuple[str, object]] = []

    async def run() -> None:
        first_slept = asyncio.Event()

        async def sleep(seconds: float) -> None:
            log.append((asyncio.current_task().get_name(), seconds))  # type: ignore[union-attr]
            first_slept.set()
            await asyncio.sleep(0)

        def answer(request: httpx.Request) -> httpx.Response:
            log.append((asyncio.current_task().get_name(), "request"))  # type: ignore[union-attr]
            return SLOW_DOWN if len(log) == 1 else httpx.Response(200, json=OK_PAGE)

        tool_route(api).side_effect = answer
        policy = RetryPolicy(async_sleep=sleep, random=lambda: 1.0, clock=lambda: NOW)
        bucket = TokenBucket(None, monotonic=Clock(), wall_clock=lambda: NOW)
        async with AsyncOutlitClient(KEY, retry=policy, platform_limiter=bucket) as client:

            async def second() -> None:
                await first_slept.wait()
                await client.call_tool("outlit_schema")

            await asyncio.gather(
                asyncio.create_task(client.call_tool("outlit_schema"), name="a"),
                asyncio.create_task(second(), name="b"),
            )

    asyncio.run(run())
    assert [what for who, what in log if who == "b"] == [2.0, "request"], log


def test_platform_rps_spaces_requests(api: respx.MockRouter) -> None:
    clock = Clock()
    sent: list[float] = []

    def sleep(seconds: float) -> None:
        clock.now += seconds

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(clock.now)
        return httpx.Response(200, json=OK_PAGE)

    tool_route(api).side_effect = answer
    policy = RetryPolicy(sleep=sleep, clock=lambda: NOW)
    bucket = TokenBucket(5, burst=1.0, monotonic=clock, wall_clock=lambda: NOW)
    with OutlitClient(KEY, retry=policy, platform_limiter=bucket) as client:
        for _ in range(6):
            client.call_tool("outlit_schema")
    gaps = [b - a for a, b in itertools.pairwise(sent)]
    assert gaps == pytest.approx([0.2] * 5)


def test_platform_rps_builds_a_paced_bucket_separate_from_ingest(
    api: respx.MockRouter, make_client, sleeps
) -> None:
    tool_route(api).respond(200, json=OK_PAGE)
    client = make_client(platform_rps=5)
    assert client.platform_limiter.rate == 5 and client.platform_limiter is not client.ingest_limiter
    for _ in range(4):
        client.call_tool("outlit_schema")
    # the fake sleep returns at once, so each wait is one 0.2 s interval longer than the last
    assert sleeps == pytest.approx([0.2, 0.4, 0.6], abs=0.05)


def test_unpaced_by_default(api: respx.MockRouter, make_client, sleeps) -> None:
    tool_route(api).respond(200, json=OK_PAGE)
    client = make_client()
    assert client.platform_limiter.rate is None and client.config.platform_rps is None
    for _ in range(20):
        client.call_tool("outlit_schema")
    assert sleeps == []


def test_empty_rate_limit_window_on_a_tool_response_blocks_until_reset(
    api: respx.MockRouter, make_client, sleeps
) -> None:
    tool_route(api).side_effect = [
        httpx.Response(
            200,
            json=OK_PAGE,
            headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW + 3))},
        ),
        httpx.Response(200, json=OK_PAGE),
    ]
    client = make_client()
    client.call_tool("outlit_schema")
    assert sleeps == []
    client.call_tool("outlit_schema")
    assert sleeps == pytest.approx([3.0], abs=0.05)


def test_empty_window_resetting_after_max_wait_blocks_nobody(
    api: respx.MockRouter, make_client, sleeps
) -> None:
    daily = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW + 86400))}
    tool_route(api).respond(200, json=OK_PAGE, headers=daily)
    client = make_client()
    for _ in range(3):
        client.call_tool("outlit_schema")
    assert sleeps == []  # a 429 would raise with the wait; nobody hangs inside the limiter for a day


def test_a_429_that_gives_up_still_blocks_the_next_call(api: respx.MockRouter, make_client, sleeps) -> None:
    tool_route(api).side_effect = [SLOW_DOWN, httpx.Response(200, json=OK_PAGE)]
    client = make_client(max_retries=0)
    with pytest.raises(OutlitRateLimitError):
        client.call_tool("outlit_schema")
    client.call_tool("outlit_schema")
    assert sleeps == pytest.approx([2.0], abs=0.05)


def test_plan_limit_cooldown_only_when_it_resets_soon(api: respx.MockRouter, make_client, sleeps) -> None:
    def plan_limit(reset: float) -> httpx.Response:
        return httpx.Response(
            429, json={"error": "limit", "code": "api_limit_exceeded", "resetAt": int(reset * 1000)}
        )

    tool_route(api).side_effect = [
        plan_limit(NOW + 10 * 86400),
        httpx.Response(200, json=OK_PAGE),
        plan_limit(NOW + 20),
        httpx.Response(200, json=OK_PAGE),
    ]
    client = make_client(max_retries=0)
    with pytest.raises(OutlitPlanLimitError):
        client.call_tool("outlit_schema")  # a monthly allowance: raised, and nobody is held for days
    client.call_tool("outlit_schema")
    assert sleeps == []
    with pytest.raises(OutlitPlanLimitError):
        client.call_tool("outlit_schema")
    client.call_tool("outlit_schema")
    assert sleeps == pytest.approx([20.0], abs=0.05)


def test_platform_429_does_not_hold_back_ingest(api: respx.MockRouter, make_client, sleeps) -> None:
    tool_route(api).side_effect = [SLOW_DOWN]
    api.post(f"/api/i/v1/{PUBLIC}/events").respond(200, json={"success": True, "processed": 1})
    client = make_client(max_retries=0)
    with pytest.raises(OutlitRateLimitError):
        client.call_tool("outlit_schema")
    event = {"type": "custom", "eventName": "x", "url": "https://a.example/", "path": "/", "email": "a@b.co"}
    assert client.send_events([event]).accepted == 1
    assert sleeps == []


def test_platform_limiter_can_be_shared_between_clients(api: respx.MockRouter, make_client, sleeps) -> None:
    tool_route(api).side_effect = [SLOW_DOWN, httpx.Response(200, json=OK_PAGE)]
    shared = TokenBucket(None)
    first = make_client(max_retries=0, platform_limiter=shared)
    second = make_client(platform_limiter=shared)
    with pytest.raises(OutlitRateLimitError):
        first.call_tool("outlit_schema")
    second.call_tool("outlit_schema")
    assert sleeps == pytest.approx([2.0], abs=0.05)


def test_platform_rps_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTLIT_API_KEY", KEY)
    monkeypatch.setenv("OUTLIT_PLATFORM_RPS", "12.5")
    with OutlitClient.from_env() as client:
        assert client.config.platform_rps == 12.5 and client.platform_limiter.rate == 12.5
    with OutlitClient.from_env(platform_rps=3) as client:
        assert client.platform_limiter.rate == 3
    monkeypatch.setenv("OUTLIT_PLATFORM_RPS", "fast")
    with pytest.raises(ValueError, match="OUTLIT_PLATFORM_RPS"):
        OutlitClient.from_env()
    with pytest.raises(ValueError, match="platform_rps"):
        OutlitClient(KEY, base_url=BASE, platform_rps=0)


class _Recording(httpx.BaseTransport):
    """Records when each request left and when its answer (status, Retry-After) came back."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.sent: list[float] = []
        self.answers: list[tuple[float, int, float]] = []
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.sent.append(time.monotonic())
        response = self.inner.handle_request(request)
        response.read()
        with self._lock:
            wait = float(response.headers.get("retry-after") or 0)
            self.answers.append((time.monotonic(), response.status_code, wait))
        return response


def test_sandbox_429_pauses_every_thread_of_the_client() -> None:
    """End to end: after a 429 arrives, no thread of the client sends until its Retry-After is over.

    The sandbox injects 429s at random per request, so how many it serves depends on the request count,
    not on pacing; what the cooldown changes is that no request lands inside a window Outlit asked the
    client to sit out (each of which a real rate limiter would have refused).
    """
    threads, calls = 8, 4
    with outlit_sandbox.running(
        seed=7, customers=3, events_per_customer=1, facts_per_customer=1, fault_rate=0.1, fault_kinds=["429"]
    ) as sb:
        transport = _Recording()
        with OutlitClient(sb.api_key, base_url=sb.base_url, transport=transport) as client:

            def work() -> None:
                for _ in range(calls):
                    client.call_tool("outlit_list_customers", {"limit": 1})

            pool = [threading.Thread(target=work) for _ in range(threads)]
            for t in pool:
                t.start()
            for t in pool:
                t.join(60)
        served = sb.stats()["faults"].get("429", 0)
    assert served >= 1
    assert len(transport.sent) == threads * calls + served  # every 429 retried once, nothing lost
    windows = [(at, at + wait) for at, status, wait in transport.answers if status == 429]
    # a request that had passed the limiter just before the 429 was read may still leave: allow 10 ms
    inside = [s for s in transport.sent for start, end in windows if start + 0.01 < s < end - 0.01]
    assert inside == [], f"{len(inside)} requests sent during a cooldown"
