"""End to end: incremental runs that read new events from the activity view (``bulk_timeline=True``).

The rerun must load exactly the rows a full run loads, column by column, in a handful of requests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dlt_helpers import assert_matches_sandbox, assert_no_duplicate_keys, duckdb_pipeline, rows, run

from dlt_sources.outlit.activity import SQL_BUDGET, chunk_plans, chunk_sql
from dlt_sources.outlit.cursors import Fetch

TIMELINE_COLUMNS = (
    "id, customer_id, occurred_at, event_type, event_name, channel, title, summary, contact, "
    "source_type, source_id, metadata"
)


def _tool_calls(sb: Any) -> dict[str, int]:
    return dict(sb.stats()["tools"])


def _timeline(pipeline: Any) -> list[tuple[Any, ...]]:
    return sorted(rows(pipeline, "timeline", TIMELINE_COLUMNS), key=lambda r: r[0])


def test_bulk_rerun_loads_exactly_what_a_full_run_loads(fresh_sandbox: Any, tmp_path: Path) -> None:
    options = {"bulk_timeline": True, "facts_on_activity": False}
    incremental = duckdb_pipeline(tmp_path, "incremental")
    run(incremental, fresh_sandbox, **options)
    first = _tool_calls(fresh_sandbox)
    assert first.get("outlit_get_timeline", 0) >= 6  # whole histories come from the timeline tool
    assert "outlit_query" not in first

    fresh_sandbox.advance(hours=1, events_per_customer=3, facts_per_customer=0, status_changes=0)
    run(incremental, fresh_sandbox, **options)
    after = _tool_calls(fresh_sandbox)
    # every customer got new activity, yet no timeline or facts request: one query reads them all
    assert after.get("outlit_get_timeline") == first.get("outlit_get_timeline")
    assert after.get("outlit_list_facts") == first.get("outlit_list_facts")
    assert after["outlit_query"] == 1

    full = duckdb_pipeline(tmp_path, "full")
    run(full, fresh_sandbox)
    assert _timeline(incremental) == _timeline(full)
    assert_matches_sandbox(incremental, fresh_sandbox)
    assert_no_duplicate_keys(incremental)

    # the cursors moved: a rerun with nothing new asks nothing of the timeline at all
    queries = _tool_calls(fresh_sandbox)["outlit_query"]
    run(incremental, fresh_sandbox, **options)
    assert _tool_calls(fresh_sandbox)["outlit_query"] == queries


def test_a_customer_new_since_the_last_run_gets_its_whole_history(fresh_sandbox: Any, tmp_path: Path) -> None:
    pipeline = duckdb_pipeline(tmp_path)
    ds = fresh_sandbox.dataset()
    first, *others = sorted(c["id"] for c in ds["customers"])
    run(pipeline, fresh_sandbox, customers=[first], bulk_timeline=True)
    fresh_sandbox.advance(hours=1, events_per_customer=2, facts_per_customer=0, status_changes=0)
    run(pipeline, fresh_sandbox, customers=[first, *others], bulk_timeline=True)
    assert_matches_sandbox(pipeline, fresh_sandbox)
    assert_no_duplicate_keys(pipeline)


def test_chunks_keep_each_query_under_the_sql_limit() -> None:
    plans = [Fetch(f"cus_{n:012x}", "2026-01-01T00:00:00.000Z") for n in range(500)]
    chunks = chunk_plans(plans)
    assert len(chunks) > 1
    assert sorted(p.customer_id for c in chunks for p in c.members) == [p.customer_id for p in plans]
    assert all(len(chunk_sql(c)) < SQL_BUDGET + 200 < 10_000 for c in chunks)
    # customers share one condition per day of their windows: a few hundred fit one query
    assert len(chunks) == 2


def test_windows_are_rounded_down_to_the_day_never_later() -> None:
    plans = [Fetch("a", "2026-01-01T23:59:59.999Z"), Fetch("b", "2026-01-01T00:00:00.000Z"), Fetch("c", None)]
    sql = chunk_sql(chunk_plans(plans)[0])
    assert "(customer_id IN ('c'))" in sql
    assert "(occurred_at >= '2026-01-01 00:00:00.000000' AND customer_id IN ('a', 'b'))" in sql


@pytest.mark.parametrize("value", ["yes", 1])
def test_bulk_timeline_must_be_a_bool(value: Any) -> None:
    from dlt_sources.outlit import outlit_source

    with pytest.raises(ValueError, match="bulk_timeline must be True or False"):
        outlit_source(api_key="ok_x", bulk_timeline=value)
