"""Platform actions: the (resource, action) route table, validation, and result.data."""

from __future__ import annotations

import asyncio
import json

import pytest
import respx
from outlit_client_testlib import envelope

from outlit_core.client import (
    PLATFORM_ROUTES,
    OutlitArgumentError,
    platform_actions,
    resolve_platform_route,
)
from tests.conftest import spec_path

PLATFORM_PREFIXES = ("/api/agents", "/api/agent-", "/api/automations", "/api/signals", "/api/destinations")


def test_route_table_matches_the_openapi_paths() -> None:
    spec = json.loads(spec_path("OUTLIT_OPENAPI_SPEC").read_text())
    documented = {
        (method.upper(), path, "requestBody" in op)
        for path, ops in spec["paths"].items()
        if path.startswith(PLATFORM_PREFIXES)
        for method, op in ops.items()
        if method in ("get", "post", "patch", "put", "delete")
    }
    ours = {(r.method, r.path, r.body) for r in PLATFORM_ROUTES.values()}
    assert ours == documented


def test_resources_and_actions() -> None:
    actions = platform_actions()
    assert actions["signals"] == ["list", "get", "create", "update", "archive"]
    assert actions["agents"] == ["list", "get", "create", "update", "enable", "disable", "rename"]
    assert actions["agent-templates"] == ["list"]
    assert ("signals", "enable") not in PLATFORM_ROUTES
    assert ("agents", "archive") not in PLATFORM_ROUTES


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("signals", "enable", "s1"), "valid actions for signals: list, get, create, update, archive"),
        (("agent", "list"), "Did you mean 'agents'"),
        (("agents", "get"), "needs resource_id"),
        (("agents", "list", "a1"), "takes no resource_id"),
        (("agents", "create"), "needs a non-empty JSON object"),
        (("agents", "rename", "a1", {"name": "x"}), "displayName"),
        (("agents", "enable", "a1", {"x": 1}), "takes no body"),
    ],
)
def test_invalid_calls_are_refused_with_the_fix(args, match) -> None:
    with pytest.raises(OutlitArgumentError, match=match):
        resolve_platform_route(*args)


def test_list_returns_result_data(api: respx.MockRouter, make_client) -> None:
    api.get("/api/automations").respond(200, json=envelope({"automations": [{"id": "au1"}]}))
    assert make_client().platform_action("automations", "list") == {"automations": [{"id": "au1"}]}


def test_update_patches_with_body_and_quotes_the_id(api: respx.MockRouter, make_client) -> None:
    route = api.patch("/api/agents/a%2F1").respond(200, json=envelope({"agent": {"id": "a/1"}}))
    data = make_client().platform_action("agents", "update", "a/1", {"instructions": "Be brief"})
    assert data == {"agent": {"id": "a/1"}}
    request = route.calls.last.request
    assert json.loads(request.content) == {"instructions": "Be brief"}
    assert request.headers["content-type"] == "application/json"


def test_lifecycle_post_has_no_body(api: respx.MockRouter, make_client) -> None:
    route = api.post("/api/destinations/d1/archive").respond(200, json=envelope({"archived": True}))
    assert make_client().platform_action("destinations", "archive", "d1") == {"archived": True}
    assert route.calls.last.request.content == b""


def test_writes_are_not_retried_after_500(api: respx.MockRouter, make_client) -> None:
    from outlit_core.client import OutlitServerError

    route = api.post("/api/signals").respond(500, json={"error": "boom"})
    with pytest.raises(OutlitServerError):
        make_client().platform_action("signals", "create", body={"name": "x"})
    assert route.call_count == 1


def test_async_platform_action(api: respx.MockRouter, make_async_client) -> None:
    api.get("/api/agent-templates").respond(200, json=envelope({"templates": []}))

    async def run():
        async with make_async_client() as client:
            return await client.platform_action("agent-templates", "list")

    assert asyncio.run(run()) == {"templates": []}
