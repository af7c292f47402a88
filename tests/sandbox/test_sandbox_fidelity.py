"""What Outlit's own clients send and read, answered as Outlit does (issue 9).

Each test names the Outlit behaviour it follows and where it is written down: the reference files in
``../shared/reference/outlit/`` (``official/`` holds what Outlit's CLI and SDK packages are built on).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

import outlit_sandbox

SMALL = {"customers": 4, "events_per_customer": 10, "facts_per_customer": 2}


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_capabilities_carry_every_field_outlits_cli_reads(api: Any) -> None:
    """official/cli-providers.ts `ProviderCapability`: the CLI reads connectSupported (missing = cannot
    connect), authType, displayName, category, notes; integrations.md shows pylon's webhook step required."""
    everything = api.http.get("/api/integrations/capabilities").json()
    for pid, cap in everything.items():
        assert cap["connectSupported"] is True, pid
        assert cap["displayName"] and cap["category"] and cap["notes"] == []
        direct = cap["setupMode"] == "direct_api_key"
        assert cap["authType"] == ("api_key" if direct else "oauth")
        assert all(step["label"] for step in cap["postConnectSteps"])
    pylon = api.http.get("/api/integrations/capabilities", params={"provider": "pylon"}).json()["provider"]
    assert pylon["displayName"] == "Pylon" and pylon["postConnectSteps"][0]["required"] is True


def test_cli_setup_flows_for_pylon_and_attio(fresh_api: Any) -> None:
    """What `outlit integrations setup pylon` (without/with --config) and `... setup attio` call, in the
    order the CLI of this API revision calls them (capabilities -> integrations?connectedOnly=true ->
    connect), reaching config_required / connected / awaiting_auth instead of "unsupported"."""
    h = fresh_api.http
    pylon = h.get("/api/integrations/capabilities", params={"provider": "pylon"}).json()["provider"]
    assert pylon["connectSupported"] and pylon["setupMode"] == "direct_api_key"
    connected = h.get("/api/integrations", params={"connectedOnly": "true"}).json()["items"]
    assert "pylon" not in {i["id"] for i in connected}  # -> the CLI answers config_required
    done = h.post("/api/integrations/connect", json={"provider": "pylon", "config": {"apiToken": "t"}})
    assert done.json() == {"connected": True, "connectionId": "pylon-org_sandbox", "alreadyConnected": False}
    attio = h.get("/api/integrations/capabilities", params={"provider": "attio"}).json()["provider"]
    assert attio["connectSupported"] and attio["setupMode"] != "direct_api_key"
    session = h.post("/api/integrations/connect", json={"provider": "attio"}).json()
    assert session["sessionId"] and session["connectUrl"]  # -> awaiting_auth
    # `--force` reconnects an integration that is already connected
    again = h.post("/api/integrations/connect", json={"provider": "pylon", "config": {"apiToken": "t"}})
    assert again.json()["alreadyConnected"] is True
    forced = h.post(
        "/api/integrations/connect", json={"provider": "pylon", "config": {"apiToken": "t"}, "force": True}
    )
    assert forced.json()["alreadyConnected"] is False


def test_connected_only_is_true_only_for_true(api: Any) -> None:
    """integrations.md: `connectedOnly` "When `true`, only returns currently connected integrations"; any
    other value lists everything (the spec documents no 400 for this route)."""
    everything = api.http.get("/api/integrations").json()["items"]
    for value in ("yes", "1", "TRUE", "false", ""):
        response = api.http.get("/api/integrations", params={"connectedOnly": value})
        assert response.status_code == 200 and response.json()["items"] == everything
    connected = api.http.get("/api/integrations", params={"connectedOnly": "true"}).json()["items"]
    assert connected and all(i["status"] == "connected" for i in connected)
    assert len(connected) < len(everything)


