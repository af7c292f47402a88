"""Running the sandbox: in-process on a background thread, or as a child process.

``running()`` is the entry point for tests, the demo and benchmarks. The child-process mode spawns
``python -m outlit_sandbox serve`` and reads its one JSON line, so a benchmark's client and the server
do not share a GIL.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess as sp
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import uvicorn

from .app import create_app
from .limits import CappedHttpToolsProtocol
from .state import SandboxConfig, SandboxState

STARTUP_TIMEOUT = 30.0
API_KEY_ENV = "OUTLIT_SANDBOX_API_KEY"


class Sandbox:
    """A running sandbox: where it listens, its keys, and helpers over the ``/_sandbox`` routes."""

    def __init__(self, base_url: str, api_key: str, public_key: str) -> None:
        import httpx  # only the Python handle needs it; `outlit-sandbox serve` starts faster without

        self.base_url = base_url
        self.api_key = api_key
        self.public_key = public_key
        self._http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=30.0,
            trust_env=False,
        )

    def __repr__(self) -> str:  # never show the API key
        return f"Sandbox(base_url={self.base_url!r}, public_key={self.public_key!r})"

    @property
    def ingest_url(self) -> str:
        return f"{self.base_url}/api/i/v1/{self.public_key}/events"

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"sandbox {method} {path} failed with {response.status_code}: {response.text}")
        return response.json()

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/_sandbox/stats")

    def ingested(self, limit: int | None = None) -> dict[str, Any]:
        return self._call("GET", "/_sandbox/ingested", params={"limit": limit} if limit else None)

    def dataset(self) -> dict[str, Any]:
        return self._call("GET", "/_sandbox/dataset")

    def advance(self, **options: float) -> dict[str, Any]:
        """Move the sandbox clock on, append events/facts, change some fact statuses; returns the changes.

        ``options`` and their defaults: ``outlit_sandbox.advance.ADVANCE_DEFAULTS`` (``hours``,
        ``events_per_customer``, ``facts_per_customer``, ``status_changes``, ``late_events_per_customer``,
        ``silent_status_changes``, ``every_nth_customer``).

        ``late_events_per_customer`` adds events dated before each customer's latest one (within the last
        2 days); ``silent_status_changes`` changes fact statuses without moving any timestamp.
        """
        return self._call("POST", "/_sandbox/advance", json=options)

    def configure(self, **settings: Any) -> dict[str, Any]:
        """Change fault_rate, fault_kinds, ingest_rps, plan_api_calls, ... while running."""
        if "fault_kinds" in settings:
            settings["fault_kinds"] = list(settings["fault_kinds"])
        return self._call("POST", "/_sandbox/config", json=settings)

    def reset(self) -> dict[str, Any]:
        return self._call("POST", "/_sandbox/reset")

    def close(self) -> None:
        self._http.close()


def _bind(host: str, port: int) -> socket.socket:
    # proto must be IPPROTO_TCP: asyncio only sets TCP_NODELAY on such sockets, and without it every
    # response (headers and body are two writes) waits ~40 ms for the client's delayed ACK.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def build(
    config: SandboxConfig,
    host: str,
    port: int,
    *,
    log_level: str = "warning",
    access_log: bool = False,
    loop: str = "asyncio",
) -> tuple[uvicorn.Server, socket.socket, SandboxState]:
    """A configured (not yet started) server on a bound socket."""
    sock = _bind(host, port)
    state = SandboxState(config)
    state.base_url = _url(host, sock.getsockname()[1])
    app = create_app(state)
    uv_config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=access_log,
        lifespan="off",
        http=CappedHttpToolsProtocol,
        loop=loop,
        timeout_keep_alive=30,
        server_header=False,
    )
    return uvicorn.Server(uv_config), sock, state


@contextlib.contextmanager
def running(
    seed: int = 42,
    customers: int = 50,
    events_per_customer: int = 200,
    facts_per_customer: int = 20,
    fault_rate: float = 0.0,
    ingest_rps: float = 100,
    api_key: str | None = None,
    public_key: str | None = None,
    plan_api_calls: int | None = None,
    subprocess: bool = False,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    now: datetime | None = None,
    **settings: Any,
) -> Iterator[Sandbox]:
    """Run a sandbox for the duration of the ``with`` block and yield a :class:`Sandbox`.

    The clock starts at ``now`` (default: the start time) and follows wall time; ``frozen=True`` keeps it
    at ``now`` (moved only by ``advance``) for tests that compare answers over time.

    Extra keyword settings (``frozen``, ``fault_kinds``, ``slow_seconds``, ``retry_after``,
    ``plan_limit_status``, ``connection_limit``) go to :class:`SandboxConfig`.
    """
    config = SandboxConfig(
        seed=seed,
        customers=customers,
        events_per_customer=events_per_customer,
        facts_per_customer=facts_per_customer,
        fault_rate=fault_rate,
        ingest_rps=ingest_rps,
        api_key=api_key or "",
        public_key=public_key or "",
        plan_api_calls=plan_api_calls,
        now=now,
        **settings,
    )
    if subprocess:
        with _child(config, host, port) as handle:
            yield handle
        return
    server, sock, state = build(config, host, port)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="outlit-sandbox", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the sandbox server did not start")
        time.sleep(0.005)
    handle = Sandbox(state.base_url, config.api_key, config.public_key)
    try:
        yield handle
    finally:
        handle.close()
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        state.sql.close()


def cli_args(config: SandboxConfig, host: str, port: int) -> list[str]:
    args = [
        "serve",
        "--host",
        host,
        "--port",
        str(port),
        "--seed",
        str(config.seed),
        "--customers",
        str(config.customers),
        "--events-per-customer",
        str(config.events_per_customer),
        "--facts-per-customer",
        str(config.facts_per_customer),
        "--fault-rate",
        str(config.fault_rate),
        "--fault-kinds",
        ",".join(config.fault_kinds),
        "--slow-seconds",
        str(config.slow_seconds),
        "--retry-after",
        str(config.retry_after),
        "--ingest-rps",
        str(config.ingest_rps),
        "--public-key",
        config.public_key,
        "--plan-limit-status",
        str(config.plan_limit_status),
        "--connection-limit",
        str(config.connection_limit),
    ]
    if config.plan_api_calls is not None:
        args += ["--plan-api-calls", str(config.plan_api_calls)]
    if config.now is not None:
        args += ["--now", config.now.isoformat()]
    if config.frozen:
        args.append("--frozen")
    return args


@contextlib.contextmanager
def _child(config: SandboxConfig, host: str, port: int) -> Iterator[Sandbox]:
    # The API key travels in the environment, not argv, so it never shows up in process listings.
    env = {**os.environ, API_KEY_ENV: config.api_key}
    proc = sp.Popen(
        [sys.executable, "-m", "outlit_sandbox", *cli_args(config, host, port)],
        stdout=sp.PIPE,
        stderr=None,
        env=env,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = _read_line(proc, STARTUP_TIMEOUT)
        info = json.loads(line)
        handle = Sandbox(info["base_url"], info["api_key"], info["public_key"])
        try:
            yield handle
        finally:
            handle.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except sp.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _read_line(proc: sp.Popen[str], timeout: float) -> str:
    result: list[str] = []
    reader = threading.Thread(
        target=lambda: result.append(proc.stdout.readline() if proc.stdout else ""), daemon=True
    )
    reader.start()
    reader.join(timeout)
    if not result or not result[0].strip():
        proc.kill()
        raise RuntimeError(
            f"the sandbox child process did not report ready within {timeout}s (exit code {proc.poll()})"
        )
    return result[0]
