"""Integration routes over time, plan connection limit, setup steps; platform actions with envelopes."""

from __future__ import annotations

from typing import Any

import outlit_sandbox


def test_list_and_capabilities(api: Any) -> None:
    items = api.http.get("/api/integrations").json()["items"]
    assert len(items) == 12
    connected = api.http.get("/api/integrations", params={"connectedOnly": "true"}).json()["items"]
    assert connected and all(i["status"] == "connected" for i in connected)
    failing = [i for i in connected if i["syncStatus"] == "FAILED"]
    assert len(failing) == 1 and failing[0]["errorMessage"]
    one = api.http.get("/api/integrations/capabilities", params={"provider": "gmail"}).json()["provider"]
    assert one["providerId"] == "google-mail" and one["setupMode"] == "browser_session"
    every = api.http.get("/api/integrations/capabilities").json()
    assert set(every) == {i["id"] for i in items}
    assert every["posthog"]["requiredFields"][0] == {"key": "apiKey", "label": "API Key", "secret": True}
    bad = api.http.get("/api/integrations/capabilities", params={"provider": "myspace"})
    assert bad.status_code == 400 and "hubspot" in bad.json()["error"]


def test_browser_session_moves_from_pending_to_connected(fresh_api: Any) -> None:
    h = fresh_api.http
    started = h.post("/api/integrations/connect", json={"provider": "attio"}).json()
    assert started["alreadyConnected"] is False and started["connectUrl"].startswith("http")
    polls = [
        h.get("/api/integrations/connect/status", params={"sessionId": started["sessionId"]}).json()
        for _ in range(3)
    ]
    assert [p["status"] for p in polls] == ["pending", "connected", "connected"]
    assert polls[0]["provider"] == "attio"
    syncs = [h.get("/api/integrations/sync-status", params={"provider": "attio"}).json() for _ in range(2)]
    assert {s["status"] for s in syncs[0]["syncs"]} == {"PENDING"}
    assert all(s["lastSyncedAt"] is None for s in syncs[0]["syncs"])
    assert {s["status"] for s in syncs[1]["syncs"]} == {"SUCCESS"}
    assert all(s["lastSyncedAt"] for s in syncs[1]["syncs"])
    # an unknown session is a bad parameter: openapi.json documents 200/400/401/500 for this route (no 404)
    # and api-overview.md's 400 is "Invalid request body or parameters"; the body is the ErrorResponse
    unknown = h.get("/api/integrations/connect/status", params={"sessionId": "nope"})
    assert unknown.status_code == 400 and "sessionId" in unknown.json()["error"]


def test_direct_connect_validates_credentials(fresh_api: Any) -> None:
    h = fresh_api.http
    missing = h.post("/api/integrations/connect", json={"provider": "posthog", "config": {"apiKey": "phx_1"}})
    assert missing.status_code == 400
    assert {tuple(d["path"]) for d in missing.json()["details"]} == {
        ("config", "region"),
        ("config", "projectId"),
    }
    ok = h.post(
        "/api/integrations/connect",
        json={"provider": "posthog", "config": {"apiKey": "phx_1", "region": "us", "projectId": "1"}},
    ).json()
    assert ok == {"connected": True, "connectionId": ok["connectionId"], "alreadyConnected": False}
    again = h.post(
        "/api/integrations/connect",
        json={"provider": "posthog", "config": {"apiKey": "x", "region": "eu", "projectId": "2"}},
    ).json()
    assert again["alreadyConnected"] is True
    assert "phx_1" not in h.get("/api/integrations").text  # credentials are never echoed


def test_connect_checks_the_config_before_anything_else(fresh_api: Any) -> None:
    """A direct-credential config needs each of the provider's requiredFields as a non-empty value, as
    Outlit's CLI checks before it sends (outlit-sdk packages/cli/src/commands/integrations/setup.ts,
    parseConfigOrExit: `fields.filter((field) => !config[field.key])`): refused even when the provider is
    already connected (stripe is), and a value the CLI would send (any non-empty string) is taken."""
    h = fresh_api.http
    empty = h.post("/api/integrations/connect", json={"provider": "stripe", "config": {"apiKey": ""}})
    assert empty.status_code == 400 and empty.json()["details"][0]["path"] == ["config", "apiKey"]
    spaced = h.post("/api/integrations/connect", json={"provider": "pylon", "config": {"apiToken": " x "}})
    assert spaced.status_code == 200 and spaced.json()["connected"] is True


def test_failing_provider_syncs_fail(fresh_api: Any) -> None:
    status = fresh_api.http.get("/api/integrations/sync-status", params={"provider": "hubspot"}).json()
    assert status["status"] == "connected"
    assert {s["status"] for s in status["syncs"]} == {"FAILED"} and all(
        s["errorMessage"] for s in status["syncs"]
    )
    idle = fresh_api.http.get("/api/integrations/sync-status", params={"provider": "clerk"}).json()
    assert idle == {
        "provider": "clerk",
        "name": "Clerk",
        "category": "analytics",
        "status": "not_connected",
        "syncs": [],
    }


