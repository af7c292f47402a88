"""``requests_per_second``: one limiter paces every request of a run, across resources and worker threads."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from dlt_helpers import assert_matches_sandbox, duckdb_pipeline, run

from dlt_sources.outlit import helpers, outlit_source
from outlit_provider.client import OutlitClient
from outlit_provider.client.ratelimit import RateLimiter


class _Counting(RateLimiter):
    instances: list[_Counting] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.acquired = 0
        self._count_lock = threading.Lock()
        _Counting.instances.append(self)

    def acquire(self) -> float:
        with self._count_lock:
            self.acquired += 1
        return super().acquire()


def test_every_request_of_a_run_takes_a_token(
    fresh_sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _Counting.instances = []
    monkeypatch.setattr(helpers, "RateLimiter", _Counting)
    before = fresh_sandbox.stats()["requests_total"]
    pipeline = duckdb_pipeline(tmp_path)
    run(pipeline, fresh_sandbox, requests_per_second=10_000)
    sent = fresh_sandbox.stats()["requests_total"] - before
    assert len(_Counting.instances) == 1, "all resources share one limiter"
    assert _Counting.instances[0].acquired == sent
    assert_matches_sandbox(pipeline, fresh_sandbox)


def test_the_limiter_spaces_requests_at_the_rate() -> None:
    waits: list[float] = []

    class _Fake:
        def close(self) -> None:
            pass

    shared = helpers.SharedClient(lambda: _Fake(), requests_per_second=4, sleep=waits.append)  # type: ignore[arg-type, return-value]
    pages = [{"n": i, "pagination": {"nextCursor": f"c{i + 1}" if i < 8 else None}} for i in range(9)]
    assert list(shared.paced(iter(pages))) == pages
    # the clock does not move while the fake sleep returns at once, so each wait is one interval longer;
    # the first request uses the one token the bucket starts with
    assert len(waits) == 8
    assert waits[-1] == pytest.approx(8 / 4, abs=0.05)


def test_unpaced_by_default() -> None:
    shared = helpers.SharedClient(lambda: None)  # type: ignore[arg-type, return-value]
    pages = [{"n": 1}, {"n": 2}]
    assert list(shared.paced(iter(pages))) == pages


class _InFlight(httpx.BaseTransport):
    """Counts the requests open at once across all threads of a run."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.open = 0
        self.peak = 0
        self.total = 0
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.open += 1
            self.total += 1
            self.peak = max(self.peak, self.open)
        try:
            response = self.inner.handle_request(request)
            response.read()
            return response
        finally:
            with self._lock:
                self.open -= 1


@pytest.mark.parametrize("max_workers", [1, 3])
def test_max_workers_bounds_requests_in_flight_across_the_whole_run(
    fresh_sandbox: Any, tmp_path: Path, max_workers: int
) -> None:
    transport = _InFlight()
    client = OutlitClient(fresh_sandbox.api_key, base_url=fresh_sandbox.base_url, transport=transport)
    with client:
        duckdb_pipeline(tmp_path).run(
            outlit_source(client=client, include_sources=True, max_workers=max_workers)
        )
    assert transport.total > 2 * len(fresh_sandbox.dataset()["customers"])
    assert transport.peak <= max_workers
