"""Construction, environment variables, transport security and keeping the API key secret."""

from __future__ import annotations

import logging
import pickle

import httpx
import pytest
import respx
from outlit_client_testlib import BASE, KEY, PUBLIC

from outlit_core import __version__
from outlit_core.client import (
    ClientConfig,
    OutlitAuthError,
    OutlitClient,
    OutlitConfigurationError,
    OutlitError,
    OutlitServerError,
)


def test_from_env_reads_the_three_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTLIT_API_KEY", KEY)
    monkeypatch.setenv("OUTLIT_PUBLIC_KEY", PUBLIC)
    monkeypatch.setenv("OUTLIT_BASE_URL", "http://127.0.0.1:8999/")
    with OutlitClient.from_env() as client:
        assert client.config.base_url == "http://127.0.0.1:8999"
        assert client.config.public_key == PUBLIC
        assert client.config.require_api_key() == KEY


def test_from_env_arguments_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTLIT_API_KEY", "ok_from_env")
    with OutlitClient.from_env(api_key=KEY, base_url="https://eu.outlit.example") as client:
        assert client.config.require_api_key() == KEY
        assert client.config.base_url == "https://eu.outlit.example"


def test_default_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OUTLIT_BASE_URL", raising=False)
    with OutlitClient(KEY) as client:
        assert client.config.base_url == "https://app.outlit.ai"


@pytest.mark.parametrize(
    "url", ["http://localhost:8000", "http://127.0.0.1", "http://[::1]:9000", "https://x.io"]
)
def test_allowed_base_urls(url: str) -> None:
    ClientConfig.create(KEY, base_url=url)


def test_plain_http_to_remote_host_is_refused_unless_allowed() -> None:
    with pytest.raises(OutlitConfigurationError, match="allow_insecure_http"):
        ClientConfig.create(KEY, base_url="http://outlit.internal")
    assert ClientConfig.create(KEY, base_url="http://outlit.internal", allow_insecure_http=True)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"base_url": "ftp://x"}, "not an http"),
        ({"base_url": "https://user:pw@x.io"}, "credentials"),
        ({"public_key": "ok_not_public"}, "pk_"),
        ({"timeout": 0}, "timeout"),
        ({"max_retries": -1}, "max_retries"),
        ({"ingest_rps": 0}, "ingest_rps"),
    ],
)
def test_bad_settings_name_the_field(kwargs: dict, match: str) -> None:
    with pytest.raises(OutlitConfigurationError, match=match):
        ClientConfig.create(KEY, **kwargs)


def test_api_key_with_whitespace_is_refused_without_echoing_it() -> None:
    with pytest.raises(OutlitConfigurationError) as info:
        ClientConfig.create(KEY + "\n")
    assert KEY not in str(info.value)


def test_api_key_pasted_as_public_key_is_not_echoed() -> None:
    with pytest.raises(OutlitConfigurationError) as info:
        ClientConfig.create(KEY, public_key=KEY)
    text = str(info.value) + repr(info.value)
    assert KEY not in text and KEY[3:12] not in text
    assert "public_key" in text and "'ok_'" in text and "pk_" in text


def test_missing_api_key_fails_at_first_platform_call_with_a_clear_message(api: respx.MockRouter) -> None:
    with (
        OutlitClient(public_key=PUBLIC) as client,
        pytest.raises(OutlitConfigurationError, match="OUTLIT_API_KEY"),
    ):
        client.validate_api_key()
    assert not api.calls


def test_missing_public_key_fails_before_ingest(api: respx.MockRouter) -> None:
    with OutlitClient(KEY) as client, pytest.raises(OutlitConfigurationError, match="OUTLIT_PUBLIC_KEY"):
        client.send_events([{"type": "pageview", "url": "https://a.io", "path": "/"}])
    assert not api.calls


def test_key_never_appears_in_repr_str_or_pickles(make_client) -> None:
    client = make_client()
    for text in (repr(client), str(client), repr(client.config), str(client.config.api_key)):
        assert KEY not in text
    assert KEY not in repr(client.config.__dict__)


