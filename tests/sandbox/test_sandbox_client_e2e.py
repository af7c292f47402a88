"""The project's client end to end against the sandbox: full pagination, retries through injected faults,
ingest batching under the rate limit. (The client's own unit tests live in tests/client.)"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

import outlit_sandbox

client_mod = pytest.importorskip("outlit_core.client")

SMALL = {"customers": 8, "events_per_customer": 30, "facts_per_customer": 4}


def _client(sb: Any, **kwargs: Any) -> Any:
    retry = client_mod.RetryPolicy(max_retries=10, base_delay=0.001, max_delay=0.01, retry_writes=True)
    return client_mod.OutlitClient(
        sb.api_key,
        public_key=sb.public_key,
        base_url=sb.base_url,
        allow_insecure_http=True,
        retry=retry,
        **kwargs,
    )


def test_pagination_reaches_the_last_page(sandbox: Any) -> None:
    ds = sandbox.dataset()
    with _client(sandbox) as outlit:
        customers = list(outlit.iter_tool("outlit_list_customers", {"limit": 5}))
        assert sorted(c["id"] for c in customers) == sorted(c["id"] for c in ds["customers"])
        cid = ds["customers"][0]["id"]
        events = list(
            outlit.iter_tool("outlit_get_timeline", {"customer": cid, "timeframe": "all", "limit": 7})
        )
        assert [e["id"] for e in events] == list(reversed(ds["timeline"][cid]))


def test_reads_and_ingest_survive_injected_faults() -> None:
    kinds = ("500", "502", "503", "429", "drop", "slow")
    with outlit_sandbox.running(
        seed=21, fault_rate=0.3, fault_kinds=kinds, retry_after=0, slow_seconds=0.01, **SMALL
    ) as sb:
        with _client(sb, timeout=5.0) as outlit:
            customers = list(outlit.iter_tool("outlit_list_customers", {"limit": 2}))
            events = [
                {
                    "type": "custom",
                    "eventName": "synced",
                    "customerId": f"acct_{i}",
                    "uuid": str(uuid.uuid4()),
                    "url": f"server://acct_{i}",
                    "path": "/",
                }
                for i in range(250)
            ]
            result = outlit.send_events(events)
        stats = sb.stats()
        stored = sb.ingested()
    assert len(customers) == len({c["id"] for c in customers}) == SMALL["customers"]
    assert stats["faults_total"] > 0
    assert result.accepted == 250 and not result.rejected
    # at-least-once delivery plus uuid de-duplication: every event stored exactly once
    assert sorted(e["uuid"] for e in stored["events"]) == sorted(e["uuid"] for e in events)


def test_ingest_batches_stay_within_limits_and_the_rate_limit() -> None:
    with outlit_sandbox.running(seed=22, ingest_rps=4, **SMALL) as sb:
        with _client(sb, ingest_rps=4.0) as outlit:
            events = [
                {
                    "type": "custom",
                    "eventName": "bulk",
                    "userId": f"u{i}",
                    "url": f"server://u{i}",
                    "path": "/",
                    "properties": {"pad": "x" * 500},
                }
                for i in range(900)
            ]
            result = outlit.send_events(events)
        stored = sb.ingested()["counts"]
    assert result.accepted == 900 and result.batches >= 9
    assert stored["stored"] == 900 and stored["duplicates"] == 0
    assert stored["rejected_requests"] == 0  # no batch broke the 100-event / 1 MB limits
