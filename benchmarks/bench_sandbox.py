"""How fast is the sandbox? Target: >= 1,000 simple requests/s on one core, so it never limits a benchmark.

The server runs as ``outlit-sandbox serve`` in its own (single-threaded) process; the load comes from
raw keep-alive HTTP/1.1 connections driven by asyncio in this process, so the client costs as little as
possible. Prints requests/s per kind of request, the ratio to the target, start-up time and memory.

    python benchmarks/bench_sandbox.py [--seconds 3] [--connections 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

TARGET_RPS = 1000.0
GROUP_BY = "SELECT event_channel, count(*) FROM activity GROUP BY 1"


def start_server(
    customers: int, events: int, facts: int, ingest_rps: float
) -> tuple[subprocess.Popen[str], dict[str, Any], float]:
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "outlit_sandbox", "serve", "--customers", str(customers),
         "--events-per-customer", str(events), "--facts-per-customer", str(facts),
         "--ingest-rps", str(ingest_rps)],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    info = json.loads(proc.stdout.readline())
    return proc, info, time.perf_counter() - started


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def raw_request(method: str, host: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _worker(host: str, port: int, make: Any, deadline: float, counts: dict[int, int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            writer.write(make())
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            counts[status] = counts.get(status, 0) + 1
    finally:
        writer.close()


async def _load(base_url: str, make: Any, seconds: float, connections: int) -> tuple[float, dict[int, int]]:
    parts = urlsplit(base_url)
    counts: dict[int, int] = {}
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(
        *(_worker(parts.hostname or "", parts.port or 80, make, deadline, counts) for _ in range(connections))
    )
    elapsed = time.perf_counter() - started
    return sum(counts.values()) / elapsed, counts


def measure(
    name: str, base_url: str, pid: int, make: Any, seconds: float, connections: int
) -> tuple[float, float]:
    """Returns (requests per wall second, requests per second of server CPU = one-core capacity)."""
    cpu_before = cpu_seconds(pid)
    rps, counts = asyncio.run(_load(base_url, make, seconds, connections))
    cpu = cpu_seconds(pid) - cpu_before
    total = sum(counts.values())
    per_core = total / cpu if cpu > 0 else float("inf")
    print(
        f"{name:<34} {rps:>9.0f} req/s   {per_core:>9.0f} req per server-CPU-second   "
        f"x{rps / TARGET_RPS:>5.2f} of target   statuses={dict(sorted(counts.items()))}"
    )
    return rps, per_core


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()

    proc, info, startup = start_server(customers=50, events=200, facts=20, ingest_rps=1_000_000)
    try:
        host = urlsplit(info["base_url"]).netloc
        auth = {"Authorization": f"Bearer {info['api_key']}", "Content-Type": "application/json"}
        print(f"start-up with the default dataset (50 customers x 200 events): {startup:.2f}s, "
              f"server RSS {rss_mb(proc.pid):.0f} MB")  # fmt: skip

        def tool(name: str, args: dict[str, Any]) -> Any:
            payload = json.dumps({"tool": name, "input": args}).encode()
            request = raw_request("POST", host, "/api/tools/call", auth, payload)
            return lambda: request

        validate = raw_request("POST", host, "/api/validate-api-key", auth)
        integrations = raw_request("GET", host, "/api/integrations", auth)
        cases = [
            ("POST /api/validate-api-key", lambda: validate),
            ("GET /api/integrations", lambda: integrations),
            ("tool outlit_list_customers (50)", tool("outlit_list_customers", {"limit": 50})),
            (
                "tool outlit_get_timeline (50)",
                tool("outlit_get_timeline", {"customer": "acme.com", "timeframe": "all"}),
            ),
            ("tool outlit_list_facts", tool("outlit_list_facts", {"customer": "acme.com"})),
            ("tool outlit_query (group by)", tool("outlit_query", {"sql": GROUP_BY})),
        ]
        results = {
            name: measure(name, info["base_url"], proc.pid, make, args.seconds, args.connections)
            for name, make in cases
        }

        ingest_path = f"/api/i/v1/{info['public_key']}/events"

        def ingest_batch() -> bytes:
            events = [
                {"type": "custom", "eventName": "bench", "userId": "u1", "url": "server://u1", "path": "/",
                 "uuid": str(uuid.uuid4())}
                for _ in range(100)
            ]  # fmt: skip
            body = json.dumps({"source": "server", "events": events}).encode()
            return raw_request("POST", host, ingest_path, {"Content-Type": "application/json"}, body)

        batches, _ = measure(
            "ingest, 100 events per request",
            info["base_url"],
            proc.pid,
            ingest_batch,
            args.seconds,
            args.connections,
        )
        rss = rss_mb(proc.pid)
        print(f"ingest throughput: {batches * 100:.0f} events/s; server RSS after load {rss:.0f} MB")
        # One core: what the single-threaded server does per second of its own CPU time (the wall rate above
        # also depends on how much CPU this load generator leaves it).
        simple = min(results[name][1] for name, _ in cases[:3])
        verdict = "OK" if simple >= TARGET_RPS else "BELOW TARGET"
        print(f"\nsimple requests per core: {simple:.0f}/s, x{simple / TARGET_RPS:.2f} of target ({verdict})")
        return 0 if simple >= TARGET_RPS else 1
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    raise SystemExit(main())