def test_send_notification_takes_the_official_contract(fresh_api: Any) -> None:
    """official/tool-contracts.ts `outlit_send_notification`: destinationIds (1-10 uuids), markdown up to
    100,000 characters, payload serialized up to 100,000 characters, no other keys."""
    dest = fresh_api.sb.dataset()["destinations"][0]
    out = fresh_api.tool(
        "outlit_send_notification", {"title": "Churn", "markdown": "x" * 100_000, "destinationIds": [dest]}
    )
    assert out["success"] is True and out["destinations"] == [dest]
    for bad in (
        {"markdown": "x" * 100_001},
        {"markdown": "m", "destinationIds": []},
        {"markdown": "m", "destinationIds": [dest] * 11},
        {"markdown": "m", "destinationIds": ["not-a-uuid"]},
        {"markdown": "m", "destinations": ["slack"]},  # not a field of the contract
        {"payload": "x" * 100_001},
    ):
        fresh_api.tool("outlit_send_notification", {"title": "t", **bad}, status=400)


def test_send_notification_needs_only_what_the_contract_requires(fresh_api: Any) -> None:
    """official/tool-contracts.ts `outlit_send_notification`: `required: ["title"]`, so a title alone is a
    notification; a destination id that names no destination is a resource not found (the tool gateway's
    404 of openapi-tool-contracts.json, as for an unknown customer), not invalid input."""
    out = fresh_api.tool("outlit_send_notification", {"title": "Churn risk"})
    assert out["success"] is True and out["destinations"] == ["slack"]
    missing = str(uuid.uuid4())
    body = fresh_api.tool("outlit_send_notification", {"title": "t", "destinationIds": [missing]}, status=404)
    assert body["details"][0]["path"] == ["destinationIds", 0] and missing in body["error"]


def test_browser_batches_with_session_id_are_accepted(fresh_api: Any) -> None:
    """official @outlit/browser builds every batch with a top-level `sessionId` beside `visitorId`; the
    later revision's IngestPayload (openapi-tool-contracts.json) lists it, and userIdentity.fingerprint."""
    body = {
        "visitorId": str(uuid.uuid4()),
        "sessionId": str(uuid.uuid4()),
        "source": "client",
        "userIdentity": {"email": "ada@acme.com", "fingerprint": "dev_1"},
        "events": [{"type": "pageview", "url": "https://acme.com/pricing", "path": "/pricing"}],
    }
    response = fresh_api.ingest(body)
    assert response.status_code == 200, response.text


def test_identity_in_double_underscore_properties(fresh_api: Any) -> None:
    """Outlit's Rust crate puts a custom event's identity in properties.__email/__userId/__fingerprint
    (crates/outlit/src/builders.rs), the Node SDK does for stage events; Outlit resolves it from there."""
    body = {
        "source": "server",
        "events": [
            {
                "type": "custom",
                "eventName": "report_run",
                "url": "server://ada@acme.com",
                "path": "/",
                "uuid": str(uuid.uuid4()),
                "properties": {"__email": "ada@acme.com", "__userId": "u-77", "__fingerprint": None},
            }
        ],
    }
    response = fresh_api.ingest(body)
    assert response.status_code == 200, response.text
    row = fresh_api.tool(
        "outlit_query",
        {"sql": "SELECT contact_email, user_id, customer_id FROM activity WHERE event_name = 'report_run'"},
    )["data"]
    acme = fresh_api.tool("outlit_get_customer", {"customer": "acme.com"})["customer"]["id"]
    assert row == [{"contact_email": "ada@acme.com", "user_id": "u-77", "customer_id": acme}]


def _server(fresh_api: Any, *events: dict[str, Any]) -> None:
    body = {"source": "server", "events": [{"url": "server://x", "path": "/", **e} for e in events]}
    response = fresh_api.ingest(body)
    assert response.status_code == 200, response.text


def test_billing_keyed_by_domain_changes_the_customer(fresh_api: Any) -> None:
    """Rust `customer().churned("acme.com")` sends a billing event keyed by `domain`; ingested billing
    events set the customer's billing status (ingest.md: "Used to set customer billing status")."""
    before = fresh_api.tool("outlit_get_customer", {"customer": "acme.com"})["customer"]["billingStatus"]
    assert before != "CHURNED"
    _server(fresh_api, {"type": "billing", "status": "churned", "domain": "acme.com"})
    assert fresh_api.tool("outlit_get_customer", {"customer": "acme.com"})["customer"]["billingStatus"] == (
        "CHURNED"
    )
    sql = "SELECT billing_status FROM customers WHERE domain = 'acme.com'"
    assert fresh_api.tool("outlit_query", {"sql": sql})["data"] == [{"billing_status": "CHURNED"}]
    _server(fresh_api, {"type": "billing", "status": "paid", "customerId": "acme.com"})
    assert fresh_api.tool("outlit_query", {"sql": sql})["data"] == [{"billing_status": "PAYING"}]


