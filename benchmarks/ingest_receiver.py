"""An ingest receiver that costs almost nothing, to measure the reverse loader's own capacity.

The sandbox validates and stores every event, and on a small shared machine it takes the CPU the loader
would otherwise use, so an end-to-end rate says as much about the sandbox as about the loader. This
receiver answers ``POST /api/i/v1/<public key>/events`` with the ingest route's success shape
(``{"success": true, "processed": n}``) after counting the events, and nothing else. It enforces Outlit's
limit with the sandbox's own limiter (windows of 100 requests a second, so 10,000 events/s at 100 events a
request) and answers a request over it with 429, ``Retry-After`` and the ``X-RateLimit-*`` headers.

Run it in its own process (``python -m benchmarks.ingest_receiver <public key> [rps] [delay s]``): it
prints its port, then serves until stdin closes. Plain asyncio over HTTP/1.1 keep-alive: no framework, no
JSON parsing. ``delay`` holds every answer (the request is counted on arrival), like a real round trip.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from outlit_sandbox.ingest import RateLimiter

_LIMITED = b'{"success":false,"message":"Rate limit exceeded: retry after X-RateLimit-Reset"}'


class _Counts:
    requests = 0
    events = 0
    rate_limited = 0


def _reply(status: str, body: bytes, headers: dict[str, str]) -> bytes:
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (
        f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n{head}\r\n"
    ).encode() + body


class _Ingest(asyncio.Protocol):
    def __init__(self, public_key: str, limiter: RateLimiter, counts: _Counts, delay: float = 0.0) -> None:
        self.delay = delay  # seconds each answer is held, like a real round trip
        self.path = f"/api/i/v1/{public_key}/events".encode()
        self.public_key = public_key
        self.limiter = limiter
        self.counts = counts
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].split(b"\r\n")
            length = 0
            for line in head[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            answer = self._answer(head[0], body)  # counted (and limited) on arrival, like Outlit
            if self.delay:
                asyncio.get_running_loop().call_later(self.delay, self.transport.write, answer)
            else:
                self.transport.write(answer)

    def _answer(self, request_line: bytes, body: bytes) -> bytes:
        method, path, _ = request_line.split(b" ", 2)
        if path == b"/_stats":
            counts = {k: getattr(self.counts, k) for k in ("requests", "events", "rate_limited")}
            return _reply("200 OK", json.dumps(counts).encode(), {})
        if method != b"POST" or path != self.path:
            return _reply("404 Not Found", b'{"success":false,"message":"not found"}', {})
        self.counts.requests += 1
        allowed, headers = self.limiter.hit(self.public_key)
        if not allowed:
            self.counts.rate_limited += 1
            return _reply("429 Too Many Requests", _LIMITED, headers)
        # Every event the client sends carries its uuid; counting the key is all the parsing done here.
        events = body.count(b'"uuid":')
        self.counts.events += events
        return _reply("200 OK", b'{"success":true,"processed":%d}' % events, headers)


async def _serve(public_key: str, rps: float, delay: float) -> None:
    loop = asyncio.get_running_loop()
    limiter, counts = RateLimiter(rps), _Counts()
    server = await loop.create_server(lambda: _Ingest(public_key, limiter, counts, delay), "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin
    server.close()


@contextmanager
def receiver(public_key: str, rps: float = 100, delay: float = 0.0) -> Iterator[str]:
    """Run the receiver in a child process for the ``with`` block; yields its base URL.

    ``delay`` holds every answer that many seconds (the request is counted when it arrives).
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.ingest_receiver", public_key, str(rps), str(delay)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        assert proc.stdout is not None
        yield f"http://127.0.0.1:{int(proc.stdout.readline())}"
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=10)


if __name__ == "__main__":
    args = sys.argv[1:]
    asyncio.run(
        _serve(args[0], float(args[1]) if len(args) > 1 else 100, float(args[2]) if len(args) > 2 else 0)
    )
