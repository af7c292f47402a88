"""Retries: which failures are retried, how long the client waits, and when it gives up."""

from __future__ import annotations

import asyncio
from email.utils import formatdate

import httpx
import pytest
import respx
from outlit_client_testlib import NOW, command_error

from outlit_core.client import (
    OutlitAuthError,
    OutlitError,
    OutlitNotFoundError,
    OutlitPermissionError,
    OutlitPlanLimitError,
    OutlitRateLimitError,
    OutlitServerError,
    OutlitTransportError,
    OutlitValidationError,
    RetryPolicy,
)
from outlit_core.client.retry import parse_rate_limit_reset, parse_reset_at, parse_retry_after

OK_PAGE = {"items": [], "pagination": {"hasMore": False, "nextCursor": None}}
VALID = {"valid": True, "organizationId": "org_1", "createdById": None}


@pytest.fixture
def make_client(make_any_client):
    """Every test here runs against both clients (they share one request flow, which this checks)."""
    return make_any_client


def tool_route(api: respx.MockRouter) -> respx.Route:
    return api.post("/api/tools/call")


def test_backoff_is_capped_exponential_with_full_jitter() -> None:
    top = RetryPolicy(base_delay=0.5, max_delay=4.0, random=lambda: 1.0)
    assert [top.backoff(n) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    bottom = RetryPolicy(base_delay=0.5, max_delay=4.0, random=lambda: 0.0)
    assert bottom.backoff(3) == 0.0
    half = RetryPolicy(base_delay=0.5, max_delay=4.0, random=lambda: 0.5)
    assert half.backoff(2) == 1.0


def test_5xx_then_success_is_retried_with_backoff(api: respx.MockRouter, make_client, sleeps) -> None:
    tool_route(api).side_effect = [
        httpx.Response(500, json={"error": "boom"}),
        httpx.Response(502),
        httpx.Response(200, json=OK_PAGE),
    ]
    assert make_client().call_tool("outlit_list_customers") == OK_PAGE
    assert sleeps == [0.5, 1.0]


def test_gives_up_after_max_retries(api: respx.MockRouter, make_client, sleeps) -> None:
    route = tool_route(api).respond(503, json={"error": "down"})
    with pytest.raises(OutlitServerError) as info:
        make_client(max_retries=2).call_tool("outlit_schema")
    assert route.call_count == 3
    assert len(sleeps) == 2
    assert info.value.status_code == 503 and info.value.retryable


@pytest.mark.parametrize("body", [{"error": "nope"}, {"error": "nope", "retryable": True}])
@pytest.mark.parametrize(
    ("status", "exc"),
    [
        (400, OutlitValidationError),
        (401, OutlitAuthError),
        (403, OutlitPermissionError),
        (404, OutlitNotFoundError),
    ],
)
def test_client_errors_are_never_retried_even_if_the_body_says_retryable(
    api: respx.MockRouter, make_client, sleeps, status, exc, body
) -> None:
    route = tool_route(api).respond(status, json=body)
    with pytest.raises(exc) as info:
        make_client().call_tool("outlit_schema")
    assert route.call_count == 1 and sleeps == []
    assert info.value.retryable is False


@pytest.mark.parametrize(
    ("status", "code"), [(404, "not_found"), (400, "validation_failed"), (200, "not_found")]
)
def test_command_envelope_saying_retryable_is_not_retried_for_client_errors(
    api: respx.MockRouter, make_client, sleeps, status, code
) -> None:
    route = api.get("/api/agents/a1").respond(status, json=command_error(code, "gone", retryable=True))
    with pytest.raises(OutlitError) as info:
        make_client().platform_action("agents", "get", "a1")
    assert route.call_count == 1 and sleeps == []
    assert info.value.retryable is False


def test_retry_after_seconds_is_honoured(api: respx.MockRouter, make_client, sleeps) -> None:
    tool_route(api).side_effect = [
        httpx.Response(429, headers={"Retry-After": "7"}, json={"error": "slow down"}),
        httpx.Response(200, json=OK_PAGE),
    ]
    make_client().call_tool("outlit_schema")
    assert sleeps == [7.0]


def test_retry_after_http_date_is_honoured(api: respx.MockRouter, make_client, sleeps) -> None:
    tool_route(api).side_effect = [
        httpx.Response(503, headers={"Retry-After": formatdate(NOW + 12, usegmt=True)}),
        httpx.Response(200, json=OK_PAGE),
    ]
    make_client().call_tool("outlit_schema")
    assert sleeps == [12.0]


def test_x_ratelimit_reset_is_honoured(api: respx.MockRouter, make_client, sleeps) -> None:
    tool_route(api).side_effect = [
        httpx.Response(
            429, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW + 3))}, json={}
        ),
        httpx.Response(200, json=OK_PAGE),
    ]
    make_client().call_tool("outlit_schema")
    assert sleeps == [3.0]


