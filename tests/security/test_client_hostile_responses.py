"""Hostile and odd answers from the server: the client must neither hang, nor loop, nor believe them.

Issue 11 item 8 (a total deadline per call; bounded pagination) and item 13 (validate response shapes; cap
the decompressed size). Transport edge cases the sandbox cannot produce are made with respx or a raw socket
server on loopback.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
import threading
import tracemalloc
import zlib
from typing import Any

import httpx
import pytest
import respx

from outlit_core.client import (
    AsyncOutlitClient,
    OutlitClient,
    OutlitError,
    OutlitResponseError,
    OutlitTransportError,
    RetryPolicy,
)

BASE = "https://app.outlit.ai"
KEY = "ok_test_hostile_responses_0123456789"
PAGE_END = {"hasMore": False, "nextCursor": None}


class FakeClock:
    """A monotonic clock that moves only when the client sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)

    def policy(self, **kwargs: Any) -> RetryPolicy:
        return RetryPolicy(
            sleep=self.sleep,
            async_sleep=self.async_sleep,
            random=lambda: 1.0,
            clock=lambda: 1_800_000_000.0,
            monotonic=self.monotonic,
            **kwargs,
        )


def _call(kind: str, client_kwargs: dict[str, Any], fn: Any) -> Any:
    """Run ``fn(client)`` on a sync or an async client built with ``client_kwargs``."""
    if kind == "sync":
        with OutlitClient(KEY, **client_kwargs) as client:
            return fn(client)

    async def run() -> Any:
        async with AsyncOutlitClient(KEY, **client_kwargs) as client:
            result = fn(client)
            if hasattr(result, "__aiter__"):
                return [item async for item in result]
            return await result

    return asyncio.run(run())


KINDS = ["sync", "async"]


def _all_customers(kind: str) -> Any:
    if kind == "sync":
        return lambda c: list(c.iter_tool("outlit_list_customers"))
    return lambda c: c.iter_tool("outlit_list_customers")


# --- a total deadline per call ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "wait", "deadline", "attempts", "says"),
    [
        # attempts at t=0, 10 and 20; a fourth would start at 30, past the 25 s deadline
        pytest.param(503, 10, 25, 3, "3 attempts", id="retries-stop-at-the-deadline"),
        # a server wait that ends past the deadline is raised at once, without waiting
        pytest.param(429, 60, 30, 1, "", id="a-wait-past-the-deadline-is-raised-at-once"),
    ],
)
@pytest.mark.parametrize("kind", KINDS)
@respx.mock(base_url=BASE, assert_all_called=False)
def test_no_call_runs_past_its_deadline(
    kind: str, respx_mock: respx.MockRouter, status: int, wait: int, deadline: int, attempts: int, says: str
) -> None:
    clock = FakeClock()
    route = respx_mock.post("/api/tools/call").respond(status, headers={"Retry-After": str(wait)})
    with pytest.raises(OutlitError) as info:
        _call(
            kind,
            {"retry": clock.policy(max_retries=10), "deadline": deadline},
            lambda c: c.call_tool("outlit_schema"),
        )
    assert route.call_count == attempts
    assert clock.sleeps == [float(wait)] * (attempts - 1)
    assert info.value.retry_after == float(wait) and says in str(info.value)
    assert attempts == 1 or "deadline" in str(info.value)


