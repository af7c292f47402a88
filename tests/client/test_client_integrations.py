"""Integration routes: list, capabilities, connect, status, disconnect, sync status, setup step."""

from __future__ import annotations

import asyncio
import json

import pytest
import respx

from outlit_core.client import OutlitArgumentError, OutlitNotFoundError


def test_list_integrations_and_connected_only(api: respx.MockRouter, make_client) -> None:
    route = api.get("/api/integrations").respond(
        200, json={"items": [{"id": "stripe", "status": "connected"}]}
    )
    client = make_client()
    assert client.list_integrations() == [{"id": "stripe", "status": "connected"}]
    assert "connectedOnly" not in str(route.calls.last.request.url)
    client.list_integrations(connected_only=True)
    assert route.calls.last.request.url.params["connectedOnly"] == "true"


def test_capabilities_with_and_without_provider(api: respx.MockRouter, make_client) -> None:
    route = api.get("/api/integrations/capabilities").respond(200, json={"providers": []})
    client = make_client()
    client.integration_capabilities()
    assert "provider" not in route.calls.last.request.url.params
    client.integration_capabilities("gmail")  # CLI aliases are accepted here
    assert route.calls.last.request.url.params["provider"] == "gmail"


def test_connect_direct_and_browser_session(api: respx.MockRouter, make_client) -> None:
    route = api.post("/api/integrations/connect")
    route.respond(200, json={"connected": True, "connectionId": "posthog-org", "alreadyConnected": False})
    client = make_client()
    out = client.connect_integration("posthog", {"apiKey": "phx_1", "region": "us", "projectId": "1"})
    assert out["connected"] is True
    assert json.loads(route.calls.last.request.content) == {
        "provider": "posthog",
        "config": {"apiKey": "phx_1", "region": "us", "projectId": "1"},
    }
    route.respond(200, json={"sessionId": "s-1", "connectUrl": "https://app.outlit.ai/integrations"})
    assert client.connect_integration("slack")["sessionId"] == "s-1"
    assert json.loads(route.calls.last.request.content) == {"provider": "slack"}


def test_connection_status_and_sync_status(api: respx.MockRouter, make_client) -> None:
    status = api.get("/api/integrations/connect/status").respond(
        200, json={"status": "pending", "provider": "slack"}
    )
    sync = api.get("/api/integrations/sync-status").respond(200, json={"provider": "stripe", "syncs": []})
    client = make_client()
    assert client.connection_status("s-1")["status"] == "pending"
    assert status.calls.last.request.url.params["sessionId"] == "s-1"
    assert client.sync_status("stripe")["provider"] == "stripe"
    assert sync.calls.last.request.url.params["provider"] == "stripe"


def test_disconnect_not_connected_is_not_found(api: respx.MockRouter, make_client) -> None:
    api.post("/api/integrations/disconnect").respond(
        404, json={"success": False, "message": "Integration is not connected"}
    )
    with pytest.raises(OutlitNotFoundError, match="not connected"):
        make_client().disconnect_integration("stripe")


def test_setup_step(api: respx.MockRouter, make_client) -> None:
    route = api.post("/api/integrations/setup-step").respond(200, json={"status": "config_required"})
    make_client().run_setup_step("hubspot", "mappings", {"mappings": []})
    assert json.loads(route.calls.last.request.content) == {
        "provider": "hubspot",
        "step": "mappings",
        "config": {"mappings": []},
    }


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda c: c.connect_integration("strpe", {"apiKey": "x"}), "Did you mean 'stripe'"),
        (lambda c: c.sync_status("gmail"), "google-mail"),
        (lambda c: c.connect_integration("stripe", {}), "non-empty mapping"),
        (lambda c: c.connection_status(""), "sessionId"),
        (lambda c: c.run_setup_step("hubspot", ""), "step"),
        (lambda c: c.disconnect_integration(None), "provider"),
    ],
)
def test_bad_arguments_are_refused_before_sending(api: respx.MockRouter, make_client, call, match) -> None:
    with pytest.raises(OutlitArgumentError, match=match):
        call(make_client())
    assert not api.calls


def test_async_integrations(api: respx.MockRouter, make_async_client) -> None:
    api.get("/api/integrations").respond(200, json={"items": [{"id": "slack"}]})

    async def run():
        async with make_async_client() as client:
            return await client.list_integrations(connected_only=True)

    assert asyncio.run(run()) == [{"id": "slack"}]
