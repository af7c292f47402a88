"""``outlit_query_resource``: paging past the row cap, incremental windows and input errors."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
import pytest
from dlt_helpers import duckdb_pipeline, rows

from dlt_sources.outlit import outlit_query_resource
from dlt_sources.outlit.query import keys_not_null, sql_literal, substitute
from outlit_core.client import OutlitClient

ACTIVITY = "SELECT event_id, customer_id, occurred_at, event_name FROM activity"


def _total(sb: Any) -> int:
    with OutlitClient(sb.api_key, base_url=sb.base_url) as client:
        return client.query("SELECT COUNT(*) AS n FROM activity").rows[0]["n"]


def _query_calls(sb: Any) -> int:
    return sb.stats()["tools"].get("outlit_query", 0)


def test_keyset_pages_past_the_cap_with_nothing_lost_or_doubled(sandbox: Any, tmp_path: Path) -> None:
    total = _total(sandbox)
    page = 97
    assert total > 3 * page, "the shared sandbox should hold several pages of activity"
    resource = outlit_query_resource(
        ACTIVITY, "activity_events", primary_key="event_id", page_size=page,
        api_key=sandbox.api_key, base_url=sandbox.base_url,
    )  # fmt: skip
    pipeline = duckdb_pipeline(tmp_path)
    calls = _query_calls(sandbox)
    pipeline.run(resource)
    assert rows(pipeline, "activity_events", "COUNT(*), COUNT(DISTINCT event_id)")[0] == (total, total)
    # one call per page, plus at most one that finds the last page was exactly full
    assert _query_calls(sandbox) - calls <= math.ceil(total / page) + 1


def test_offset_pages_without_a_key_still_return_every_row(sandbox: Any, tmp_path: Path) -> None:
    total = _total(sandbox)
    resource = outlit_query_resource(
        ACTIVITY, "activity_offset", page_size=113, api_key=sandbox.api_key, base_url=sandbox.base_url
    )
    pipeline = duckdb_pipeline(tmp_path)
    pipeline.run(resource)
    assert rows(pipeline, "activity_offset", "COUNT(*), COUNT(DISTINCT event_id)")[0] == (total, total)
    assert pipeline.default_schema.get_table("activity_offset")["write_disposition"] == "replace"


def test_incremental_column_asks_only_for_new_rows(fresh_sandbox: Any, tmp_path: Path) -> None:
    def resource() -> Any:
        return outlit_query_resource(
            ACTIVITY,
            "activity_incremental",
            incremental=dlt.sources.incremental("occurred_at", initial_value="2000-01-01T00:00:00Z"),
            page_size=50,
            api_key=fresh_sandbox.api_key,
            base_url=fresh_sandbox.base_url,
        )

    pipeline = duckdb_pipeline(tmp_path)
    pipeline.run(resource())
    first = _total(fresh_sandbox)
    assert rows(pipeline, "activity_incremental", "COUNT(*)")[0][0] == first
    changes = fresh_sandbox.advance(hours=2, events_per_customer=3, facts_per_customer=0, status_changes=0)
    added = sum(len(ids) for ids in changes["events"].values())

    pipeline.run(resource())
    extracted = pipeline.last_trace.last_normalize_info.row_counts.get("activity_incremental", 0)
    assert extracted == added, "only the rows after the cursor (boundary rows deduplicated) are loaded"
    assert (
        rows(pipeline, "activity_incremental", "COUNT(*), COUNT(DISTINCT event_id)")[0]
        == (first + added,) * 2
    )
    assert pipeline.default_schema.get_table("activity_incremental")["write_disposition"] == "append"


def test_merge_by_key_with_incremental_and_a_user_limit(sandbox: Any, tmp_path: Path) -> None:
    resource = outlit_query_resource(
        "SELECT customer_id, COUNT(*) AS events, MAX(occurred_at) AS last_at FROM activity GROUP BY 1",
        "activity_per_customer",
        primary_key="customer_id",
        incremental="last_at",
        page_size=5,
        api_key=sandbox.api_key,
        base_url=sandbox.base_url,
    )
    pipeline = duckdb_pipeline(tmp_path)
    pipeline.run(resource)
    assert rows(pipeline, "activity_per_customer", "COUNT(*)")[0][0] == len(sandbox.dataset()["customers"])
    assert pipeline.default_schema.get_table("activity_per_customer")["write_disposition"] == "merge"


def test_unknown_key_column_names_the_columns(sandbox: Any, tmp_path: Path) -> None:
    resource = outlit_query_resource(
        ACTIVITY, "bad_key", primary_key="id", api_key=sandbox.api_key, base_url=sandbox.base_url
    )
    with pytest.raises(Exception, match=r"\"id\" not found|\[.id.\]"):
        duckdb_pipeline(tmp_path).run(resource)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sql": " ", "name": "t"}, "sql must be a non-empty SELECT"),
        ({"sql": ACTIVITY, "name": ""}, "name must be a non-empty table name"),
        ({"sql": ACTIVITY, "name": "t", "page_size": 10001}, "page_size must be between 1 and 10000"),
        ({"sql": ACTIVITY, "name": "t", "primary_key": [""]}, "primary_key must be a column name"),
        ({"sql": ACTIVITY, "name": "t", "incremental": 5}, "incremental must be a column name"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        outlit_query_resource(api_key="ok_test", **kwargs)


def test_missing_api_key_says_where_to_put_it() -> None:
    with pytest.raises(ValueError, match="SOURCES__OUTLIT__API_KEY"):
        outlit_query_resource(ACTIVITY, "t")


def test_literals_are_quoted_and_timestamps_normalised() -> None:
    assert sql_literal("it's") == "'it''s'"
    assert sql_literal("2026-01-02T03:04:05.678Z") == "'2026-01-02 03:04:05.678000'"
    assert sql_literal("2026-01-02T05:04:05+02:00") == "'2026-01-02 03:04:05.000000'"
    assert sql_literal(3) == "3"
    assert sql_literal(None) == "NULL"
    assert sql_literal(True) == "TRUE"


def test_start_token_filters_inside_an_aggregate(fresh_sandbox: Any, tmp_path: Path) -> None:
    def resource() -> Any:
        return outlit_query_resource(
            "SELECT customer_id, COUNT(*) AS events, MAX(occurred_at) AS last_at FROM activity "
            "WHERE occurred_at >= {start} GROUP BY customer_id",
            "recent_activity",
            primary_key="customer_id",
            incremental=dlt.sources.incremental("last_at", initial_value="2000-01-01T00:00:00Z"),
            api_key=fresh_sandbox.api_key,
            base_url=fresh_sandbox.base_url,
        )

    pipeline = duckdb_pipeline(tmp_path)
    pipeline.run(resource())
    first = dict(rows(pipeline, "recent_activity", "customer_id, events"))
    changes = fresh_sandbox.advance(hours=1, events_per_customer=2, facts_per_customer=0, status_changes=0)
    pipeline.run(resource())
    # each customer's row is replaced by the count over events since the previous run's latest event
    second = dict(rows(pipeline, "recent_activity", "customer_id, events"))
    for cid, ids in changes["events"].items():
        assert 1 <= second[cid] <= len(ids) + 1, "only events from the last cursor on are counted"
        assert second[cid] < first[cid]


def test_tokens_without_an_incremental_are_refused() -> None:
    with pytest.raises(ValueError, match=r"\{start\}/\{end\}, which need incremental"):
        outlit_query_resource("SELECT * FROM activity WHERE occurred_at >= {start}", "t", api_key="ok_x")
    with pytest.raises(ValueError, match="no end_value"):
        substitute("SELECT 1 WHERE x < {end}", "2026-01-01", None)
    assert substitute("x >= {start}", "2026-01-01T00:00:00Z", None) == "x >= '2026-01-01 00:00:00.000000'"


DAILY = (
    "SELECT CAST(occurred_at AS DATE) AS day, customer_id, COUNT(*) AS events FROM activity "
    "WHERE occurred_at >= {start} GROUP BY day, customer_id"
)


def _daily(sb: Any, **options: Any) -> Any:
    return outlit_query_resource(
        DAILY,
        "daily_activity",
        primary_key=("day", "customer_id"),
        api_key=sb.api_key,
        base_url=sb.base_url,
        **options,
    )


def test_bucket_mode_repeated_incremental_runs_equal_one_full_recompute(
    fresh_sandbox: Any, tmp_path: Path
) -> None:
    # The last loaded day is partial when a run ends; the next run must recompute it whole (not add to
    # it, not keep the partial count, not drop it as an already-seen key).
    incremental = duckdb_pipeline(tmp_path, "daily_incremental")
    daily = {"incremental": dlt.sources.incremental("day", initial_value="2000-01-01"), "buckets": True}
    incremental.run(_daily(fresh_sandbox, **daily))
    for _ in range(2):
        fresh_sandbox.advance(hours=2, events_per_customer=3, facts_per_customer=0, status_changes=0)
        incremental.run(_daily(fresh_sandbox, **daily))

    full = duckdb_pipeline(tmp_path, "daily_full")
    full.run(_daily(fresh_sandbox, incremental=dlt.sources.incremental("day", initial_value="2000-01-01")))

    query = "CAST(day AS VARCHAR), customer_id, events"
    assert sorted(rows(incremental, "daily_activity", query)) == sorted(rows(full, "daily_activity", query))
    assert rows(incremental, "daily_activity", "SUM(events)")[0][0] == _total(fresh_sandbox)


def test_bucket_mode_needs_the_bucket_in_the_key() -> None:
    with pytest.raises(ValueError, match="primary_key must include the bucket column 'day'"):
        outlit_query_resource(
            DAILY, "d", primary_key="customer_id", incremental="day", buckets=True, api_key="k"
        )
    with pytest.raises(ValueError, match="needs incremental"):
        outlit_query_resource(DAILY, "d", primary_key="day", buckets=True, api_key="k")


class _Notices(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_a_keyed_query_resource_loads_without_a_hint_warning_on_every_run(
    sandbox: Any, tmp_path: Path
) -> None:
    # dlt declares a primary key NOT NULL; an Arrow page whose key field is nullable made dlt warn that
    # "several column hints were different" on every scheduled run
    from dlt.common import logger as dlt_logger

    target = getattr(dlt_logger, "LOGGER", None) or logging.getLogger("dlt")
    notices = _Notices()
    target.addHandler(notices)
    try:
        pipeline = duckdb_pipeline(tmp_path)
        for _ in range(2):
            pipeline.run(
                outlit_query_resource(
                    ACTIVITY,
                    "keyed",
                    primary_key="event_id",
                    api_key=sandbox.api_key,
                    base_url=sandbox.base_url,
                )
            )
    finally:
        target.removeHandler(notices)
    assert not [m for m in notices.messages if "hints were different" in m], notices.messages
    assert rows(pipeline, "keyed", "COUNT(*), COUNT(DISTINCT event_id)")[0] == (_total(sandbox),) * 2


def test_a_key_column_holding_null_stays_nullable() -> None:
    page = pa.table({"event_id": ["a", None], "n": [1, 2], "day": ["x", "y"]})
    marked = keys_not_null(page, ["event_id", "day"])
    assert marked.schema.field("event_id").nullable and not marked.schema.field("day").nullable
    assert marked.schema.field("n").nullable and marked.to_pydict() == page.to_pydict()