class _TrickleServer:
    """Accepts one connection at a time and sends a valid HTTP response one byte every ``gap`` seconds."""

    def __init__(self, gap: float, body: bytes = b'{"views": []}', headers_first: bool = False) -> None:
        head = (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        self.payload = head + body
        self.head = head
        self.gap = gap
        self.headers_first = headers_first
        self.sent = 0
        self.done = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.done.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                data = self.payload
                if self.headers_first:
                    conn.sendall(self.head)
                    self.sent += len(self.head)
                    data = self.payload[len(self.head) :]
                for i in range(len(data)):
                    if self.done.wait(self.gap):
                        return
                    try:
                        conn.sendall(data[i : i + 1])
                    except OSError:
                        break  # the client hung up: what the test wants
                    self.sent += 1

    def close(self) -> None:
        self.done.set()
        self.sock.close()
        self.thread.join(timeout=5)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("headers_first", [False, True], ids=["trickled-headers", "trickled-body"])
def test_a_trickling_server_cannot_stretch_an_attempt_past_its_timeout(
    kind: str, headers_first: bool
) -> None:
    # 1 byte per 50 ms: the whole answer would take ~5 s, each single read stays well inside the 0.5 s read
    # timeout, so only a total per-attempt deadline ends it.
    server = _TrickleServer(gap=0.05, headers_first=headers_first)
    try:
        with pytest.raises(OutlitTransportError) as info:
            _call(
                kind,
                {"base_url": f"http://127.0.0.1:{server.port}", "timeout": 0.5, "max_retries": 0},
                lambda c: c.call_tool("outlit_schema"),
            )
    finally:
        server.close()
    assert server.sent < len(server.payload)  # the client gave up before the trickle ended
    text = str(info.value)
    assert f"127.0.0.1:{server.port}" in text and "0.5 s" in text and "\n" not in text


# --- bounded pagination -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@respx.mock(base_url=BASE, assert_all_called=False)
def test_a_server_with_a_new_cursor_forever_is_cut_at_the_page_cap(
    kind: str, respx_mock: respx.MockRouter
) -> None:
    counter = iter(range(10**9))

    def endless(request: httpx.Request) -> httpx.Response:
        n = next(counter)
        return httpx.Response(
            200, json={"items": [{"id": n}], "pagination": {"hasMore": True, "nextCursor": f"c{n}"}}
        )

    route = respx_mock.post("/api/tools/call").mock(side_effect=endless)
    with pytest.raises(OutlitResponseError) as info:
        _call(kind, {"max_pages": 7}, _all_customers(kind))
    assert route.call_count == 7
    assert info.value.code == "pagination_limit"
    assert "7 pages" in str(info.value) and "max_pages" in str(info.value)


@pytest.mark.parametrize("kind", KINDS)
@respx.mock(base_url=BASE, assert_all_called=False)
def test_a_repeated_cursor_stops_pagination(kind: str, respx_mock: respx.MockRouter) -> None:
    respx_mock.post("/api/tools/call").respond(
        200, json={"items": [{"id": 1}], "pagination": {"hasMore": True, "nextCursor": "same"}}
    )
    with pytest.raises(OutlitResponseError) as info:
        _call(kind, {}, _all_customers(kind))
    assert info.value.code == "pagination_loop"


# --- response shapes --------------------------------------------------------------------------------------

ODD_QUERY_BODIES = [
    {},
    {"data": None},
    {"data": "abc"},
    {"data": [1, 2]},
    {"data": [{"a": 1}], "metadata": "x"},
    [],
    "rows",
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("body", ODD_QUERY_BODIES, ids=[repr(b) for b in ODD_QUERY_BODIES])
@respx.mock(base_url=BASE, assert_all_called=False)
def test_odd_query_answers_are_errors_not_empty_results(
    kind: str, body: Any, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post("/api/tools/call").respond(200, json=body)
    with pytest.raises(OutlitResponseError) as info:
        _call(kind, {}, lambda c: c.query("SELECT count() FROM activity"))
    assert info.value.code == "unexpected_response" and not info.value.retryable


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("route", "method", "body", "call"),
    [
        ("/api/integrations", "GET", {"items": "abc"}, lambda c: c.list_integrations()),
        ("/api/integrations", "GET", {"items": [1, 2]}, lambda c: c.list_integrations()),
        ("/api/integrations", "GET", [], lambda c: c.list_integrations()),
        ("/api/integrations/capabilities", "GET", ["x"], lambda c: c.integration_capabilities()),
        ("/api/integrations/sync-status", "GET", "ok", lambda c: c.sync_status("stripe")),
        ("/api/tools/call", "POST", ["not", "an", "object"], lambda c: c.call_tool("outlit_schema")),
        (
            "/api/tools/call",
            "POST",
            {"items": "abc", "pagination": PAGE_END},
            lambda c: c.call_tool("outlit_list_customers"),
        ),
        (
            "/api/tools/call",
            "POST",
            {"items": [], "pagination": "x"},
            lambda c: c.call_tool("outlit_list_customers"),
        ),
        (
            "/api/validate-api-key",
            "POST",
            {"valid": True, "organizationId": 5},
            lambda c: c.validate_api_key(),
        ),
    ],
)
@respx.mock(base_url=BASE, assert_all_called=False)
def test_odd_shapes_are_refused(
    kind: str, route: str, method: str, body: Any, call: Any, respx_mock: respx.MockRouter
) -> None:
    respx_mock.route(method=method, path=route).respond(200, json=body)
    with pytest.raises(OutlitResponseError) as info:
        _call(kind, {}, call)
    assert route in str(info.value) or "tool " in str(info.value)


# --- decompressed size ------------------------------------------------------------------------------------


def _gzip_bomb(size: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b"\0" * 1_000_000
    parts = [packer.compress(chunk) for _ in range(size // len(chunk))]
    return b"".join(parts) + packer.flush()


@pytest.mark.parametrize("kind", KINDS)
def test_a_gzip_bomb_is_stopped_at_the_size_cap_without_inflating_it(kind: str) -> None:
    bomb = _gzip_bomb(300_000_000)  # ~300 KB on the wire, 300 MB inflated
    assert len(bomb) < 400_000

    def handler(request: httpx.Request) -> httpx.Response:
        # A stream, not content=: httpx.Response(content=...) would inflate the bomb itself, in the test.
        return httpx.Response(200, headers={"Content-Encoding": "gzip"}, stream=httpx.ByteStream(bomb))

    transport = httpx.MockTransport(handler)
    tracemalloc.start()
    try:
        with pytest.raises(OutlitResponseError) as info:
            _call(
                kind,
                {"max_response_bytes": 5_000_000, "transport": transport},
                lambda c: c.call_tool("outlit_schema"),
            )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert info.value.code == "response_too_large" and not info.value.retryable
    assert peak < 40_000_000, f"peak {peak / 1e6:.0f} MB"


@respx.mock(base_url=BASE, assert_all_called=False)
def test_a_normal_gzip_answer_is_read(respx_mock: respx.MockRouter) -> None:
    respx_mock.post("/api/tools/call").respond(
        200, content=gzip.compress(b'{"views": [{"name": "activity"}]}'), headers={"Content-Encoding": "gzip"}
    )
    with OutlitClient(KEY) as client:
        assert client.call_tool("outlit_schema") == {"views": [{"name": "activity"}]}
