"""Arrow pages: a plain ``pipeline.run(outlit_source())`` writes Parquet, keeps the declared types and JSON,
and destinations that would store JSON text as a string get rows instead."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
from dlt_helpers import assert_matches_sandbox, duckdb_pipeline, rows

from dlt_sources.outlit import outlit_source
from dlt_sources.outlit.arrow import PageBatch, join_pages, to_table
from dlt_sources.outlit.settings import TIMELINE_COLUMNS


def _file_formats(info: Any) -> set[str]:
    return {
        job.job_file_info.file_format
        for package in info.load_packages
        for job in package.jobs["completed_jobs"]
        if not job.job_file_info.table_name.startswith("_dlt")
    }


def test_plain_run_writes_parquet_with_declared_types_and_json(fresh_sandbox: Any, tmp_path: Path) -> None:
    pipeline = duckdb_pipeline(tmp_path)
    info = pipeline.run(
        outlit_source(api_key=fresh_sandbox.api_key, base_url=fresh_sandbox.base_url, include_sources=True)
    )
    assert "parquet" in _file_formats(info) and "insert_values" not in _file_formats(info)
    assert_matches_sandbox(pipeline, fresh_sandbox)
    with pipeline.sql_client() as client:
        types = dict(
            client.execute_sql(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'outlit_data' AND table_name = 'timeline'"
            )
        )
    assert types["occurred_at"] == "TIMESTAMP WITH TIME ZONE" and types["metadata"] == "JSON"
    # nested objects arrive whole and queryable, exactly as the tool returned them
    with httpx_client(fresh_sandbox) as outlit:
        customer = fresh_sandbox.dataset()["customers"][0]["id"]
        events = outlit.call_tool("outlit_get_timeline", {"customer": customer, "timeframe": "all"})["events"]
    stored = dict(rows(pipeline, "timeline", "id, CAST(metadata AS VARCHAR)"))
    for event in events:
        assert json.loads(stored[event["id"]]) == event["metadata"]


def test_a_value_that_does_not_fit_its_type_is_kept_in_a_variant_column() -> None:
    table = to_table(
        [
            {"id": "a", "occurredAt": "2026-01-01T00:00:00.000Z", "customer_id": "c", "metadata": {"x": 1}},
            {"id": "b", "occurredAt": "yesterday", "customer_id": "c", "metadata": None, "newField": [1]},
        ],
        TIMELINE_COLUMNS,
    )
    assert table.column("occurred_at").type == pa.timestamp("us", tz="UTC")
    assert table.column("occurred_at").to_pylist()[1] is None
    assert table.column("occurred_at__v_text").to_pylist() == [None, "yesterday"]
    assert table.column("metadata").to_pylist() == ['{"x":1}', None]
    assert table.column("new_field").to_pylist() == [None, "[1]"]  # an undeclared field, named as dlt would
    assert not table.schema.field("customer_id").nullable


def test_snowflake_gets_rows_so_json_lands_as_variant_objects(fresh_sandbox: Any, tmp_path: Path) -> None:
    # extract only: no Snowflake account is reached. JSON text in Parquet would become a string VARIANT.
    pipeline = dlt.pipeline(
        "to_snowflake",
        destination=dlt.destinations.snowflake(credentials="snowflake://user:pw@account/db"),
        pipelines_dir=str(tmp_path / "pipelines"),
    )
    source = outlit_source(api_key=fresh_sandbox.api_key, base_url=fresh_sandbox.base_url)
    pipeline.extract(source.with_resources("customers", "timeline"))
    pipeline.normalize()
    normalized = pipeline.list_normalized_load_packages()
    files = {
        job.job_file_info.file_format
        for load_id in normalized
        for job in pipeline.get_load_package_info(load_id).jobs["new_jobs"]
        if job.job_file_info.table_name == "timeline"
    }
    assert files and "parquet" not in files, files


def httpx_client(sb: Any) -> Any:
    from outlit_core.client import OutlitClient

    return OutlitClient(sb.api_key, base_url=sb.base_url)


def test_pages_are_handed_to_dlt_in_batches_that_keep_every_row_and_column() -> None:
    first = to_table(
        [{"id": "a", "occurredAt": "2026-01-01T00:00:00.000Z", "customer_id": "c"}], TIMELINE_COLUMNS
    )
    second = to_table(
        [{"id": "b", "customer_id": "c", "extra": "x"}, {"id": "c", "customer_id": "c"}], TIMELINE_COLUMNS
    )
    batch = PageBatch(3)
    assert batch.add(first) is None  # 1 row: not full yet
    joined = batch.add(second)
    assert joined.num_rows == 3 and joined.column("id").to_pylist() == ["a", "b", "c"]
    assert joined.column("extra").to_pylist() == [None, "x", None]  # a column one page lacks is NULL there
    assert joined.schema.field("occurred_at").type == pa.timestamp("us", tz="UTC")
    assert batch.take() is None
    # rows=0 hands every page over as it comes; row lists are joined as lists
    assert PageBatch(0).add([{"id": "a"}]) == [{"id": "a"}]
    assert join_pages([[{"id": "a"}], [{"id": "b"}]]) == [{"id": "a"}, {"id": "b"}]


def test_pages_whose_types_cannot_be_unified_stay_separate_tables() -> None:
    number, text = pa.table({"x": [1]}), pa.table({"x": ["one"]})
    assert join_pages([number, text]) == [number, text]  # dlt takes a list of tables as one item
