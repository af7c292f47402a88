"""End to end against the local Outlit emulator (outlit_sandbox): real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from outlit_core.client import (
    AsyncOutlitClient,
    OutlitAuthError,
    OutlitClient,
    OutlitPlanLimitError,
    OutlitUnsafeQueryError,
    OutlitValidationError,
    RetryPolicy,
)

outlit_sandbox = pytest.importorskip("outlit_sandbox")

# Real sleeps, but tiny: the sandbox is local and these tests only check that retries happen.
FAST = RetryPolicy(max_retries=8, base_delay=0.005, max_delay=0.02)


def client_for(sb, **kwargs) -> OutlitClient:
    kwargs.setdefault("retry", FAST)
    return OutlitClient(sb.api_key, public_key=sb.public_key, base_url=sb.base_url, **kwargs)


def ev(i: int, **extra) -> dict:
    return {
        "type": "custom",
        "url": "server://etl",
        "path": "/",
        "eventName": "row_synced",
        "userId": f"u{i}",
        **extra,
    }


def test_validate_api_key(sandbox) -> None:
    with client_for(sandbox) as client:
        info = client.validate_api_key()
    assert info.organization_id
    with (
        OutlitClient("ok_wrong", base_url=sandbox.base_url, retry=FAST) as bad,
        pytest.raises(OutlitAuthError),
    ):
        bad.validate_api_key()


def test_pagination_reaches_the_last_page(sandbox) -> None:
    with client_for(sandbox) as client:
        everything = list(
            client.iter_tool("outlit_list_customers", {"orderBy": "name", "orderDirection": "asc"})
        )
        small_pages = list(
            client.iter_pages(
                "outlit_list_customers", {"limit": 5, "orderBy": "name", "orderDirection": "asc"}
            )
        )
    assert len(everything) == 12 == len({c["id"] for c in everything})
    assert len(small_pages) == 3
    assert [c["id"] for p in small_pages for c in p["items"]] == [c["id"] for c in everything]
    assert small_pages[-1]["pagination"]["hasMore"] is False


def test_timeline_and_facts_paginate_per_customer(sandbox) -> None:
    with client_for(sandbox) as client:
        customer = next(client.iter_tool("outlit_list_customers", max_items=1))
        events = list(
            client.iter_tool(
                "outlit_get_timeline", {"customer": customer["id"], "timeframe": "all", "limit": 7}
            )
        )
        facts = list(client.iter_tool("outlit_list_facts", {"customer": customer["id"], "limit": 3}))
    assert len(events) == len({e["id"] for e in events}) > 7
    assert len(facts) == len({f["id"] for f in facts}) > 3


def test_query_schema_and_guard(sandbox) -> None:
    with client_for(sandbox) as client:
        result = client.query("select count(*) as n from customers")
        frame = client.query_df("select customer_id, name from customers order by name", limit=5)
        schema = client.schema()
        with pytest.raises(OutlitUnsafeQueryError):
            client.query("select * from read_csv('/etc/passwd')")
    assert result.rows == [{"n": 12}] and result.rows_returned == 1 and not result.truncated
    assert list(frame.columns) == ["customer_id", "name"] and len(frame) == 5
    assert schema


def test_server_side_errors_are_typed(sandbox) -> None:
    from outlit_core.client import OutlitNotFoundError

    with client_for(sandbox) as client:
        with pytest.raises(OutlitNotFoundError) as missing:
            client.call_tool("outlit_get_source", {"sourceType": "CALL", "sourceId": "does-not-exist"})
        with pytest.raises(OutlitValidationError) as invalid:
            client.call_tool("outlit_list_customers", {"limit": 5000}, validate=False)
    assert missing.value.status_code == 404 and missing.value.request_id
    assert invalid.value.status_code == 400
    assert any(d["path"] == ["limit"] for d in invalid.value.details)


def test_retries_through_injected_faults_lose_and_duplicate_nothing() -> None:
    with outlit_sandbox.running(
        seed=3,
        customers=20,
        events_per_customer=5,
        facts_per_customer=2,
        fault_rate=0.35,
        retry_after=0,
        slow_seconds=0.01,
    ) as sb:
        with client_for(sb) as client:
            ids = [c["id"] for c in client.iter_tool("outlit_list_customers", {"limit": 3})]
            result = client.send_events([ev(i) for i in range(450)])
        stats = sb.stats()
        sb.configure(fault_rate=0.0)
        with client_for(sb) as clean:
            truth = [c["id"] for c in clean.iter_tool("outlit_list_customers", {"limit": 3})]
    assert stats["faults_total"] > 0
    assert ids == truth and len(set(ids)) == 20
    assert result.accepted == 450 and not result.rejected
    counts = sb_counts = stats["ingest"]
    assert counts["stored"] == 450, sb_counts


def test_writes_are_not_blindly_retried_after_a_500() -> None:
    from outlit_core.client import OutlitServerError

    with outlit_sandbox.running(
        seed=1, customers=2, events_per_customer=1, facts_per_customer=1, fault_rate=1.0, fault_kinds=("500",)
    ) as sb:
        with client_for(sb) as client, pytest.raises(OutlitServerError):
            client.call_tool("outlit_send_notification", {"title": "t", "message": "m"})
        assert sb.stats()["requests"].get("POST /api/tools/call") == 1


def test_ingest_under_the_rate_limit_and_dedup_by_uuid() -> None:
    with outlit_sandbox.running(
        seed=2, customers=2, events_per_customer=1, facts_per_customer=1, ingest_rps=40
    ) as sb:
        events = [ev(i, uuid=str(uuid.uuid5(uuid.NAMESPACE_URL, f"row-{i}"))) for i in range(6000)]
        with client_for(sb, ingest_rps=40) as client:
            first = client.send_events(events)
            again = client.send_events(events[:200])  # a rerun after a crash resends with the same uuids
        counts = sb.stats()["ingest"]
    assert first.accepted == 6000 and first.batches == 60
    assert again.accepted == 200
    assert counts["stored"] == 6000 and counts["duplicates"] == 200
    # 62 requests at 40/s span two server windows; the client's limiter keeps every one inside its window.
    assert counts["rate_limited"] <= 1 and first.retries <= 1


def test_ingest_faster_than_the_server_allows_retries_429s() -> None:
    with outlit_sandbox.running(
        seed=2, customers=2, events_per_customer=1, facts_per_customer=1, ingest_rps=10
    ) as sb:
        with client_for(sb, ingest_rps=1000) as client:
            result = client.send_events(ev(i) for i in range(1500))
        counts = sb.stats()["ingest"]
    assert result.accepted == 1500 and counts["stored"] == 1500


def test_ingest_rejections_from_the_server(fresh_sandbox) -> None:
    # (an e-mail Outlit would refuse is now refused client-side by the same rule: see test_rl_safety)
    events = [ev(0), {"type": "identify", "url": "not a uri", "path": "/", "email": "a@b.co"}, ev(2)]
    with client_for(fresh_sandbox) as client:
        result = client.send_events(events)
    assert result.accepted == 2
    assert [r.index for r in result.rejected] == [1] and not result.rejected[0].client_side
    assert fresh_sandbox.stats()["ingest"]["stored"] == 2


def test_plan_limit_error_is_raised_once_with_reset_time() -> None:
    with outlit_sandbox.running(
        seed=5, customers=2, events_per_customer=1, facts_per_customer=1, plan_api_calls=2
    ) as sb:
        with client_for(sb) as client:
            client.schema()
            client.schema()
            with pytest.raises(OutlitPlanLimitError) as info:
                client.schema()
        assert sb.stats()["requests"]["POST /api/tools/call"] == 3
    assert info.value.reset_at is not None and info.value.code == "api_limit_exceeded"


def test_integrations_and_platform_actions(fresh_sandbox) -> None:
    with client_for(fresh_sandbox) as client:
        providers = {i["id"] for i in client.list_integrations()}
        caps = client.integration_capabilities("stripe")
        agents = client.platform_action("agents", "list")
        templates = client.platform_action("agent-templates", "list")
    assert "stripe" in providers and caps
    assert isinstance(agents, dict) and isinstance(templates, dict)


def test_async_client_end_to_end(sandbox) -> None:
    async def run():
        async with AsyncOutlitClient(sandbox.api_key, base_url=sandbox.base_url, retry=FAST) as client:
            info = await client.validate_api_key()
            items = [c async for c in client.iter_tool("outlit_list_customers", {"limit": 4})]
            return info, items

    info, items = asyncio.run(run())
    assert info.organization_id and len(items) == 12
