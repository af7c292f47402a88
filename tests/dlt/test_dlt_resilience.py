"""Retries, failing customers and vanished customers: a scheduled sync loses and duplicates nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed
from dlt_helpers import assert_matches_sandbox, assert_no_duplicate_keys, duckdb_pipeline, rows

from dlt_sources.outlit import outlit_source
from outlit_core.client import OutlitClient, RetryPolicy

Rule = Callable[[dict[str, Any]], httpx.Response | None]


class _Intercept(httpx.BaseTransport):
    """Forwards to the real sandbox unless ``rule`` answers a tool call itself."""

    def __init__(self, rule: Rule) -> None:
        self.inner = httpx.HTTPTransport()
        self.rule = rule

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/tools/call":
            answer = self.rule(json.loads(request.content))
            if answer is not None:
                return answer
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def _client(sb: Any, rule: Rule | None = None, retries: int = 3) -> OutlitClient:
    return OutlitClient(
        sb.api_key,
        base_url=sb.base_url,
        retry=RetryPolicy(max_retries=retries, sleep=lambda _: None),
        transport=_Intercept(rule) if rule else None,
    )


def _run(pipeline: Any, client: OutlitClient) -> None:
    # facts read in full on every run, so a status change lands at once (the bound is tested elsewhere)
    pipeline.run(
        outlit_source(client=client, include_sources=True, max_workers=3, facts_full_refresh_hours=0)
    )


def test_429s_and_5xx_are_retried_and_the_warehouse_is_complete(fresh_sandbox: Any, tmp_path: Path) -> None:
    fresh_sandbox.configure(fault_rate=0.3, fault_kinds=["429", "500", "502", "503"], retry_after=0)
    pipeline = duckdb_pipeline(tmp_path)
    with _client(fresh_sandbox, retries=12) as client:
        _run(pipeline, client)
        fresh_sandbox.advance(hours=1, events_per_customer=2, facts_per_customer=1, status_changes=2)
        _run(pipeline, client)
    assert fresh_sandbox.stats()["faults_total"] > 5
    fresh_sandbox.configure(fault_rate=0.0)
    assert_matches_sandbox(pipeline, fresh_sandbox)
    assert_no_duplicate_keys(pipeline)


def test_a_failing_customer_fails_the_run_and_moves_no_cursor(fresh_sandbox: Any, tmp_path: Path) -> None:
    victim = fresh_sandbox.dataset()["customers"][2]["id"]

    def broken_facts(body: dict[str, Any]) -> httpx.Response | None:
        if body["tool"] == "outlit_list_facts" and body["input"].get("customer") == victim:
            return httpx.Response(400, json={"error": "Invalid tool input", "details": []})
        return None

    pipeline = duckdb_pipeline(tmp_path)
    with _client(fresh_sandbox, broken_facts) as client, pytest.raises(PipelineStepFailed) as failure:
        _run(pipeline, client)
    assert "outlit_list_facts" in str(failure.value)
    assert fresh_sandbox.api_key not in str(failure.value)
    assert "resources" not in pipeline.state.get("sources", {}).get("outlit", {}), (
        "no cursor may be committed"
    )

    with _client(fresh_sandbox) as client:
        _run(pipeline, client)
    assert_matches_sandbox(pipeline, fresh_sandbox)
    assert_no_duplicate_keys(pipeline)


def test_a_customer_that_vanished_mid_run_is_skipped_and_retried_next_run(
    fresh_sandbox: Any, tmp_path: Path
) -> None:
    victim = fresh_sandbox.dataset()["customers"][1]["id"]

    def gone(body: dict[str, Any]) -> httpx.Response | None:
        if body["tool"] == "outlit_get_timeline" and body["input"].get("customer") == victim:
            return httpx.Response(404, json={"error": "Customer not found"})
        return None

    pipeline = duckdb_pipeline(tmp_path)
    with _client(fresh_sandbox, gone) as client:
        _run(pipeline, client)
    timeline_state = pipeline.state["sources"]["outlit"]["resources"]["timeline"]["customers"]
    assert victim not in timeline_state
    assert victim not in {r[0] for r in rows(pipeline, "timeline", "DISTINCT customer_id")}

    with _client(fresh_sandbox) as client:
        _run(pipeline, client)
    assert_matches_sandbox(pipeline, fresh_sandbox)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_workers": 0}, "max_workers must be a whole number >= 1"),
        ({"lookback_hours": -1}, "lookback_hours must not be negative"),
        ({"facts_full_refresh_hours": "daily"}, "facts_full_refresh_hours must be a number of hours"),
        ({"timeline_recheck_hours": -24}, "timeline_recheck_hours must not be negative"),
        ({"start_date": "yesterday"}, "start_date='yesterday' is not an ISO-8601 timestamp"),
        ({"start_date": "2026-02-01", "end_date": "2026-01-01"}, "is after end_date"),
        ({"customers": [""]}, "customers must be a list of names"),
        ({"customers": "[]"}, "customers must name at least one"),
        ({"customers": '["acme.com"'}, "looks like a list but is neither JSON"),
        ({"base_url": "ftp://example.com"}, "base_url must be an http"),
        ({"api_key": " "}, "SOURCES__OUTLIT__API_KEY"),
        ({"client": object()}, "client must be an OutlitClient"),
    ],
)
def test_bad_settings_name_the_field_and_the_fix(kwargs: dict[str, Any], message: str) -> None:
    options = {"api_key": "ok_test", "base_url": "http://127.0.0.1:9"} | kwargs
    with pytest.raises(Exception, match=message):
        outlit_source(**options)


def test_bad_rows_neither_stall_the_cursor_nor_break_the_run(fresh_sandbox: Any, tmp_path: Path) -> None:
    victim = fresh_sandbox.dataset()["customers"][0]["id"]
    event = {
        "eventType": "custom",
        "eventName": "x",
        "channel": "PRODUCT",
        "title": None,
        "summary": None,
        "contact": None,
        "sourceType": None,
        "sourceId": None,
        "metadata": {},
    }
    page = {
        "events": [
            {**event, "id": None, "occurredAt": "2026-01-03T00:00:00Z"},
            {**event, "id": "evt_bad_time", "occurredAt": "not a timestamp"},
            {**event, "id": "evt_ok", "occurredAt": "2026-01-02T00:00:00Z"},
        ],
        "pagination": {"hasMore": False, "nextCursor": None},
    }

    def odd_timeline(body: dict[str, Any]) -> httpx.Response | None:
        if body["tool"] == "outlit_get_timeline" and body["input"].get("customer") == victim:
            return httpx.Response(200, json=page)
        return None

    pipeline = duckdb_pipeline(tmp_path)
    with _client(fresh_sandbox, odd_timeline) as client:
        _run(pipeline, client)
    loaded = {r[1] for r in rows(pipeline, "timeline", "customer_id, id") if r[0] == victim}
    assert loaded == {"evt_bad_time", "evt_ok"}, "the id-less row is dropped, the others are kept"
    state = pipeline.state["sources"]["outlit"]["resources"]["timeline"]["customers"][victim]
    assert state["cursor"] == "2026-01-02T00:00:00.000Z"


def test_a_crash_between_extract_and_load_loses_nothing(fresh_sandbox: Any, tmp_path: Path) -> None:
    # the first process extracts (and so advances its cursors locally) and dies before loading
    crashed = duckdb_pipeline(tmp_path)
    with _client(fresh_sandbox) as client:
        crashed.extract(outlit_source(client=client, include_sources=True))
    fresh_sandbox.advance(hours=1, events_per_customer=2, facts_per_customer=1, status_changes=2)

    # the next scheduled run, in a new process, finishes the pending package and then syncs what is new
    restarted = duckdb_pipeline(tmp_path)
    assert restarted.has_pending_data
    with _client(fresh_sandbox) as client:
        _run(restarted, client)
    assert_matches_sandbox(restarted, fresh_sandbox)
    assert_no_duplicate_keys(restarted)
