"""Client benchmarks: per-call overhead, event preparation, ingest throughput at the rate limit, memory,
and the platform cooldown after 429s with 8 threads.

Run alone with ``python benchmarks/bench_client.py``. Figures are from one run on this machine; the ratios
(client overhead vs. the API's own limits, achieved vs. allowed request rate) are what to compare.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import httpx

from outlit_core.client import AsyncOutlitClient, OutlitClient
from outlit_core.client.events import envelope, plan_batches, prepare_event

API_MAX_EVENTS_PER_SECOND = 100 * 100  # 100 requests/s x 100 events/request


def events(n: int) -> Iterator[dict[str, Any]]:
    for i in range(n):
        yield {
            "type": "custom",
            "url": "server://etl",
            "path": "/",
            "eventName": "row_synced",
            "userId": f"user_{i}",
            "customerId": f"cust_{i % 500}",
            "properties": {"plan": "pro", "seats": i % 50, "note": "x" * 60},
            "timestamp": 1_767_225_600_000 + i,
        }


def bench_prepare() -> None:
    n = 100_000
    started = time.perf_counter()
    prepared = [prepare_event(e, i) for i, e in enumerate(events(n))]
    prep_s = time.perf_counter() - started
    started = time.perf_counter()
    batches = sum(1 for _ in plan_batches(iter(prepared), envelope("server", None, None)))
    plan_s = time.perf_counter() - started
    rate = n / (prep_s + plan_s)
    print(f"event check + uuid + encode + batching: {rate:,.0f} events/s ({batches} batches)")
    print(
        f"  = {rate / API_MAX_EVENTS_PER_SECOND:.1f}x the API's ingest ceiling of "
        f"{API_MAX_EVENTS_PER_SECOND:,} events/s"
    )


def bench_call_overhead() -> None:
    page = json.dumps(
        {
            "items": [{"id": f"c{i}", "name": "Acme"} for i in range(1000)],
            "pagination": {"hasMore": True, "nextCursor": "n"},
        }
    ).encode()
    last = json.dumps({"items": [], "pagination": {"hasMore": False, "nextCursor": None}}).encode()
    pages = 200
    count = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        count["n"] += 1
        body = page if count["n"] < pages else last
        # A fresh cursor per page, as a real server would send.
        return httpx.Response(200, content=body.replace(b'"n"', f'"n{count["n"]}"'.encode()))

    with OutlitClient("ok_bench", transport=httpx.MockTransport(handler)) as client:
        started = time.perf_counter()
        items = sum(1 for _ in client.iter_tool("outlit_list_customers"))
        elapsed = time.perf_counter() - started
    per_call_ms = elapsed / pages * 1000
    print(
        f"iter_tool over an instant in-memory server: {items:,} items in {pages} pages, "
        f"{items / elapsed:,.0f} items/s, {per_call_ms:.2f} ms client time per 1000-item page"
    )


def _small_sandbox(what: str, **settings: Any) -> Any:
    """A sandbox in its own process with a tiny dataset (these benchmarks time the client, not the data),
    or None, saying so, when outlit_sandbox is not installed."""
    try:
        import outlit_sandbox
    except ImportError:
        print(f"{what}: skipped (outlit_sandbox not installed)")
        return None
    settings = {"customers": 2, "events_per_customer": 1, "facts_per_customer": 1, **settings}
    return outlit_sandbox.running(subprocess=True, **settings)


def bench_ingest_against_sandbox() -> None:
    sandbox = _small_sandbox("ingest vs sandbox", seed=1, ingest_rps=100)
    if sandbox is None:
        return
    n = 30_000
    with sandbox as sb:
        with OutlitClient(sb.api_key, public_key=sb.public_key, base_url=sb.base_url) as client:
            started = time.perf_counter()
            result = client.send_events(events(n))
            sync_s = time.perf_counter() - started
        mid = sb.stats()["ingest"]

        async def run_async() -> Any:
            async with AsyncOutlitClient(
                sb.api_key, public_key=sb.public_key, base_url=sb.base_url
            ) as client:
                return await client.send_events(events(n), concurrency=8)

        started = time.perf_counter()
        aresult = asyncio.run(run_async())
        async_s = time.perf_counter() - started
        end = sb.stats()["ingest"]
    for label, res, secs, limited in (
        ("sync send_events", result, sync_s, mid["rate_limited"]),
        ("async send_events(concurrency=8)", aresult, async_s, end["rate_limited"] - mid["rate_limited"]),
    ):
        rps = res.requests / secs
        print(
            f"{label}: {res.accepted:,} events in {secs:.2f}s = {res.accepted / secs:,.0f} events/s, "
            f"{rps:.1f} req/s = {rps / 100:.0%} of the 100 req/s limit; 429s from server: {limited}"
        )


class _Recorder(httpx.HTTPTransport):
    """Send times and 429 windows (arrival, arrival + Retry-After) across every client of a run."""

    def __init__(self, log: dict[str, list[Any]], lock: threading.Lock) -> None:
        super().__init__()
        self.log, self.lock = log, lock

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.log["sent"].append(time.monotonic())
        response = super().handle_request(request)
        response.read()
        if response.status_code == 429:
            now = time.monotonic()
            with self.lock:
                self.log["windows"].append((now, now + float(response.headers.get("retry-after") or 0)))
        return response


def bench_platform_cooldown() -> None:
    """8 threads, tool calls, a share of them answered 429 + Retry-After: one client vs one per thread."""
    sandbox = _small_sandbox(
        "platform cooldown vs sandbox",
        seed=5,
        customers=3,
        fault_rate=0.05,
        fault_kinds=["429"],
        retry_after=1,
    )
    if sandbox is None:
        return
    threads, calls = 8, 15
    with sandbox as sb:
        print(
            f"platform 429s: {threads} threads x {calls} tool calls, 5% answered 429 + Retry-After: 1 s "
            "(sandbox subprocess)"
        )
        for label, shared in (("one client, shared cooldown", True), ("a client per thread", False)):
            sb.reset()  # the same fault sequence for both runs
            log: dict[str, list[Any]] = {"sent": [], "windows": []}
            transport = _Recorder(log, threading.Lock())  # httpx transports are thread-safe
            clients = [
                OutlitClient(sb.api_key, base_url=sb.base_url, transport=transport)
                for _ in range(1 if shared else threads)
            ]

            def work(outlit: OutlitClient) -> None:
                for _ in range(calls):
                    outlit.call_tool("outlit_list_customers", {"limit": 1})

            pool = [threading.Thread(target=work, args=(clients[i % len(clients)],)) for i in range(threads)]
            started = time.perf_counter()
            for t in pool:
                t.start()
            for t in pool:
                t.join()
            wall = time.perf_counter() - started
            for c in clients:
                c.close()
            served = sb.stats()["faults"].get("429", 0)
            # sent more than 10 ms after a 429 arrived and before its Retry-After ran out: requests a real
            # rate limiter would have refused too
            into = sum(1 for s in log["sent"] if any(a + 0.01 < s < b - 0.01 for a, b in log["windows"]))
            print(
                f"  {label}: {len(log['sent'])} requests, 429s served {served}, "
                f"requests sent into a 429's Retry-After window {into}, wall {wall:.2f}s"
            )


def bench_memory() -> None:
    n = 50_000
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        return httpx.Response(200, json={"success": True, "processed": 100})

    with OutlitClient(
        public_key="pk_bench", transport=httpx.MockTransport(handler), ingest_rps=1e9
    ) as client:
        tracemalloc.start()
        client.send_events(events(n))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    one_event = len(json.dumps(next(events(1))))
    print(
        f"send_events streaming {n:,} generated events: peak {peak / 1e6:.1f} MB traced "
        f"(the events alone would be ~{n * one_event / 1e6:.0f} MB as JSON); {calls['n']} requests"
    )


def main() -> None:
    bench_prepare()
    bench_call_overhead()
    bench_memory()
    bench_ingest_against_sandbox()
    bench_platform_cooldown()


if __name__ == "__main__":
    main()