def test_disconnect_and_not_connected(fresh_api: Any) -> None:
    h = fresh_api.http
    assert h.post("/api/integrations/disconnect", json={"provider": "stripe"}).json() == {"success": True}
    second = h.post("/api/integrations/disconnect", json={"provider": "stripe"})
    assert second.status_code == 404
    assert second.json() == {"success": False, "message": "Integration is not connected"}


def test_plan_connection_limit_is_403() -> None:
    with outlit_sandbox.running(
        seed=1, customers=2, events_per_customer=2, facts_per_customer=1, connection_limit=6
    ) as sb:
        import httpx

        with httpx.Client(base_url=sb.base_url, headers={"Authorization": f"Bearer {sb.api_key}"}) as h:
            assert (
                h.post(
                    "/api/integrations/connect", json={"provider": "clerk", "config": {"secretKey": "sk"}}
                ).status_code
                == 200
            )
            blocked = h.post(
                "/api/integrations/connect", json={"provider": "pylon", "config": {"apiToken": "t"}}
            )
            assert blocked.status_code == 403
            body = blocked.json()
            assert (
                body["code"] == "plan_connection_limit_exceeded"
                and body["feature"] == "integration_connections"
            )
            assert body["currentConnections"] == body["limit"] == 6


def test_setup_steps(fresh_api: Any) -> None:
    h = fresh_api.http
    mappings = h.post("/api/integrations/setup-step", json={"provider": "hubspot", "step": "mappings"}).json()
    assert mappings["status"] == "config_required" and mappings["pipelines"]
    saved = h.post(
        "/api/integrations/setup-step",
        json={"provider": "hubspot", "step": "mappings", "config": {"mappings": [{}]}},
    ).json()
    assert saved["status"] == "completed"
    hooks = h.post("/api/integrations/setup-step", json={"provider": "stripe", "step": "webhooks"}).json()
    assert hooks["status"] == "manual_setup_required" and hooks["webhookUrl"] and hooks["requiredEvents"]
    unsupported = h.post("/api/integrations/setup-step", json={"provider": "slack", "step": "mappings"})
    assert unsupported.status_code == 400 and unsupported.json()["details"][0]["path"] == ["step"]
    # openapi.json closes IntegrationSetupStepRequest to provider, step and config
    extra = h.post("/api/integrations/setup-step", json={"provider": "stripe", "step": "webhooks", "x": 1})
    assert extra.status_code == 400 and extra.json()["details"][0]["path"] == ["x"]


