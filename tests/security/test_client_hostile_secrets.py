"""A server that echoes the API key back, and logs that could show keys (issue 11 items 14 and 15).

Whatever field of an answer reaches an exception (message, code, requestId, X-Request-Id, correlationId,
details, plan fields) is scrubbed of the API key, in str, repr, a formatted traceback and a pickle round
trip. The client keeps the key only inside a SecretStr. httpx's INFO request lines show the ingest URL with
the public key masked.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import traceback
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from outlit_core.client import AsyncOutlitClient, OutlitClient, OutlitError, RetryPolicy

BASE = "https://app.outlit.ai"
KEY = "ok_live_ECHOED_SECRET_9f8e7d6c5b4a"
PUBLIC = "pk_live_PUBLICKEY_abcdef123456"


def _policy() -> RetryPolicy:
    return RetryPolicy(sleep=lambda s: None, random=lambda: 0.0, max_retries=0)


def _texts(exc: BaseException) -> list[str]:
    back = pickle.loads(pickle.dumps(exc))
    return [
        str(exc),
        repr(exc),
        "".join(traceback.format_exception(exc)),
        repr(vars(exc)),
        repr(exc.args),
        str(back),
        repr(back),
        repr(vars(back)),
    ]


ECHOES = [
    ("plain code", 400, {"error": "bad", "code": KEY}, {}),
    ("requestId", 500, {"error": "boom", "requestId": f"req-{KEY}"}, {}),
    ("X-Request-Id", 503, {"error": "down"}, {"X-Request-Id": KEY}),
    ("X-Correlation-Id", 404, {"error": "nope"}, {"X-Correlation-Id": f"c/{KEY}"}),
    (
        "envelope",
        409,
        {"ok": False, "error": {"code": KEY, "message": KEY, "correlationId": KEY, "details": [KEY]}},
        {},
    ),
    ("details", 400, {"error": "Invalid tool input", "details": [{"path": [KEY], "message": KEY}]}, {}),
    (
        "plan",
        429,
        {"error": "limit", "code": "api_limit_exceeded", "plan": KEY, "feature": KEY, "resetAt": KEY},
        {},
    ),
]


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize(("name", "status", "body", "headers"), ECHOES, ids=[e[0] for e in ECHOES])
@respx.mock(base_url=BASE, assert_all_called=False)
def test_an_echoed_key_never_reaches_an_exception(
    kind: str, name: str, status: int, body: Any, headers: dict[str, str], respx_mock: respx.MockRouter
) -> None:
    respx_mock.post("/api/tools/call").respond(status, json=body, headers=headers)
    with pytest.raises(OutlitError) as info:
        if kind == "sync":
            with OutlitClient(KEY, retry=_policy()) as client:
                client.call_tool("outlit_schema")
        else:

            async def run() -> None:
                async with AsyncOutlitClient(KEY, retry=_policy()) as client:
                    await client.call_tool("outlit_schema")

            asyncio.run(run())
    for text in _texts(info.value):
        assert KEY not in text, text


@respx.mock(base_url=BASE, assert_all_called=False)
def test_a_transport_error_echoing_the_key_is_scrubbed_in_every_form(respx_mock: respx.MockRouter) -> None:
    respx_mock.post("/api/tools/call").mock(side_effect=httpx.ConnectError(f"proxy said {KEY}"))
    with OutlitClient(KEY, retry=_policy()) as client, pytest.raises(OutlitError) as info:
        client.call_tool("outlit_schema")
    for text in _texts(info.value):
        assert KEY not in text, text


def _strings(value: Any, depth: int = 0, seen: set[int] | None = None) -> list[str]:
    """Every str reachable from ``value`` through attributes, dicts and sequences (SecretStr not opened)."""
    seen = set() if seen is None else seen
    if id(value) in seen or depth > 6 or isinstance(value, SecretStr):
        return []
    seen.add(id(value))
    if isinstance(value, str):
        return [value]
    if isinstance(value, bytes):
        return [value.decode("latin-1")]
    out: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _strings(k, depth + 1, seen) + _strings(v, depth + 1, seen)
    elif isinstance(value, list | tuple | set | frozenset):
        for v in value:
            out += _strings(v, depth + 1, seen)
    elif hasattr(value, "__dict__") and not isinstance(value, type):
        out += _strings(vars(value), depth + 1, seen)
    return out


@respx.mock(base_url=BASE, assert_all_called=False)
def test_the_client_holds_the_key_only_in_a_secret_holder(respx_mock: respx.MockRouter) -> None:
    respx_mock.post("/api/validate-api-key").respond(200, json={"valid": True, "organizationId": "org_1"})
    with OutlitClient(KEY, public_key=PUBLIC) as client:
        client.validate_api_key()  # a request has been built and sent
        assert KEY not in repr(vars(client._core))
        leaks = [s for s in _strings(client._core) if KEY in s]
        assert not leaks
        assert not [s for s in _strings(client.config) if KEY in s]


@respx.mock(base_url=BASE, assert_all_called=False)
def test_httpx_request_lines_mask_the_public_key(
    respx_mock: respx.MockRouter, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    respx_mock.post(f"/api/i/v1/{PUBLIC}/events").respond(200, json={"success": True, "processed": 1})
    # what `outlit-etl -v` turns on; other test areas (Airflow's logging config) may have quieted httpx
    httpx_logger = logging.getLogger("httpx")
    monkeypatch.setattr(httpx_logger, "disabled", False)
    monkeypatch.setattr(httpx_logger, "propagate", True)
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.INFO, logger="httpx")
    with OutlitClient(KEY, public_key=PUBLIC) as client:
        client.send_events([{"type": "pageview", "url": "https://a.io", "path": "/", "email": "a@b.io"}])
    lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert lines, "httpx logs each request at INFO"
    assert all(PUBLIC not in line for line in lines), lines
    assert any("/api/i/v1/pk_" in line for line in lines)
    assert PUBLIC not in caplog.text and KEY not in caplog.text


@respx.mock(base_url=BASE, assert_all_called=False)
def test_ingest_errors_name_the_route_with_the_public_key_masked(respx_mock: respx.MockRouter) -> None:
    respx_mock.post(f"/api/i/v1/{PUBLIC}/events").mock(side_effect=httpx.ConnectError("refused"))
    with OutlitClient(KEY, public_key=PUBLIC, retry=_policy()) as client, pytest.raises(OutlitError) as info:
        client.send_events([{"type": "pageview", "url": "https://a.io", "path": "/", "email": "a@b.io"}])
    assert PUBLIC not in str(info.value) and "app.outlit.ai" in str(info.value)
