"""DEBUG logs name the route or tool, status, latency and attempt, and never the API key."""

from __future__ import annotations

import logging

import httpx
import pytest
import respx
from outlit_client_testlib import KEY


def test_debug_log_lines(api: respx.MockRouter, make_client, caplog: pytest.LogCaptureFixture) -> None:
    api.post("/api/tools/call").side_effect = [httpx.Response(503), httpx.Response(200, json={"views": []})]
    caplog.set_level(logging.DEBUG, logger="outlit_core.client")
    make_client().call_tool("outlit_schema")
    lines = [r.getMessage() for r in caplog.records if r.name == "outlit_core.client"]
    assert any("tool outlit_schema -> 503" in line and "(attempt 1)" in line for line in lines), lines
    assert any(
        "tool outlit_schema -> 200" in line and "(attempt 2)" in line and " ms " in line for line in lines
    )
    assert any("retry 1/5" in line for line in lines)


def test_no_log_record_anywhere_contains_the_key(api: respx.MockRouter, make_client, caplog) -> None:
    api.post("/api/validate-api-key").respond(200, json={"valid": True, "organizationId": "o"})
    api.post("/api/tools/call").respond(500, json={"error": "x"})
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included
    client = make_client(max_retries=1)
    client.validate_api_key()
    with pytest.raises(Exception):  # noqa: B017 - any failure; only the logs matter here
        client.call_tool("outlit_schema")
    assert caplog.records
    assert KEY not in caplog.text
    assert all(KEY not in repr(r.args) for r in caplog.records)


@pytest.mark.parametrize("failure", [httpx.ReadTimeout("slow"), httpx.ConnectError("refused")])
def test_debug_log_line_for_attempts_failing_in_transport(
    api: respx.MockRouter, make_any_client, caplog: pytest.LogCaptureFixture, failure: httpx.TransportError
) -> None:
    api.post("/api/tools/call").side_effect = [failure, httpx.Response(200, json={"views": []})]
    caplog.set_level(logging.DEBUG, logger="outlit_core.client")
    make_any_client().call_tool("outlit_schema")
    lines = [r.getMessage() for r in caplog.records if r.name == "outlit_core.client"]
    name = type(failure).__name__
    assert any(f"tool outlit_schema -> {name} in " in line and " ms (attempt 1)" in line for line in lines)
    assert any("tool outlit_schema -> 200" in line and "(attempt 2)" in line for line in lines), lines