def test_server_wait_longer_than_max_wait_is_raised_not_slept(
    api: respx.MockRouter, make_client, sleeps
) -> None:
    route = tool_route(api).respond(429, headers={"Retry-After": "3600"}, json={"error": "later"})
    with pytest.raises(OutlitRateLimitError) as info:
        make_client().call_tool("outlit_schema")
    assert route.call_count == 1 and sleeps == []
    assert info.value.retry_after == 3600.0


def test_plan_limit_with_far_reset_is_raised_at_once_with_reset_time(
    api: respx.MockRouter, make_client, sleeps
) -> None:
    reset_ms = int((NOW + 10 * 86400) * 1000)
    route = tool_route(api).respond(
        429,
        json={
            "error": "Your plan has exhausted its included API calls.",
            "code": "api_limit_exceeded",
            "plan": "free",
            "feature": "api_calls",
            "resetAt": reset_ms,
        },
    )
    with pytest.raises(OutlitPlanLimitError) as info:
        make_client().call_tool("outlit_schema")
    exc = info.value
    assert route.call_count == 1 and sleeps == []
    assert (exc.plan, exc.feature, exc.code) == ("free", "api_calls", "api_limit_exceeded")
    assert exc.reset_at is not None and exc.reset_at.timestamp() == reset_ms / 1000
    assert "resets at" in str(exc)


def test_plan_limit_with_near_reset_waits_until_then(api: respx.MockRouter, make_client, sleeps) -> None:
    tool_route(api).side_effect = [
        httpx.Response(
            429, json={"error": "limit", "code": "plan_api_limit_exceeded", "resetAt": (NOW + 20) * 1000}
        ),
        httpx.Response(200, json=OK_PAGE),
    ]
    make_client().call_tool("outlit_schema")
    assert sleeps == [20.0]


def test_plan_limit_402_is_not_retried(api: respx.MockRouter, make_client, sleeps) -> None:
    route = tool_route(api).respond(
        402, json={"error": "billing action required", "code": "plan_billing_action_required"}
    )
    with pytest.raises(OutlitPlanLimitError):
        make_client().call_tool("outlit_schema")
    assert route.call_count == 1 and sleeps == []


def test_plan_limit_without_reset_is_not_hot_looped(api: respx.MockRouter, make_client, sleeps) -> None:
    route = tool_route(api).respond(
        429, json={"error": "limit", "code": "api_limit_exceeded", "plan": "free"}
    )
    with pytest.raises(OutlitPlanLimitError):
        make_client().call_tool("outlit_schema")
    assert route.call_count == 1


def test_validate_api_key_503_is_retried_not_reported_as_invalid(api: respx.MockRouter, make_client) -> None:
    api.post("/api/validate-api-key").side_effect = [
        httpx.Response(503, json={"error": "unavailable"}),
        httpx.Response(503),
        httpx.Response(200, json=VALID),
    ]
    assert make_client().validate_api_key().organization_id == "org_1"


def test_connect_errors_are_retried_even_for_writes(api: respx.MockRouter, make_client, sleeps) -> None:
    tool_route(api).side_effect = [httpx.ConnectError("refused"), httpx.Response(200, json={"sent": True})]
    assert make_client().call_tool("outlit_send_notification", {"title": "hi"}) == {"sent": True}
    assert len(sleeps) == 1


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("dropped"),
        httpx.Response(500),
        httpx.Response(504),
    ],
    ids=["read-timeout", "dropped", "500", "504"],
)
def test_writes_are_not_retried_after_ambiguous_failure(api: respx.MockRouter, make_client, failure) -> None:
    route = tool_route(api)
    route.side_effect = [failure, httpx.Response(200, json={"sent": True})]
    with pytest.raises((OutlitTransportError, OutlitServerError)) as info:
        make_client().call_tool("outlit_send_notification", {"title": "hi"})
    assert route.call_count == 1
    assert info.value.ambiguous