def test_setup_step_for_a_provider_not_connected_answers_its_status(fresh_api: Any) -> None:
    """A valid provider that is not connected is a state, not a bad request: integrations.md answers it with
    200 and `"status": "not_connected"` on the sync-status route, and Outlit's CLI reads the same status
    from its setup answers (outlit-sdk packages/cli/src/commands/integrations/setup.ts, SetupResponse
    `status: "not_connected" | ...`). setup-step's 200 is the "step-specific setup response" with a
    `status` (integrations.md: `config_required`), so the step answers the same way."""
    h = fresh_api.http
    answer = h.post("/api/integrations/setup-step", json={"provider": "pylon", "step": "webhook-setup"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["provider"] == "pylon" and body["step"] == "webhooks" and body["status"] == "not_connected"
    assert "outlit integrations setup pylon" in body["message"]
    assert (
        h.get("/api/integrations/sync-status", params={"provider": "pylon"}).json()["status"]
        == "not_connected"
    )


# ------------------------------------------------------------------------------------------ platform
def _ok(response: Any, command: str) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ok"] is True and body["commandId"] == command and body["commandVersion"] == 1
    assert body["result"]["status"] == "completed"
    return body["result"]


def _err(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["ok"] is False and body["error"]["code"] == code and body["error"]["correlationId"]
    return body["error"]


def test_agent_lifecycle(fresh_api: Any) -> None:
    h = fresh_api.http
    assert _ok(h.get("/api/agent-templates"), "agent.listTemplates")["data"]["templates"][0]["key"] == "churn"
    assert _ok(h.get("/api/agent-actions"), "agent.listAvailableActions")["data"]["actions"]
    created = _ok(h.post("/api/agents", json={"type": "template", "templateKey": "churn"}), "agent.create")
    agent = created["data"]["agent"]
    assert agent["status"] == "DISABLED" and created["warnings"]
    assert {r["type"] for r in created["resources"]} == {"agent", "signal", "automation"}
    _err(h.post("/api/agents", json={"type": "template", "templateKey": "churn"}), 409, "conflict")
    enabled = _ok(h.post(f"/api/agents/{agent['id']}/enable"), "agent.enable")["data"]["agent"]
    assert enabled["status"] == "ENABLED"
    renamed = _ok(
        h.post(f"/api/agents/{agent['id']}/rename", json={"displayName": "Churn v2"}), "agent.rename"
    )
    assert renamed["data"]["agent"]["displayName"] == "Churn v2"
    patched = _ok(
        h.patch(f"/api/agents/{agent['id']}", json={"actionKeys": ["create_crm_task"]}), "agent.update"
    )
    assert patched["data"]["agent"]["actionKeys"] == ["create_crm_task"]
    assert patched["data"]["agent"]["displayName"] == "Churn v2"  # patch keeps the other fields
    _err(h.patch(f"/api/agents/{agent['id']}", json={}), 400, "validation_failed")
    _err(h.get("/api/agents/nope"), 404, "not_found")
    custom = {"type": "custom", "displayName": "Renewal", "instructions": "Find", "surfaceCriteria": "Risky"}
    assert (
        _ok(h.post("/api/agents", json=custom), "agent.create")["data"]["agent"]["displayName"] == "Renewal"
    )
    _err(h.post("/api/agents", json={**custom, "actionKeys": ["launch_rockets"]}), 400, "validation_failed")
    # an update's actionKeys also name "action capabilities that an Outlit agent may reference" (openapi.json,
    # GET /api/agent-actions): the same unknown key is refused there, and the agent keeps its actions
    refused = _err(
        h.patch(f"/api/agents/{agent['id']}", json={"actionKeys": ["launch_rockets"]}),
        400,
        "validation_failed",
    )
    assert refused["details"]["path"] == ["actionKeys"]
    assert _ok(h.get(f"/api/agents/{agent['id']}"), "agent.get")["data"]["agent"]["actionKeys"] == [
        "create_crm_task"
    ]


def test_automations_signals_destinations(fresh_api: Any) -> None:
    h = fresh_api.http
    agent_id = _ok(h.get("/api/agents"), "agent.list")["data"]["agents"][0]["id"]
    dest = _ok(
        h.post("/api/destinations", json={"name": "Ops", "url": "https://hooks.example.com/secret-token"}),
        "destination.create",
    )["data"]["destination"]
    assert "secret-token" not in str(dest) and dest["maskedConfig"]["url"].endswith("/***")
    _err(
        h.post("/api/destinations", json={"name": "Plain", "url": "http://example.com/x"}),
        400,
        "validation_failed",
    )
    signal = _ok(
        h.post(
            "/api/signals",
            json={
                "kind": "EVENT_MATCH",
                "name": "Exports",
                "definition": {
                    "grain": "customer",
                    "subjectResolver": "event_customer",
                    "eventNames": ["report_exported"],
                },
            },
        ),
        "signal.create",
    )["data"]["signal"]
    body = {
        "agentId": agent_id,
        "name": "Export watch",
        "triggerType": "SIGNAL_OCCURRENCE",
        "signalIds": [signal["id"]],
        "destinationIds": [dest["id"]],
        "enabled": False,
    }
    auto = _ok(h.post("/api/automations", json=body), "automation.create")["data"]["automation"]
    assert auto["activeSignalCount"] == 1 and auto["activeDestinationCount"] == 1
    _ok(h.post(f"/api/destinations/{dest['id']}/disable"), "destination.disable")
    _err(h.post(f"/api/automations/{auto['id']}/enable"), 409, "conflict")  # its destination is unavailable
    _ok(h.post(f"/api/destinations/{dest['id']}/enable"), "destination.enable")
    assert _ok(h.post(f"/api/automations/{auto['id']}/enable"), "automation.enable")["data"]["automation"][
        "enabled"
    ]
    updated = _ok(
        h.patch(f"/api/automations/{auto['id']}", json={**body, "name": "Renamed"}), "automation.update"
    )
    assert updated["data"]["automation"]["name"] == "Renamed"
    archived = _ok(h.post(f"/api/automations/{auto['id']}/archive"), "automation.archive")["data"][
        "automation"
    ]
    assert archived["id"] == auto["id"] and archived["archivedAt"]
    _err(h.post(f"/api/automations/{auto['id']}/enable"), 409, "conflict")
    _err(
        h.post("/api/automations", json={**body, "agentId": "00000000-0000-4000-8000-000000000000"}),
        404,
        "not_found",
    )
    _ok(h.post(f"/api/signals/{signal['id']}/archive"), "signal.archive")
    listed = _ok(h.get("/api/signals"), "signal.list")["data"]["signals"]
    assert signal["id"] not in [s["id"] for s in listed]
    _ok(
        h.patch(f"/api/destinations/{dest['id']}", json={"type": "WEBHOOK_ENDPOINT", "name": "Ops 2"}),
        "destination.update",
    )
    _ok(h.post(f"/api/destinations/{dest['id']}/archive"), "destination.archive")