def test_user_agent_names_the_package_and_version(api: respx.MockRouter, make_client) -> None:
    route = api.post("/api/validate-api-key").respond(200, json={"valid": True, "organizationId": "org_1"})
    make_client().validate_api_key()
    agent = route.calls.last.request.headers["user-agent"]
    assert agent.startswith(f"outlit-connector/{__version__}")
    assert route.calls.last.request.headers["authorization"] == f"Bearer {KEY}"


def test_server_echoing_the_key_is_scrubbed_from_errors_and_logs(
    api: respx.MockRouter, make_client, caplog: pytest.LogCaptureFixture
) -> None:
    api.post("/api/validate-api-key").respond(401, json={"valid": False, "error": f"key {KEY} is disabled"})
    caplog.set_level(logging.DEBUG)
    with pytest.raises(OutlitAuthError) as info:
        make_client().validate_api_key()
    exc = info.value
    for text in (
        str(exc),
        repr(exc),
        exc.message,
        repr(exc.details),
        caplog.text,
        repr(pickle.loads(pickle.dumps(exc))),
    ):
        assert KEY not in text
    assert "[REDACTED]" in exc.message


def test_transport_error_text_is_scrubbed(make_client) -> None:
    def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"refused while sending {request.headers['authorization']}")

    client = make_client(transport=httpx.MockTransport(boom), max_retries=0, base_url=BASE)
    with pytest.raises(OutlitError) as info:
        client.validate_api_key()
    assert KEY not in str(info.value)


def test_exceptions_survive_pickling_with_their_fields() -> None:
    exc = OutlitServerError("boom", status_code=503, code="x", request_id="r1", retryable=True)
    back = pickle.loads(pickle.dumps(exc))
    assert (back.status_code, back.code, back.request_id, back.retryable) == (503, "x", "r1", True)
    assert str(back) == str(exc)


def test_from_env_accepts_a_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTLIT_API_KEY", KEY)
    monkeypatch.delenv("OUTLIT_BASE_URL", raising=False)
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={"valid": True, "organizationId": "org_env"})

    with OutlitClient.from_env(transport=httpx.MockTransport(handler)) as client:
        assert client.validate_api_key().organization_id == "org_env"
    assert seen == ["https://app.outlit.ai/api/validate-api-key"]


def test_api_key_info_reads_grants_of_the_later_contract(api: respx.MockRouter, make_client) -> None:
    api.post("/api/validate-api-key").respond(
        200,
        json={
            "valid": True,
            "organizationId": "org_1",
            "createdById": "user_1",
            "organization": {"id": "org_1", "name": "Acme", "slug": "acme"},
            "apiKey": {
                "id": "k1",
                "name": "etl",
                "prefix": "ok_live",
                "keyType": "ci",
                "grants": ["analytics:read"],
            },
            "authorization": {"grants": ["customer_intelligence:read", "analytics:read"]},
        },
    )
    info = make_client().validate_api_key()
    assert info.grants == ["customer_intelligence:read", "analytics:read"]
    assert (info.organization_name, info.key_name, info.key_type, info.created_by_id) == (
        "Acme",
        "etl",
        "ci",
        "user_1",
    )


def test_validate_api_key_with_valid_false_is_an_auth_error(api: respx.MockRouter, make_client) -> None:
    api.post("/api/validate-api-key").respond(200, json={"valid": False, "error": "Invalid credentials"})
    with pytest.raises(OutlitAuthError):
        make_client().validate_api_key()


def test_async_client_from_env_with_async_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from outlit_core.client import AsyncOutlitClient

    monkeypatch.setenv("OUTLIT_API_KEY", KEY)
    monkeypatch.delenv("OUTLIT_BASE_URL", raising=False)

    async def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == f"Bearer {KEY}"
        return httpx.Response(200, json={"valid": True, "organizationId": "org_async"})

    async def run() -> tuple[str, str]:
        async with AsyncOutlitClient.from_env(transport=httpx.MockTransport(handler)) as client:
            return (await client.validate_api_key()).organization_id, repr(client)

    org, text = asyncio.run(run())
    assert org == "org_async" and KEY not in text
