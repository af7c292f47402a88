"""Sandbox lifecycle: determinism, advance, reset, faults, plan limits, /_sandbox auth, CLI and child mode."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

import outlit_sandbox
from outlit_sandbox.timeutil import Clock

SMALL = {"customers": 4, "events_per_customer": 10, "facts_per_customer": 4}
NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_same_seed_same_data_other_seed_other_data() -> None:
    with (
        outlit_sandbox.running(seed=5, now=NOW, frozen=True, **SMALL) as a,
        outlit_sandbox.running(seed=5, now=NOW, frozen=True, **SMALL) as b,
    ):
        assert a.dataset() == b.dataset()
        assert a.api_key != b.api_key  # keys are per run, data is per seed
    with outlit_sandbox.running(seed=6, now=NOW, frozen=True, **SMALL) as c:
        assert c.dataset()["customers"] != a_customers(5)


def a_customers(seed: int) -> Any:
    with outlit_sandbox.running(seed=seed, now=NOW, frozen=True, **SMALL) as sb:
        return sb.dataset()["customers"]


def test_dataset_covers_every_status_channel_and_source_type(api: Any) -> None:
    ds = api.sb.dataset()
    statuses = {f["status"] for facts in ds["facts"].values() for f in facts}
    assert statuses == {"ACTIVE", "ACKNOWLEDGED", "RESOLVED", "SNOOZED", "CANDIDATE"}
    assert {s["sourceType"] for s in ds["sources"]} == {
        "EMAIL", "CALL", "CALENDAR_EVENT", "SUPPORT_TICKET", "OPPORTUNITY", "SLACK"
    }  # fmt: skip
    billing = {c["billingStatus"] for c in api.tool("outlit_list_customers", {"limit": 1000})["items"]}
    assert billing == {"NONE", "TRIALING", "PAYING", "PAST_DUE", "CHURNED"}
    integrations = {i["syncStatus"] for i in ds["integrations"]}
    assert {"SUCCESS", "FAILED", None} <= integrations
    assert ds["agents"] and ds["automations"] and ds["signals"] and ds["destinations"]


def test_advance_appends_after_everything_and_changes_recent_facts(fresh_api: Any) -> None:
    sb = fresh_api.sb
    before = sb.dataset()
    last_before = max(
        _ts(e["occurredAt"])
        for cid in before["timeline"]
        for e in fresh_api.all_pages("outlit_get_timeline", {"customer": cid, "timeframe": "all"}, "events")[
            :1
        ]
    )
    changes = sb.advance(hours=2, events_per_customer=3, facts_per_customer=2, status_changes=4)
    assert _ts(changes["now"]) == _ts(before["now"]) + timedelta(hours=2)
    after = sb.dataset()
    for cid, ids in changes["events"].items():
        assert len(ids) == 3 and after["timeline"][cid][-3:] == ids
        newest = fresh_api.tool("outlit_get_timeline", {"customer": cid, "timeframe": "all", "limit": 3})[
            "events"
        ]
        assert {e["id"] for e in newest} == set(ids)
        assert all(last_before < _ts(e["occurredAt"]) <= _ts(changes["now"]) for e in newest)
    for cid, ids in changes["facts"].items():
        assert len(ids) == 2 and [f["id"] for f in after["facts"][cid][-2:]] == ids
    assert len(changes["status_changes"]) == 4
    for change in changes["status_changes"]:
        fact = fresh_api.tool("outlit_get_fact", {"factId": change["id"]})
        assert fact["status"] == change["to"] != change["from"]
        assert fact["lastDetectedAt"] == changes["now"]
        assert _ts(fact["detectedAt"]) >= _ts(before["now"]) - timedelta(days=7)  # only recent facts change
    # an incremental read bounded by the previous clock finds exactly the new and changed facts
    touched = {c["id"] for c in changes["status_changes"]} | {
        i for ids in changes["facts"].values() for i in ids
    }
    found = set()
    for cid in changes["facts"]:
        found |= {
            f["id"] for f in fresh_api.tool("outlit_list_facts", {"customer": cid, "limit": 100})["facts"]
        }
    assert touched <= found


def test_reset_restores_the_seeded_state(fresh_api: Any) -> None:
    sb = fresh_api.sb
    seeded = sb.dataset()
    sb.advance()
    fresh_api.ingest(
        {
            "source": "server",
            "events": [
                {"type": "custom", "eventName": "x", "userId": "u1", "url": "server://u1", "path": "/"}
            ],
        }
    )
    assert sb.dataset() != seeded
    sb.reset()
    assert sb.dataset() == seeded
    assert sb.ingested()["events"] == [] and sb.stats()["requests_total"] == 0


def test_sandbox_routes_need_the_key_and_stay_apart(fresh_sandbox: Any) -> None:
    for method, path in [
        ("GET", "/_sandbox/stats"),
        ("POST", "/_sandbox/reset"),
        ("GET", "/_sandbox/dataset"),
    ]:
        assert httpx.request(method, fresh_sandbox.base_url + path).status_code == 401
    fresh_sandbox.configure(fault_rate=1.0)
    assert fresh_sandbox.stats()["faults_total"] == 0  # /_sandbox/* never faults
    bad = httpx.post(
        fresh_sandbox.base_url + "/_sandbox/config",
        json={"fault_rate": 3},
        headers={"Authorization": f"Bearer {fresh_sandbox.api_key}"},
    )
    assert bad.status_code == 400 and "fault_rate" in bad.json()["error"]


def _statuses(sb: Any, n: int) -> list[Any]:
    out: list[Any] = []
    with httpx.Client(
        base_url=sb.base_url, headers={"Authorization": f"Bearer {sb.api_key}"}, timeout=5
    ) as http:
        for _ in range(n):
            try:
                out.append(http.post("/api/tools/call", json={"tool": "outlit_schema"}).status_code)
            except httpx.TransportError as err:
                out.append(type(err).__name__)
    return out


def test_faults_are_deterministic_per_seed_and_cover_every_kind() -> None:
    runs = []
    for _ in range(2):
        with outlit_sandbox.running(seed=9, fault_rate=0.5, slow_seconds=0.01, retry_after=0, **SMALL) as sb:
            runs.append(_statuses(sb, 60))
            stats = sb.stats()
    assert runs[0] == runs[1]
    assert set(stats["faults"]) == {"500", "502", "503", "429", "drop", "slow"}
    seen = set(runs[0])
    assert {200, 500, 502, 503, 429} <= seen
    assert seen & {"RemoteProtocolError", "ReadError"}  # the dropped connections
    assert (
        stats["faults_total"]
        == stats["requests"]["POST /api/tools/call"] - runs[0].count(200) + stats["faults"]["slow"]
    )


def test_fault_answers_carry_retry_hints(fresh_sandbox: Any) -> None:
    fresh_sandbox.configure(fault_rate=1.0, fault_kinds=["429"], retry_after=2)
    with httpx.Client(
        base_url=fresh_sandbox.base_url, headers={"Authorization": f"Bearer {fresh_sandbox.api_key}"}
    ) as h:
        response = h.post("/api/tools/call", json={"tool": "outlit_schema"})
        assert response.status_code == 429 and response.headers["Retry-After"] == "2"
        assert response.json()["code"] == "rate_limited"
        fresh_sandbox.configure(fault_kinds=["503"])
        assert h.get("/api/integrations").status_code == 503
        ingest = httpx.post(fresh_sandbox.base_url + f"/api/i/v1/{fresh_sandbox.public_key}/events", json={})
        assert ingest.status_code == 503 and ingest.json()["success"] is False
        fresh_sandbox.configure(fault_rate=0.0)
        assert h.post("/api/tools/call", json={"tool": "outlit_schema"}).status_code == 200


def test_a_dropped_connection_still_processes_the_request(fresh_api: Any) -> None:
    """Drops happen after the work is done, like a real network failure on the way back."""
    fresh_api.sb.configure(fault_rate=1.0, fault_kinds=["drop"])
    event = {
        "type": "custom",
        "eventName": "x",
        "userId": "u1",
        "url": "server://u1",
        "path": "/",
        "uuid": "0f6d0f76-1dc7-4c5c-bba5-6685f74a5e3a",
    }
    with pytest.raises(httpx.TransportError):
        fresh_api.ingest({"source": "server", "events": [event]})
    fresh_api.sb.configure(fault_rate=0.0)
    assert fresh_api.ingest({"source": "server", "events": [event]}).status_code == 200  # the client's retry
    counts = fresh_api.sb.ingested()["counts"]
    assert counts["accepted"] == 1 and counts["duplicates"] == 1


def test_plan_allowance_answers_with_the_plan_error() -> None:
    with outlit_sandbox.running(seed=1, plan_api_calls=2, **SMALL) as sb:
        assert _statuses(sb, 3) == [200, 200, 429]
        with httpx.Client(base_url=sb.base_url, headers={"Authorization": f"Bearer {sb.api_key}"}) as h:
            body = h.post("/api/tools/call", json={"tool": "outlit_schema"}).json()
            assert body["code"] == "api_limit_exceeded" and body["feature"] == "api_calls"
            assert body["plan"] and body["resetAt"] > datetime.now(tz=UTC).timestamp() * 1000
            assert h.get("/api/integrations").status_code == 200  # only tool calls count
        sb.configure(plan_api_calls=5, plan_limit_status=402)
        assert _statuses(sb, 6) == [200] * 5 + [402]


def test_cli_prints_exactly_one_json_line_then_serves() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "outlit_sandbox", "serve", "--port", "0", "--customers", "2",
         "--events-per-customer", "3", "--facts-per-customer", "1", "--seed", "4"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OUTLIT_SANDBOX_API_KEY": "ok_from_env_for_test"},
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert set(info) == {"base_url", "api_key", "public_key"}
        assert info["api_key"] == "ok_from_env_for_test" and info["public_key"].startswith("pk_")
        assert info["base_url"].startswith("http://127.0.0.1:")
        response = httpx.post(
            info["base_url"] + "/api/validate-api-key",
            headers={"Authorization": "Bearer ok_from_env_for_test"},
        )
        assert response.json()["valid"] is True
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert out.strip() == ""  # nothing after the one line


def test_cli_rejects_bad_options() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "outlit_sandbox", "serve", "--fault-rate", "2"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and "fault_rate must be between 0 and 1" in done.stderr


def test_child_process_mode() -> None:
    with outlit_sandbox.running(seed=2, subprocess=True, **SMALL) as sb:
        assert _statuses(sb, 2) == [200, 200]
        assert sb.stats()["requests"]["POST /api/tools/call"] == 2


def test_bad_configuration_is_refused_with_the_field() -> None:
    with pytest.raises(ValueError, match="public_key must start with 'pk_'"):
        outlit_sandbox.SandboxConfig(public_key="nope")
    with pytest.raises(ValueError, match="fault_kinds"):
        outlit_sandbox.SandboxConfig(fault_kinds=("boom",))


def test_api_key_stays_out_of_reprs_and_public_settings() -> None:
    config = outlit_sandbox.SandboxConfig(api_key="ok_very_secret_1")
    assert "ok_very_secret_1" not in repr(config)
    assert "ok_very_secret_1" not in json.dumps(config.public())
    with outlit_sandbox.running(api_key="ok_very_secret_2", **SMALL) as sb:
        assert "ok_very_secret_2" not in repr(sb)
        assert "ok_very_secret_2" not in json.dumps(sb.stats())


def _latest_by_customer(api: Any) -> dict[str, dict[str, Any]]:
    customers = api.tool("outlit_list_customers", {"limit": 1000})["items"]
    return {c["id"]: c for c in customers}


def test_advance_late_events_land_before_the_latest_without_moving_last_activity(fresh_api: Any) -> None:
    sb = fresh_api.sb
    sb.advance(hours=1, events_per_customer=2, facts_per_customer=0, status_changes=0)  # all recent
    before = _latest_by_customer(fresh_api)
    timelines = {
        cid: fresh_api.all_pages("outlit_get_timeline", {"customer": cid, "timeframe": "all"}, "events")
        for cid in before
    }
    rows_before = fresh_api.tool("outlit_query", {"sql": "SELECT count(*) AS n FROM activity"})["data"][0]
    changes = sb.advance(
        hours=1, events_per_customer=0, facts_per_customer=0, status_changes=0, late_events_per_customer=3
    )
    now = _ts(changes["now"])
    after = _latest_by_customer(fresh_api)
    assert set(changes["late_events"]) == set(before)
    for cid, ids in changes["late_events"].items():
        assert len(ids) == 3 and not changes["events"][cid]
        assert after[cid]["lastActivityAt"] == before[cid]["lastActivityAt"]  # the cursor does not move
        newest_before = _ts(timelines[cid][0]["occurredAt"])
        timeline = fresh_api.all_pages("outlit_get_timeline", {"customer": cid, "timeframe": "all"}, "events")
        assert [e["id"] for e in timeline if e["id"] not in ids] == [e["id"] for e in timelines[cid]]
        late = [e for e in timeline if e["id"] in ids]
        assert len(late) == 3
        assert all(now - timedelta(days=2) <= _ts(e["occurredAt"]) < newest_before for e in late)
        stamps = [_ts(e["occurredAt"]) for e in timeline]
        assert stamps == sorted(stamps, reverse=True)  # still served newest first
    rows_after = fresh_api.tool("outlit_query", {"sql": "SELECT count(*) AS n FROM activity"})["data"][0]
    late_ids = [i for ids in changes["late_events"].values() for i in ids]
    assert rows_after["n"] == rows_before["n"] + len(late_ids)
    found = fresh_api.tool(
        "outlit_query",
        {
            "sql": "SELECT count(*) AS n FROM activity WHERE event_id IN ("
            + ", ".join(f"'{i}'" for i in late_ids)
            + ")"
        },
    )["data"][0]
    assert found["n"] == len(late_ids)


def test_late_events_skip_customers_without_recent_activity_and_leave_other_draws_alone() -> None:
    from outlit_sandbox.generator import Generator

    def run(**late: int) -> tuple[Any, dict[str, Any], dict[str, datetime]]:
        gen = Generator(4, Clock(NOW, frozen=True))  # a seed with 2 of 8 customers active in the last 2 days
        ds = gen.build(8, 20, 4)
        latest = {cid: evs[-1]["_ts"] for cid, evs in ds.events.items()}
        return ds, gen.advance(ds, hours=1, events_per_customer=2, **late), latest

    plain_ds, plain, _ = run()
    ds, changes, latest = run(late_events_per_customer=2, silent_status_changes=2)
    for events in ds.events.values():
        assert [e["_ts"] for e in events] == sorted(e["_ts"] for e in events)  # kept oldest first
    cutoff = _ts(changes["now"]) - timedelta(days=2)
    recent = {cid for cid, ts in latest.items() if ts > cutoff}
    assert recent and recent != set(latest)  # the seed has both kinds of customer
    assert {cid for cid, ids in changes["late_events"].items() if ids} == recent
    assert all(len(changes["late_events"][cid]) == 2 for cid in recent)
    # same seed: same new events, facts and status changes, with or without late/silent changes
    for key in ("events", "facts", "status_changes"):
        assert changes[key] == plain[key]
    assert plain["late_events"] == {c["id"]: [] for c in plain_ds.customers}
    assert plain["silent_status_changes"] == []


def test_advance_silent_status_changes_move_no_timestamp(fresh_api: Any) -> None:
    sb = fresh_api.sb
    before_now = sb.dataset()["now"]
    changes = sb.advance(hours=1, events_per_customer=0, facts_per_customer=1, silent_status_changes=4)
    silent = changes["silent_status_changes"]
    assert len(silent) == 4
    loud = {c["id"] for c in changes["status_changes"]}
    new = {i for ids in changes["facts"].values() for i in ids}
    assert not ({c["id"] for c in silent} & (loud | new))  # never a fact this advance already touched
    from outlit_sandbox.generator import Generator

    # the fresh_sandbox dataset
    seeded = Generator(7, Clock(_ts(before_now), frozen=True)).build(6, 40, 6).fact_by_id
    stamps = ("occurredAt", "detectedAt", "validFrom", "validUntil", "lastDetectedAt")
    for change in silent:
        fact = fresh_api.tool("outlit_get_fact", {"factId": change["id"]})
        assert fact["status"] == change["to"] != change["from"] == seeded[change["id"]]["status"]
        assert {k: fact[k] for k in stamps} == {k: seeded[change["id"]][k] for k in stamps}
    # a read bounded by occurrence after the previous clock does not see them: that is the point
    seen = set()
    for cid in changes["facts"]:
        seen |= {
            f["id"]
            for f in fresh_api.tool("outlit_list_facts", {"customer": cid, "after": before_now})["facts"]
        }
    assert seen.isdisjoint({c["id"] for c in silent})


def test_advance_route_refuses_bad_counts(fresh_sandbox: Any) -> None:
    headers = {"Authorization": f"Bearer {fresh_sandbox.api_key}"}
    for body in (
        {"late_events_per_customer": -1},
        {"silent_status_changes": 1.5},
        {"late": 1},
        {"every_nth_customer": 0},
    ):
        response = httpx.post(fresh_sandbox.base_url + "/_sandbox/advance", json=body, headers=headers)
        assert response.status_code == 400, body
        assert next(iter(body)) in response.json()["error"]
