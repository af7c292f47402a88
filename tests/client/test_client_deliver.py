"""deliver(): the one delivery primitive for prepared events, on both clients (issue 13 item 2)."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import httpx
import pytest
import respx
from outlit_client_testlib import PUBLIC

from outlit_core.client import OutlitServerError, prepare_event

INGEST = f"/api/i/v1/{PUBLIC}/events"


def _prepared(n: int) -> list[Any]:
    events = [
        {"type": "pageview", "url": "https://a.io", "path": f"/{i}", "userId": f"u{i}"} for i in range(n)
    ]
    return [prepare_event(e, i) for i, e in enumerate(events)]


def _ok(request: httpx.Request) -> httpx.Response:
    sent = json.loads(request.content)["events"]
    return httpx.Response(200, json={"success": True, "processed": len(sent)})


@pytest.fixture(params=["sync", "threads", "async"])
def deliver(request: pytest.FixtureRequest, make_client, make_async_client) -> Any:
    """``deliver(events, **kwargs)`` on the blocking client (one batch at a time, then three on worker
    threads), then on the async one."""
    if request.param == "sync":
        return lambda events, **kw: make_client().deliver(events, **kw)
    if request.param == "threads":
        return lambda events, **kw: make_client().deliver(events, concurrency=1 if "stop" in kw else 3, **kw)

    def run(events: Any, **kw: Any) -> Any:
        async def go() -> Any:
            async with make_async_client() as client:
                # with a stop signal one batch at a time, so the signal falls between two batches
                return await client.deliver(events, concurrency=1 if "stop" in kw else 3, **kw)

        return asyncio.run(go())

    return run


def test_batches_and_reports_every_event(api: respx.MockRouter, deliver) -> None:
    route = api.post(INGEST).mock(side_effect=_ok)
    events = _prepared(250)
    report = deliver(events)
    assert route.call_count == 3 and report.batches == 3 and report.accepted == 250
    assert sorted(o.index for o in report.delivered) == list(range(250))
    assert all(len(json.loads(c.request.content)["events"]) <= 100 for c in route.calls)


def test_rejected_events_are_dropped_and_the_rest_resent(api: respx.MockRouter, deliver) -> None:
    refuse = {"success": False, "errors": [{"path": ["events", 1, "path"], "message": "bad path"}]}
    route = api.post(INGEST).mock(
        side_effect=[httpx.Response(400, json=refuse), httpx.Response(200, json={})]
    )
    events = _prepared(3)
    report = deliver(events)
    assert [o.index for o in report.rejected] == [1]
    assert report.rejected[0].path == ["path"] and report.rejected[0].message == "bad path"
    assert sorted(o.index for o in report.delivered) == [0, 2] and report.resends == 1
    assert len(json.loads(route.calls[1].request.content)["events"]) == 2


def test_duplicates_are_reported_where_outlit_says_so(api: respx.MockRouter, deliver) -> None:
    body = {"success": True, "processed": 1, "errors": [{"index": 0, "code": "duplicate", "message": "seen"}]}
    api.post(INGEST).respond(207, json=body)
    report = deliver(_prepared(2))
    assert [o.index for o in report.duplicates] == [0] and [o.index for o in report.delivered] == [1]
    assert report.accepted == 2


def test_the_stop_signal_is_checked_between_batches(api: respx.MockRouter, deliver) -> None:
    api.post(INGEST).mock(side_effect=_ok)
    stop = threading.Event()
    report = deliver(_prepared(300), stop=stop, on_batch=lambda batch: stop.set())
    assert report.stopped
    assert 1 <= report.batches < 3 and report.accepted == 100 * report.batches


def test_a_failure_carries_the_report_so_far(api: respx.MockRouter, make_client) -> None:
    api.post(INGEST).mock(side_effect=[_ok, httpx.Response(503, json={"success": False})])
    client = make_client(max_retries=0)
    with pytest.raises(OutlitServerError) as info:
        client.deliver(_prepared(150))
    partial = info.value.partial_result
    assert partial.accepted == 100 and len(partial.delivered) == 100
    assert len(partial.not_sent) == 50


def test_keep_delivered_false_keeps_only_the_problems(api: respx.MockRouter, deliver) -> None:
    refuse = {"success": False, "errors": [{"index": 0, "message": "no"}]}
    api.post(INGEST).mock(side_effect=[httpx.Response(400, json=refuse), _ok(_fake(1)), _ok(_fake(100))])
    report = deliver(_prepared(101), keep_delivered=False)
    assert report.accepted == 100 and [o.status for o in report.outcomes.values()] == ["rejected"]


def test_batches_are_finished_on_the_calling_thread(api: respx.MockRouter, deliver) -> None:
    """``on_batch`` may keep unlocked state (the reverse-load runner's pending events and ledger queue)."""
    api.post(INGEST).mock(side_effect=_ok)
    threads: set[str] = set()
    report = deliver(_prepared(450), on_batch=lambda batch: threads.add(threading.current_thread().name))
    assert threads == {threading.current_thread().name} and report.accepted == 450


def test_a_failure_with_batches_in_flight_records_them_all(api: respx.MockRouter, make_client) -> None:
    """After a failure the other batches in flight still finish, and every request is counted."""
    calls = iter(range(1000))

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={}) if next(calls) == 1 else _ok(request)

    api.post(INGEST).mock(side_effect=answer)
    seen: list[int] = []
    with pytest.raises(OutlitServerError) as info:
        make_client(max_retries=0).deliver(
            _prepared(400), concurrency=3, on_batch=lambda batch: seen.append(len(batch.outcomes))
        )
    partial = info.value.partial_result
    # every batch started was finished once, with all its events: delivered, or not_sent (the failed one)
    assert len(seen) >= 2 and seen == [100] * len(seen) and len(partial.outcomes) == 100 * len(seen)
    assert len(partial.not_sent) >= 100 and partial.accepted == len(partial.delivered)
    # one request per batch sent; the failed one counts too, and confirmed nothing
    assert partial.accepted == 100 * (partial.requests - 1)


def _fake(n: int) -> httpx.Request:
    return httpx.Request("POST", "https://x", json={"events": [{}] * n})
