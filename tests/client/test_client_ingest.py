"""Ingest: sending, rejections and resends, partial results, send_prepared (per-event checks and batching:
test_client_event_checks.py)."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest
import respx
from outlit_client_testlib import PUBLIC, ev

from outlit_core.client import (
    MAX_BATCH_BYTES,
    DeliveryReport,
    IngestResult,
    OutlitEventError,
    OutlitPermissionError,
    OutlitServerError,
    OutlitTransportError,
    OutlitValidationError,
)
from outlit_core.client.events import prepare_event

INGEST = f"/api/i/v1/{PUBLIC}/events"


def accept_all(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    return httpx.Response(200, json={"success": True, "processed": len(body["events"])})


# --- sending ---------------------------------------------------------------------------------------------


def test_send_events_posts_batches_without_auth_header(api: respx.MockRouter, make_client) -> None:
    route = api.post(INGEST).mock(side_effect=accept_all)
    result = make_client().send_events((ev(i) for i in range(205)), customer_identity={"customerId": "c1"})
    assert (result.accepted, result.rejected, result.requests, result.batches) == (205, [], 3, 3)
    first = route.calls[0].request
    assert "authorization" not in first.headers
    body = json.loads(first.content)
    assert body["source"] == "server" and body["customerIdentity"] == {"customerId": "c1"}
    uuids = [e["uuid"] for call in route.calls for e in json.loads(call.request.content)["events"]]
    assert len(set(uuids)) == 205


def test_400_naming_events_drops_them_and_resends_the_rest(api: respx.MockRouter, make_client) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        events = json.loads(request.content)["events"]
        bad = [
            {"path": ["events", i, "eventName"], "message": "Reserved event name"}
            for i, e in enumerate(events)
            if e["eventName"] in ("e2", "e5")
        ]
        if bad:
            return httpx.Response(400, json={"success": False, "message": "Invalid payload", "errors": bad})
        return httpx.Response(200, json={"success": True, "processed": len(events)})

    route = api.post(INGEST).mock(side_effect=handler)
    events = [ev(i) for i in range(8)]
    result = make_client().send_events(events)
    assert result.accepted == 6
    assert [(r.index, r.path, r.message) for r in result.rejected] == [
        (2, ["eventName"], "Reserved event name"),
        (5, ["eventName"], "Reserved event name"),
    ]
    assert route.call_count == 2
    resent = json.loads(route.calls[1].request.content)["events"]
    first = json.loads(route.calls[0].request.content)["events"]
    assert [e["uuid"] for e in resent] == [e["uuid"] for i, e in enumerate(first) if i not in (2, 5)]


def test_207_partial_success_reports_indexes(api: respx.MockRouter, make_client) -> None:
    api.post(INGEST).respond(
        207,
        json={"success": False, "processed": 2, "errors": [{"index": 1, "message": "Invalid event type"}]},
    )
    events = [ev(0), ev(1, uuid="00000000-0000-4000-8000-000000000001"), ev(2)]
    result = make_client().send_events(events)
    assert result.accepted == 2 and result.requests == 1
    assert [(r.index, r.uuid, r.message) for r in result.rejected] == [
        (1, "00000000-0000-4000-8000-000000000001", "Invalid event type")
    ]


def test_client_side_rejections_keep_caller_indexes_across_batches(
    api: respx.MockRouter, make_client
) -> None:
    route = api.post(INGEST).mock(side_effect=accept_all)
    events = [ev(i) for i in range(150)]
    events[120] = {"type": "billing", "url": "u", "path": "/", "status": "paid"}
    result = make_client().send_events(events)
    assert result.accepted == 149 and [r.index for r in result.rejected] == [120]
    assert route.call_count == 2


INACTIVE = [{"index": -1, "message": "Invalid or inactive tracking configuration"}]
BAD_CONFIG = [{"index": -1, "message": "bad config"}]
BAD_SOURCE = [{"path": ["source"], "message": "bad"}]
NOT_IN_BATCH = [{"path": ["events", 9, "type"], "message": "bad"}]


@pytest.mark.parametrize(
    ("status", "message", "errors", "cls", "says"),
    [
        (403, None, INACTIVE, OutlitPermissionError, "public key"),
        (207, None, BAD_CONFIG, OutlitValidationError, "bad config"),
        (400, "Invalid payload", BAD_SOURCE, OutlitValidationError, "Invalid payload"),
        (400, "x", NOT_IN_BATCH, OutlitValidationError, "not in it"),
    ],
    ids=[
        "403-index-minus-one",
        "207-index-minus-one",
        "400-not-naming-events",
        "400-events-not-in-the-batch",
    ],
)
def test_answers_about_the_whole_request_raise(
    api: respx.MockRouter, make_client, status: int, message: str | None, errors: list, cls: type, says: str
) -> None:
    body = {"success": False, "processed": 0, "errors": errors}
    api.post(INGEST).respond(status, json=body if message is None else {**body, "message": message})
    with pytest.raises(cls, match=says):
        make_client().send_events([ev()])


def test_429_and_5xx_are_retried_with_the_same_uuids(api: respx.MockRouter, make_client, sleeps) -> None:
    route = api.post(INGEST)
    route.side_effect = [
        httpx.Response(429, headers={"Retry-After": "1"}, json={"success": False, "message": "slow"}),
        httpx.ReadTimeout("slow"),
        httpx.Response(200, json={"success": True, "processed": 2}),
    ]
    result = make_client().send_events([ev(0), ev(1)])
    assert result.accepted == 2 and result.retries == 2 and result.requests == 3
    bodies = [json.loads(c.request.content)["events"] for c in route.calls]
    assert bodies[0] == bodies[1] == bodies[2]
    assert 1.0 in sleeps


def test_send_batch_is_one_request_and_reports_resend(api: respx.MockRouter, make_client) -> None:
    api.post(INGEST).respond(
        400,
        json={
            "success": False,
            "message": "x",
            "errors": [{"path": ["events", 0, "email"], "message": "Invalid email"}],
        },
    )
    result = make_client().send_batch([ev(0, email="x@acme.io"), ev(1), {"type": "nope"}])
    assert result.accepted == 0 and result.resend == [1]
    assert [(r.index, r.client_side) for r in result.rejected] == [(0, False), (2, True)]


def test_send_batch_refuses_oversized_input(api: respx.MockRouter, make_client) -> None:
    with pytest.raises(OutlitEventError, match="send_events"):
        make_client().send_batch([ev(i) for i in range(101)])
    assert not api.calls


def test_event_bigger_than_a_request_is_rejected_not_sent(api: respx.MockRouter, make_client) -> None:
    route = api.post(INGEST).mock(side_effect=accept_all)
    result = make_client().send_events([ev(0), ev(1, properties={"blob": "x" * MAX_BATCH_BYTES})])
    assert result.accepted == 1 and result.rejected[0].index == 1 and "bytes" in result.rejected[0].message
    assert route.call_count == 1


def test_invalid_source_is_refused(make_client) -> None:
    with pytest.raises(OutlitEventError, match="source"):
        make_client().send_events([ev()], source="browser")


def test_rate_limit_headers_slow_the_next_request(api: respx.MockRouter, make_client, sleeps) -> None:
    from outlit_client_testlib import NOW

    api.post(INGEST).respond(
        200,
        json={"success": True, "processed": 100},
        headers={
            "X-RateLimit-Limit": "100",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(int(NOW + 1)),
        },
    )
    make_client().send_events(ev(i) for i in range(200))
    assert any(w >= 0.9 for w in sleeps), sleeps


def test_async_send_events_with_concurrency(api: respx.MockRouter, make_async_client) -> None:
    route = api.post(INGEST).mock(side_effect=accept_all)

    async def run():
        async with make_async_client() as client:
            return await client.send_events((ev(i) for i in range(450)), concurrency=3)

    result = asyncio.run(run())
    assert result.accepted == 450 and result.batches == 5 and route.call_count == 5


def test_async_send_batch_and_resend(api: respx.MockRouter, make_async_client) -> None:
    route = api.post(INGEST)
    route.side_effect = [
        httpx.Response(
            400,
            json={"success": False, "message": "x", "errors": [{"path": ["events", 1], "message": "bad"}]},
        ),
        httpx.Response(200, json={"success": True, "processed": 1}),
    ]

    async def run():
        async with make_async_client() as client:
            return await client.send_events([ev(0), ev(1)])

    result = asyncio.run(run())
    assert result.accepted == 1 and [r.index for r in result.rejected] == [1]


# --- the 400 `errors[].index` shape ------------------------------------------------------------------------


def _index_400(request: httpx.Request) -> httpx.Response:
    """Refuses every event named "e1" with the index-shaped 400 (no path)."""
    events = json.loads(request.content)["events"]
    bad = [{"index": i, "message": "Invalid event"} for i, e in enumerate(events) if e["eventName"] == "e1"]
    if bad:
        return httpx.Response(400, json={"success": False, "message": "Invalid payload", "errors": bad})
    return httpx.Response(200, json={"success": True, "processed": len(events)})


def test_400_with_error_indexes_drops_the_named_events_and_resends_the_rest(
    api: respx.MockRouter, make_client
) -> None:
    route = api.post(INGEST).mock(side_effect=_index_400)
    result = make_client().send_events([ev(0), ev(1), ev(2)])
    assert result.accepted == 2 and route.call_count == 2
    assert [(r.index, r.path, r.message, r.client_side) for r in result.rejected] == [
        (1, [], "Invalid event", False)
    ]
    assert [e["eventName"] for e in json.loads(route.calls[1].request.content)["events"]] == ["e0", "e2"]


def test_async_400_with_error_indexes_drops_the_named_events_and_resends_the_rest(
    api: respx.MockRouter, make_async_client
) -> None:
    route = api.post(INGEST).mock(side_effect=_index_400)

    async def run():
        async with make_async_client() as client:
            return await client.send_events([ev(0), ev(1), ev(2)])

    result = asyncio.run(run())
    assert result.accepted == 2 and [r.index for r in result.rejected] == [1] and route.call_count == 2


def test_400_with_request_level_index_still_raises(api: respx.MockRouter, make_client) -> None:
    api.post(INGEST).respond(400, json={"success": False, "errors": [{"index": -1, "message": "bad config"}]})
    with pytest.raises(OutlitValidationError):
        make_client().send_events([ev()])


# --- partial results on failure --------------------------------------------------------------------------


def test_send_events_failure_carries_what_was_delivered(api: respx.MockRouter, make_client) -> None:
    route = api.post(INGEST)
    route.side_effect = [
        httpx.Response(200, json={"success": True, "processed": 100}),
        httpx.Response(
            207, json={"success": False, "processed": 9, "errors": [{"index": 3, "message": "x"}]}
        ),
        httpx.Response(503, json={"success": False, "message": "down"}),
    ]
    with pytest.raises(OutlitServerError) as info:
        make_client(max_retries=0).send_events(ev(i) for i in range(250))
    partial = info.value.partial_result
    assert isinstance(partial, IngestResult)
    # batch 1 whole; batch 2's 207 confirmed only 9 of the 99 events it did not reject, so those 99 were
    # resent as unconfirmed, and that resend failed: none of them counts as accepted
    assert partial.accepted == 100 and [r.index for r in partial.rejected] == [103]
    # three requests went out (the one that failed for good is counted too) in two batches
    assert partial.requests == 3 and partial.batches == 2


def test_async_send_events_failure_carries_what_was_delivered(
    api: respx.MockRouter, make_async_client
) -> None:
    api.post(INGEST).side_effect = [
        httpx.Response(200, json={"success": True, "processed": 100}),
        httpx.Response(500, json={"success": False, "message": "boom"}),
    ]

    async def run():
        async with make_async_client(max_retries=0) as client:
            return await client.send_events(ev(i) for i in range(150))

    with pytest.raises(OutlitServerError) as info:
        asyncio.run(run())
    assert info.value.partial_result.accepted == 100


# --- send_prepared ----------------------------------------------------------------------------------------


def _prepared(n: int) -> list[dict]:
    return [{**ev(i), "uuid": str(uuid.UUID(int=i + 1))} for i in range(n)]


def test_send_prepared_reports_each_uuid_after_a_400_and_resend(api: respx.MockRouter, make_client) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        events = json.loads(request.content)["events"]
        if len(events) == 3:
            error = {"path": ["events", 1, "email"], "message": "Invalid email"}
            return httpx.Response(400, json={"success": False, "message": "x", "errors": [error]})
        return httpx.Response(200, json={"success": True, "processed": len(events)})

    route = api.post(INGEST).mock(side_effect=handler)
    events = _prepared(3)
    report = make_client().send_prepared(events)
    assert list(report.outcomes) == [e["uuid"] for e in events]
    assert [(o.index, o.status, o.path, o.message) for o in report.outcomes.values()] == [
        (0, "delivered", [], None),
        (1, "rejected", ["email"], "Invalid email"),
        (2, "delivered", [], None),
    ]
    assert (report.requests, report.retries, report.resends) == (2, 0, 1)
    assert [e["uuid"] for e in json.loads(route.calls[1].request.content)["events"]] == [
        events[0]["uuid"],
        events[2]["uuid"],
    ]


def test_send_prepared_does_not_check_events_again(
    api: respx.MockRouter, make_client, monkeypatch: pytest.MonkeyPatch
) -> None:
    import outlit_core.client.events as events_module
    import outlit_core.client.sync as sync_module

    def refuse(*args, **kwargs):
        raise AssertionError("send_prepared must not re-check prepared events")

    monkeypatch.setattr(sync_module, "prepare_event", refuse)
    monkeypatch.setattr(events_module, "prepare_event", refuse)
    api.post(INGEST).mock(side_effect=accept_all)
    checked = [prepare_event(ev(0)), _prepared(2)[1]]  # a PreparedEvent and a checked dict
    report = make_client().send_prepared(checked)
    assert [o.status for o in report.outcomes.values()] == ["delivered", "delivered"]


def test_send_prepared_resends_events_a_207_did_not_confirm(api: respx.MockRouter, make_client) -> None:
    route = api.post(INGEST)
    route.side_effect = [
        httpx.Response(
            207, json={"success": False, "processed": 1, "errors": [{"index": 0, "message": "no"}]}
        ),
        httpx.Response(200, json={"success": True, "processed": 2}),
    ]
    report = make_client().send_prepared(_prepared(3))
    assert [o.status for o in report.outcomes.values()] == ["rejected", "delivered", "delivered"]
    assert len(json.loads(route.calls[1].request.content)["events"]) == 2


def test_send_prepared_failure_reports_not_sent(api: respx.MockRouter, make_client) -> None:
    api.post(INGEST).side_effect = [
        httpx.Response(400, json={"success": False, "errors": [{"index": 0, "message": "no"}]}),
        httpx.ReadTimeout("slow"),
    ]
    with pytest.raises(OutlitTransportError) as info:
        make_client(max_retries=0).send_prepared(_prepared(2))
    report = info.value.partial_result
    assert isinstance(report, DeliveryReport)
    assert [o.status for o in report.outcomes.values()] == ["rejected", "not_sent"]


@pytest.mark.parametrize(
    ("events", "match"),
    [
        ([ev(0)], "no uuid"),
        (_prepared(1) * 2, "repeats uuid"),
        (_prepared(101), "at most 100"),
    ],
)
def test_send_prepared_refuses_unprepared_input(api: respx.MockRouter, make_client, events, match) -> None:
    with pytest.raises(OutlitEventError, match=match):
        make_client().send_prepared(events)
    assert not api.calls


def test_async_send_prepared(api: respx.MockRouter, make_async_client) -> None:
    api.post(INGEST).mock(side_effect=_index_400)

    async def run():
        async with make_async_client() as client:
            return await client.send_prepared(_prepared(3))

    report = asyncio.run(run())
    assert [o.status for o in report.outcomes.values()] == ["delivered", "rejected", "delivered"]
