"""Shared helpers for the dlt tests: pipelines in temp dirs and warehouse-vs-sandbox comparisons."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dlt

from dlt_sources.outlit import outlit_source
from dlt_sources.outlit.loading import fast_file_format

PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    "customers": ("id",),
    "users": ("id",),
    "workspace_users": ("id",),
    "timeline": ("id",),
    "facts": ("id",),
    "sources": ("source_type", "source_id"),
    "integrations": ("id",),
    "integration_syncs": ("provider", "model"),
}


def duckdb_pipeline(tmp_path: Path, name: str = "outlit_test") -> dlt.Pipeline:
    return dlt.pipeline(
        pipeline_name=name,
        destination=dlt.destinations.duckdb(str(tmp_path / f"{name}.duckdb")),
        dataset_name="outlit_data",
        pipelines_dir=str(tmp_path / "pipelines"),
    )


def run(pipeline: dlt.Pipeline, sb: Any, **options: Any) -> dict[str, int]:
    """One scheduled-sync run against the sandbox; returns the rows extracted per table in this run."""
    options.setdefault("include_sources", True)
    options.setdefault("max_workers", 4)
    source = outlit_source(api_key=sb.api_key, base_url=sb.base_url, **options)
    # the bulk format load_all() picks: Parquet on DuckDB, CSV (COPY) on PostgreSQL
    pipeline.run(source, loader_file_format=fast_file_format(pipeline))
    counts = pipeline.last_trace.last_normalize_info.row_counts
    return {table: n for table, n in counts.items() if not table.startswith("_dlt")}


def rows(pipeline: dlt.Pipeline, table: str, columns: str) -> list[tuple[Any, ...]]:
    with pipeline.sql_client() as client:
        return [
            tuple(r)
            for r in client.execute_sql(f"SELECT {columns} FROM {client.make_qualified_table_name(table)}")
        ]


def counts(pipeline: dlt.Pipeline) -> dict[str, int]:
    return {table: rows(pipeline, table, "COUNT(*)")[0][0] for table in PRIMARY_KEYS}


def assert_no_duplicate_keys(pipeline: dlt.Pipeline) -> None:
    for table, key in PRIMARY_KEYS.items():
        cols = ", ".join(key)
        total, distinct = rows(pipeline, table, f"COUNT(*), COUNT(DISTINCT ({cols}))")[0]
        assert total == distinct, f"{table} has {total - distinct} duplicate primary keys on ({cols})"


def assert_matches_sandbox(pipeline: dlt.Pipeline, sb: Any) -> None:
    """Every table holds exactly the sandbox's records (ids, per-customer ownership, fact statuses)."""
    ds = sb.dataset()
    assert {r[0] for r in rows(pipeline, "customers", "id")} == {c["id"] for c in ds["customers"]}
    assert sorted(r[0] for r in rows(pipeline, "users", "id")) == sorted(ds["users"])
    assert sorted(r[0] for r in rows(pipeline, "workspace_users", "id")) == sorted(ds["workspace_users"])
    expected_events = sorted((cid, eid) for cid, ids in ds["timeline"].items() for eid in ids)
    assert sorted(rows(pipeline, "timeline", "customer_id, id")) == expected_events
    expected_facts = sorted((cid, f["id"], f["status"]) for cid, facts in ds["facts"].items() for f in facts)
    assert sorted(rows(pipeline, "facts", "customer_id, id, status")) == expected_facts
    expected_sources = sorted((s["sourceType"], s["sourceId"]) for s in ds["sources"])
    assert sorted(rows(pipeline, "sources", "source_type, source_id")) == expected_sources
    assert sorted(rows(pipeline, "integrations", "id, status")) == sorted(
        (i["id"], i["status"]) for i in ds["integrations"]
    )
    connected = [i["id"] for i in ds["integrations"] if i["status"] == "connected"]
    synced = {r[0] for r in rows(pipeline, "integration_syncs", "provider")}
    assert synced == set(connected)
