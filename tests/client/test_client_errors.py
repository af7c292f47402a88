"""Every error shape Outlit uses maps to a typed exception carrying status, code, request id, retryable."""

from __future__ import annotations

import httpx
import pytest
import respx
from outlit_client_testlib import command_error

from outlit_core.client import (
    OutlitAPIError,
    OutlitAuthError,
    OutlitConflictError,
    OutlitError,
    OutlitInputError,
    OutlitNotFoundError,
    OutlitPermissionError,
    OutlitPlanLimitError,
    OutlitRateLimitError,
    OutlitServerError,
    OutlitTransportError,
    OutlitUnknownToolError,
    OutlitUnsafeQueryError,
    OutlitValidationError,
)


@pytest.fixture
def make_client(make_any_client):
    """Every test here runs against both clients (they share one request flow, which this checks)."""
    return make_any_client


def test_hierarchy() -> None:
    for cls in (
        OutlitAuthError,
        OutlitPermissionError,
        OutlitNotFoundError,
        OutlitConflictError,
        OutlitValidationError,
        OutlitRateLimitError,
        OutlitPlanLimitError,
        OutlitServerError,
    ):
        assert issubclass(cls, OutlitAPIError) and issubclass(cls, OutlitError)
    assert issubclass(OutlitTransportError, OutlitError) and not issubclass(
        OutlitTransportError, OutlitAPIError
    )
    # refusals made before sending are input errors (also ValueErrors), not answers from Outlit
    for cls in (OutlitUnknownToolError, OutlitUnsafeQueryError):
        assert issubclass(cls, OutlitInputError) and issubclass(cls, ValueError)
        assert not issubclass(cls, OutlitValidationError)


def test_tool_400_keeps_field_details(api: respx.MockRouter, make_client) -> None:
    api.post("/api/tools/call").respond(
        400,
        json={"error": "Invalid tool input", "details": [{"path": ["limit"], "message": "Too big: <=1000"}]},
        headers={"x-request-id": "req_9"},
    )
    with pytest.raises(OutlitValidationError) as info:
        make_client().call_tool("outlit_schema")
    exc = info.value
    assert exc.status_code == 400 and exc.request_id == "req_9" and not exc.retryable
    assert exc.details == [{"path": ["limit"], "message": "Too big: <=1000"}]
    assert "limit: Too big" in str(exc) and "tool outlit_schema" in str(exc)


def test_gateway_error_shape_of_the_later_contract(api: respx.MockRouter, make_client) -> None:
    api.post("/api/tools/call").respond(
        403,
        json={
            "code": "TOOL_CALL_FORBIDDEN",
            "message": "missing grant",
            "retryable": False,
            "requestId": "rq_1",
        },
    )
    with pytest.raises(OutlitPermissionError) as info:
        make_client().call_tool("outlit_schema")
    assert (info.value.code, info.value.request_id, info.value.message.endswith("missing grant")) == (
        "TOOL_CALL_FORBIDDEN",
        "rq_1",
        True,
    )


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "validation_failed", OutlitValidationError),
        (403, "authorization_denied", OutlitPermissionError),
        (404, "not_found", OutlitNotFoundError),
        (409, "conflict", OutlitConflictError),
        (503, "transient_failure", OutlitServerError),
    ],
)
def test_command_envelope_errors(api: respx.MockRouter, make_client, status, code, cls) -> None:
    api.get("/api/agents/a1").respond(status, json=command_error(code, "it failed", correlation="corr_7"))
    with pytest.raises(cls) as info:
        make_client(max_retries=0).platform_action("agents", "get", "a1")
    assert info.value.code == code and info.value.request_id == "corr_7" and info.value.status_code == status


def test_envelope_with_ok_false_on_200_is_still_an_error(api: respx.MockRouter, make_client) -> None:
    api.get("/api/signals").respond(200, json=command_error("rate_limited", "slow down", retryable=False))
    with pytest.raises(OutlitRateLimitError):
        make_client().platform_action("signals", "list")


def test_plan_connection_limit_on_connect(api: respx.MockRouter, make_client) -> None:
    api.post("/api/integrations/connect").respond(
        403,
        json={
            "error": "Your plan has reached its integration connection limit.",
            "code": "plan_connection_limit_exceeded",
            "feature": "integration_connections",
            "plan": "free",
            "currentConnections": 3,
            "limit": 3,
        },
    )
    with pytest.raises(OutlitPlanLimitError) as info:
        make_client().connect_integration("stripe", {"apiKey": "rk_x"})
    assert (info.value.limit, info.value.current, info.value.feature) == (3, 3, "integration_connections")
    assert not info.value.retryable


def test_non_json_error_body(api: respx.MockRouter, make_client) -> None:
    api.get("/api/integrations").respond(502, text="<html>Bad gateway</html>")
    with pytest.raises(OutlitServerError) as info:
        make_client(max_retries=0).list_integrations()
    assert info.value.status_code == 502 and info.value.retryable


def test_non_json_success_body_is_a_retryable_server_error(api: respx.MockRouter, make_client) -> None:
    route = api.get("/api/integrations")
    route.side_effect = [
        httpx.Response(200, text="<html>proxy</html>"),
        httpx.Response(200, json={"items": []}),
    ]
    assert make_client().list_integrations() == []


def test_unexpected_status_is_generic_api_error(api: respx.MockRouter, make_client) -> None:
    api.get("/api/integrations").respond(418, json={"error": "teapot"})
    with pytest.raises(OutlitAPIError) as info:
        make_client().list_integrations()
    assert type(info.value) is OutlitAPIError and info.value.status_code == 418


def test_platform_success_without_envelope_is_reported(api: respx.MockRouter, make_client) -> None:
    api.get("/api/agents").respond(200, json={"agents": []})
    with pytest.raises(OutlitAPIError, match="command envelope"):
        make_client().platform_action("agents", "list")