def test_identify_and_stage_events_change_users(fresh_api: Any) -> None:
    """identify updates a contact's traits (a new email at a known domain becomes a contact); a stage event
    sets the journey stage (@outlit/node `user.activate()` sends identity in properties.__email)."""
    users = fresh_api.tool("outlit_list_users", {"limit": 1000})["items"]
    user = next(u for u in users if u["journeyStage"] != "ACTIVATED")
    _server(
        fresh_api,
        {"type": "identify", "email": user["email"], "traits": {"plan_seats": 12}},
        {"type": "stage", "stage": "activated", "properties": {"__email": user["email"], "__userId": None}},
    )
    after = {u["id"]: u for u in fresh_api.tool("outlit_list_users", {"limit": 1000})["items"]}
    assert after[user["id"]]["journeyStage"] == "ACTIVATED"
    sql = f"SELECT JSONExtractInt(traits, 'plan_seats') AS s FROM users WHERE user_id = '{user['id']}'"
    traits = fresh_api.tool("outlit_query", {"sql": sql})["data"]
    assert traits == [{"s": 12}]
    domain = user["customerDomain"]
    _server(fresh_api, {"type": "identify", "email": f"new.person@{domain}"})
    emails = {u["email"] for u in fresh_api.tool("outlit_list_users", {"limit": 1000})["items"]}
    assert f"new.person@{domain}" in emails


def test_custom_agents_get_unique_keys(fresh_api: Any) -> None:
    """platform-actions.md: an agent is addressed by its agentKey, so keys stay unique per organization."""
    body = {"type": "custom", "displayName": "Renewal risk", "instructions": "i", "surfaceCriteria": "s"}
    keys = []
    for _ in range(3):
        created = fresh_api.http.post("/api/agents", json=body).json()
        keys.append(created["result"]["data"]["agent"]["agentKey"])
    every = [a["agentKey"] for a in fresh_api.http.get("/api/agents").json()["result"]["data"]["agents"]]
    assert len(set(every)) == len(every) and len(set(keys)) == 3


def test_clock_follows_wall_time_and_a_sync_completes_after_the_run_waiting_for_it() -> None:
    """issue 9 item 9: the clock moves with wall time from its anchor, and connected integrations keep
    syncing, so `lastSyncedAt` reaches the hour a DAG run waits for (`synced_after` = data interval end)."""
    started = datetime.now(tz=UTC)
    with (
        outlit_sandbox.running(seed=3, **SMALL) as sb,
        httpx.Client(base_url=sb.base_url, headers={"Authorization": f"Bearer {sb.api_key}"}) as h,
    ):
        first = _ts(sb.stats()["now"])
        assert first >= started.replace(microsecond=started.microsecond // 1000 * 1000)
        hour = started.replace(minute=0, second=0, microsecond=0)
        syncs = h.get("/api/integrations/sync-status", params={"provider": "stripe"}).json()["syncs"]
        assert all(_ts(s["lastSyncedAt"]) >= hour for s in syncs)
        sb.advance(hours=2, events_per_customer=0, facts_per_customer=0, status_changes=0)
        assert _ts(sb.stats()["now"]) >= first + timedelta(hours=2)


def test_frozen_clock_stays_at_its_anchor() -> None:
    """`running(now=..., frozen=True)` (CLI `--now ... --frozen`): only advance moves the clock."""
    anchor = datetime(2026, 5, 1, 12, tzinfo=UTC)
    with outlit_sandbox.running(seed=3, now=anchor, frozen=True, **SMALL) as sb:
        assert sb.stats()["now"] == "2026-05-01T12:00:00.000Z"
        sb.advance(hours=1, events_per_customer=0, facts_per_customer=0, status_changes=0)
        assert sb.stats()["now"] == "2026-05-01T13:00:00.000Z"
