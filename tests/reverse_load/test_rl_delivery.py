"""deliver_batch on the answers the sandbox does not give: a 207 partial success, a 400 then 200, failures."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from outlit_core.client import OutlitClient, OutlitServerError
from outlit_core.reverse_load.delivery import deliver_batch, field_path

BASE = "https://outlit.test"
ROUTE = f"{BASE}/api/i/v1/pk_test/events"


def _events(n: int) -> list[dict]:
    return [
        {
            "type": "custom",
            "eventName": "e",
            "url": "server://t",
            "path": "/",
            "userId": f"u{i}",
            "uuid": f"00000000-0000-4000-8000-00000000000{i}",
        }
        for i in range(n)
    ]


def _client() -> OutlitClient:
    return OutlitClient(api_key="ok_test", public_key="pk_test", base_url=BASE, max_retries=0)


@respx.mock
def test_207_keeps_the_stored_events_and_rejects_the_named_one() -> None:
    respx.post(ROUTE).mock(
        return_value=httpx.Response(
            207, json={"success": False, "processed": 2, "errors": [{"index": 1, "message": "Invalid event"}]}
        )
    )
    with _client() as client:
        outcome = deliver_batch(client, _events(3))
    assert [e["userId"] for e in outcome.delivered] == ["u0", "u2"]
    assert [(e["userId"], message) for e, _path, message in outcome.rejected] == [("u1", "Invalid event")]
    assert outcome.requests == 1


@respx.mock
def test_400_resends_the_rest_with_the_same_uuids() -> None:
    bodies: list[dict] = []

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        bodies.append(body)
        if len(bodies) == 1:
            error = {"path": ["events", 2, "userId"], "message": "Too long"}
            return httpx.Response(400, json={"success": False, "message": "bad", "errors": [error]})
        return httpx.Response(200, json={"success": True, "processed": len(body["events"])})

    respx.post(ROUTE).mock(side_effect=answer)
    events = _events(4)
    with _client() as client:
        outcome = deliver_batch(client, events)
    assert [e["userId"] for e, *_ in outcome.rejected] == ["u2"]
    assert outcome.rejected[0][1] == "userId"
    assert [e["userId"] for e in outcome.delivered] == ["u0", "u1", "u3"]
    assert [e["uuid"] for e in bodies[1]["events"]] == [events[i]["uuid"] for i in (0, 1, 3)]
    assert (outcome.requests, outcome.retries) == (2, 1)


def test_field_path_drops_the_event_position() -> None:
    assert field_path(["events", 3, "traits", "plan"]) == "traits.plan"
    assert field_path(["email"]) == "email"
    assert field_path([]) is None


@respx.mock
def test_207_confirming_fewer_than_sent_resends_the_unconfirmed() -> None:
    route = respx.post(ROUTE)
    route.side_effect = [
        httpx.Response(
            207, json={"success": False, "processed": 1, "errors": [{"index": 0, "message": "Invalid event"}]}
        ),
        httpx.Response(200, json={"success": True, "processed": 2}),
    ]
    with _client() as client:
        outcome = deliver_batch(client, _events(3))
    assert [e["userId"] for e in outcome.delivered] == ["u1", "u2"]
    assert [e["userId"] for e, *_ in outcome.rejected] == ["u0"]
    assert [e["userId"] for e in json.loads(route.calls[1].request.content)["events"]] == ["u1", "u2"]
    assert (outcome.requests, outcome.retries) == (2, 1)


@respx.mock
def test_events_are_sent_as_prepared_without_a_second_check(monkeypatch) -> None:
    import outlit_core.client.sync as sync_module

    def refuse(*args, **kwargs):
        raise AssertionError("deliver_batch must not check the runner's events again")

    monkeypatch.setattr(sync_module, "prepare_event", refuse)
    respx.post(ROUTE).mock(return_value=httpx.Response(200, json={"success": True, "processed": 2}))
    with _client() as client:
        outcome = deliver_batch(client, _events(2))
    assert [e["userId"] for e in outcome.delivered] == ["u0", "u1"] and outcome.rejected == []


@respx.mock
def test_a_failure_after_retries_raises_so_nothing_is_recorded_as_delivered() -> None:
    respx.post(ROUTE).mock(return_value=httpx.Response(503, json={"success": False}))
    with _client() as client, pytest.raises(OutlitServerError) as info:
        deliver_batch(client, _events(2))
    assert [o.status for o in info.value.partial_result.outcomes.values()] == ["not_sent", "not_sent"]