def test_writes_are_retried_after_503_which_means_not_handled(api: respx.MockRouter, make_client) -> None:
    route = tool_route(api)
    route.side_effect = [
        httpx.Response(503, headers={"Retry-After": "2"}),
        httpx.Response(200, json={"sent": True}),
    ]
    assert make_client().call_tool("outlit_send_notification", {"title": "hi"}) == {"sent": True}
    assert route.call_count == 2


def test_writes_are_retried_after_ambiguous_failure_when_opted_in(api: respx.MockRouter, make_client) -> None:
    route = tool_route(api)
    route.side_effect = [httpx.ReadTimeout("slow"), httpx.Response(200, json={"sent": True})]
    assert make_client().call_tool("outlit_send_notification", {"title": "hi"}, retry_writes=True) == {
        "sent": True
    }
    assert route.call_count == 2


def test_policy_level_retry_writes(api: respx.MockRouter, make_client, policy) -> None:
    route = api.post("/api/agents/a1/enable")
    envelope = {
        "ok": True,
        "commandId": "agent.enable",
        "commandVersion": 1,
        "correlationId": "c",
        "result": {"data": {"id": "a1"}},
    }
    route.side_effect = [httpx.Response(502), httpx.Response(200, json=envelope)]
    client = make_client(retry=policy.replace(retry_writes=True))
    assert client.platform_action("agents", "enable", "a1") == {"id": "a1"}


def test_write_with_explicitly_retryable_envelope_is_retried(api: respx.MockRouter, make_client) -> None:
    route = api.post("/api/automations/x/disable")
    failure = {
        "ok": False,
        "commandId": "automation.disable",
        "commandVersion": 1,
        "error": {
            "code": "transient_failure",
            "message": "try again",
            "correlationId": "c1",
            "retryable": True,
        },
    }
    ok = {
        "ok": True,
        "commandId": "automation.disable",
        "commandVersion": 1,
        "correlationId": "c2",
        "result": {"data": {"x": 1}},
    }
    route.side_effect = [httpx.Response(503, json=failure), httpx.Response(200, json=ok)]
    assert make_client().platform_action("automations", "disable", "x") == {"x": 1}


def test_reads_are_retried_after_read_timeout(api: respx.MockRouter, make_client) -> None:
    tool_route(api).side_effect = [httpx.ReadTimeout("slow"), httpx.Response(200, json=OK_PAGE)]
    assert make_client().call_tool("outlit_list_customers") == OK_PAGE


def test_transport_error_after_all_retries_is_typed(api: respx.MockRouter, make_client) -> None:
    tool_route(api).side_effect = httpx.ConnectTimeout("no route")
    with pytest.raises(OutlitTransportError) as info:
        make_client(max_retries=1).call_tool("outlit_schema")
    assert info.value.retryable and not info.value.ambiguous and info.value.code == "ConnectTimeout"


def test_async_client_retries_with_injected_sleep(api: respx.MockRouter, make_async_client, sleeps) -> None:
    tool_route(api).side_effect = [
        httpx.Response(429, headers={"Retry-After": "2"}, json={}),
        httpx.Response(500),
        httpx.Response(200, json=OK_PAGE),
    ]

    async def run() -> dict:
        async with make_async_client() as client:
            return await client.call_tool("outlit_schema")

    assert asyncio.run(run()) == OK_PAGE
    assert sleeps == [2.0, 1.0]


def test_header_parsers() -> None:
    assert parse_retry_after("5", NOW) == 5.0
    assert parse_retry_after("garbage", NOW) is None
    assert parse_retry_after(None, NOW) is None
    assert parse_rate_limit_reset(str(int(NOW + 9)), NOW) == 9.0
    assert parse_rate_limit_reset(str(int((NOW + 9) * 1000)), NOW) == pytest.approx(9.0)
    assert parse_rate_limit_reset("4", NOW) == 4.0
    assert parse_rate_limit_reset(str(int(NOW - 50)), NOW) == 0.0
    assert parse_reset_at(1776124800000).year == 2026
    assert parse_reset_at("2026-04-14T00:00:00Z").month == 4
    assert parse_reset_at(None) is None and parse_reset_at(True) is None
