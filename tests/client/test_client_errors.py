"""Every error shape Outlit uses maps to a typed exception carrying status, code, request id, retryable."""

from __future__ import annotations

import httpx
import pytest
import respx
from outlit_client_testlib import command_error

from outlit_core.client import exceptions as errors


@pytest.fixture
def make_client(make_any_client):
    """Every test here runs against both clients (they share one request flow, which this checks)."""
    return make_any_client


def test_hierarchy() -> None:
    for cls in (
        errors.OutlitAuthError,
        errors.OutlitPermissionError,
        errors.OutlitNotFoundError,
        errors.OutlitConflictError,
        errors.OutlitValidationError,
        errors.OutlitRateLimitError,
        errors.OutlitPlanLimitError,
        errors.OutlitServerError,
    ):
        assert issubclass(cls, errors.OutlitAPIError) and issubclass(cls, errors.OutlitError)
    assert issubclass(errors.OutlitTransportError, errors.OutlitError) and not issubclass(
        errors.OutlitTransportError, errors.OutlitAPIError
    )
    # refusals made before sending are input errors (also ValueErrors), not answers from Outlit
    for cls in (errors.OutlitUnknownToolError, errors.OutlitUnsafeQueryError):
        assert issubclass(cls, errors.OutlitInputError) and issubclass(cls, ValueError)
        assert not issubclass(cls, errors.OutlitValidationError)


def test_tool_400_keeps_field_details(api: respx.MockRouter, make_client) -> None:
    api.post("/api/tools/call").respond(
        400,
        json={"error": "Invalid tool input", "details": [{"path": ["limit"], "message": "Too big: <=1000"}]},
        headers={"x-request-id": "req_9"},
    )
    with pytest.raises(errors.OutlitValidationError) as info:
        make_client().call_tool("outlit_schema")
    exc = info.value
    assert exc.status_code == 400 and exc.request_id == "req_9" and not exc.retryable
    assert exc.details == [{"path": ["limit"], "message": "Too big: <=1000"}]
    assert "limit: Too big" in str(exc) and "tool outlit_schema" in str(exc)


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "validation_failed", errors.OutlitValidationError),
        (403, "authorization_denied", errors.OutlitPermissionError),
        (404, "not_found", errors.OutlitNotFoundError),
        (409, "conflict", errors.OutlitConflictError),
        (503, "transient_failure", errors.OutlitServerError),
    ],
)
def test_command_envelope_errors(api: respx.MockRouter, make_client, status, code, cls) -> None:
    api.get("/api/agents/a1").respond(status, json=command_error(code, "it failed", correlation="corr_7"))
    with pytest.raises(cls) as info:
        make_client(max_retries=0).platform_action("agents", "get", "a1")
    assert info.value.code == code and info.value.request_id == "corr_7" and info.value.status_code == status


def test_non_json_success_body_is_a_retryable_server_error(api: respx.MockRouter, make_client) -> None:
    route = api.get("/api/integrations")
    route.side_effect = [
        httpx.Response(200, text="<html>proxy</html>"),
        httpx.Response(200, json={"items": []}),
    ]
    assert make_client().list_integrations() == []


def test_platform_success_without_envelope_is_reported(api: respx.MockRouter, make_client) -> None:
    api.get("/api/agents").respond(200, json={"agents": []})
    with pytest.raises(errors.OutlitAPIError, match="command envelope"):
        make_client().platform_action("agents", "list")


PLAN_CONNECTIONS = {
    "error": "Your plan has reached its integration connection limit.",
    "code": "plan_connection_limit_exceeded",
    "feature": "integration_connections",
    "plan": "free",
    "currentConnections": 3,
    "limit": 3,
}
GATEWAY_403 = {
    "code": "TOOL_CALL_FORBIDDEN",
    "message": "missing grant",
    "retryable": False,
    "requestId": "rq_1",
}


@pytest.mark.parametrize(
    ("route", "answer", "call", "cls", "expected"),
    [
        pytest.param(
            ("POST", "/api/tools/call"),
            httpx.Response(403, json=GATEWAY_403),
            lambda c: c.call_tool("outlit_schema"),
            errors.OutlitPermissionError,
            {
                "code": "TOOL_CALL_FORBIDDEN",
                "request_id": "rq_1",
                "retryable": False,
                "says": "missing grant",
            },
            id="gateway-shape-of-the-later-contract",
        ),
        pytest.param(
            ("GET", "/api/signals"),
            httpx.Response(200, json=command_error("rate_limited", "slow down", retryable=False)),
            lambda c: c.platform_action("signals", "list"),
            errors.OutlitRateLimitError,
            {"code": "rate_limited"},
            id="envelope-ok-false-on-200",
        ),
        pytest.param(
            ("POST", "/api/integrations/connect"),
            httpx.Response(403, json=PLAN_CONNECTIONS),
            lambda c: c.connect_integration("stripe", {"apiKey": "rk_x"}),
            errors.OutlitPlanLimitError,
            {"limit": 3, "current": 3, "feature": "integration_connections", "retryable": False},
            id="plan-connection-limit-on-connect",
        ),
        pytest.param(
            ("GET", "/api/integrations"),
            httpx.Response(502, text="<html>Bad gateway</html>"),
            lambda c: c.list_integrations(),
            errors.OutlitServerError,
            {"status_code": 502, "retryable": True},
            id="non-json-error-body",
        ),
        pytest.param(
            ("GET", "/api/integrations"),
            httpx.Response(418, json={"error": "teapot"}),
            lambda c: c.list_integrations(),
            errors.OutlitAPIError,
            {"status_code": 418},
            id="unexpected-status-is-the-generic-api-error",
        ),
    ],
)
def test_error_shapes(api: respx.MockRouter, make_client, route, answer, call, cls, expected) -> None:
    api.route(method=route[0], path=route[1]).mock(return_value=answer)
    with pytest.raises(errors.OutlitError) as info:
        call(make_client(max_retries=0))
    assert type(info.value) is cls
    expected = dict(expected)
    assert expected.pop("says", "") in info.value.message
    assert {name: getattr(info.value, name) for name in expected} == expected
