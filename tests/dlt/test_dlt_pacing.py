"""``requests_per_second`` is the shared client's ``platform_rps``: one limiter paces every request of a run,
across resources and worker threads."""

from __future__ import annotations

import importlib
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from dlt_helpers import assert_matches_sandbox, duckdb_pipeline, run

from dlt_sources.outlit import helpers, outlit_source
from outlit_core.client import OutlitClient

source_module = importlib.import_module("dlt_sources.outlit.options")


class _Recording(OutlitClient):
    """The client the source builds, with its send times and platform-bucket reservations recorded."""

    instances: list[_Recording] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.sent: list[float] = []
        self.reserved = 0
        self.rate_asked = kwargs.get("platform_rps")
        outer = self

        class Stamp(httpx.HTTPTransport):
            def handle_request(self, request: httpx.Request) -> httpx.Response:
                outer.sent.append(time.monotonic())
                return super().handle_request(request)

        super().__init__(*args, transport=Stamp(), **kwargs)
        reserve = self.platform_limiter.reserve

        def counted(*a: Any) -> float:
            self.reserved += 1
            return reserve(*a)

        self.platform_limiter.reserve = counted  # type: ignore[method-assign]
        _Recording.instances.append(self)


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> list[_Recording]:
    _Recording.instances = []
    monkeypatch.setattr(source_module, "OutlitClient", _Recording)
    return _Recording.instances


def test_every_request_of_a_run_takes_a_token_of_the_one_client(
    fresh_sandbox: Any, tmp_path: Path, recording: list[_Recording]
) -> None:
    before = fresh_sandbox.stats()["requests_total"]
    pipeline = duckdb_pipeline(tmp_path)
    run(pipeline, fresh_sandbox, requests_per_second=10_000)
    sent = fresh_sandbox.stats()["requests_total"] - before
    assert len(recording) == 1, "all resources share one client"
    client = recording[0]
    assert client.rate_asked == 10_000 and client.platform_limiter.rate == 10_000
    assert client.reserved == sent
    assert_matches_sandbox(pipeline, fresh_sandbox)


def test_requests_of_all_workers_are_spaced_at_the_rate(
    fresh_sandbox: Any, tmp_path: Path, recording: list[_Recording]
) -> None:
    rate = 40.0
    run(duckdb_pipeline(tmp_path), fresh_sandbox, requests_per_second=rate, max_workers=4)
    sent = sorted(recording[0].sent)
    assert len(sent) > 10
    # burst=1: the n-th request of the run cannot leave before (n - 1) intervals after the first
    assert sent[-1] - sent[0] >= (len(sent) - 1) / rate - 0.02


def test_unpaced_by_default(fresh_sandbox: Any, tmp_path: Path, recording: list[_Recording]) -> None:
    run(duckdb_pipeline(tmp_path), fresh_sandbox)
    assert recording[0].rate_asked is None and recording[0].platform_limiter.rate is None


def test_a_client_passed_in_keeps_its_own_rate(fresh_sandbox: Any) -> None:
    with OutlitClient(fresh_sandbox.api_key, base_url=fresh_sandbox.base_url, platform_rps=5) as client:
        outlit_source(client=client, requests_per_second=5)  # the same rate: fine
        with pytest.raises(ValueError, match="platform_rps=10"):
            outlit_source(client=client, requests_per_second=10)


def test_shared_client_without_a_bound_passes_pages_through() -> None:
    shared = helpers.SharedClient(lambda: None)  # type: ignore[arg-type, return-value]
    pages = [{"n": 1, "pagination": {"nextCursor": "c"}}, {"n": 2}]
    assert list(shared.gated(iter(pages))) == pages


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
