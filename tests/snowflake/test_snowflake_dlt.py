"""The Outlit dlt source loading into dlt's own ``snowflake`` destination (schema DDL, PUT to the table
stage, COPY INTO, the merge SQL), through the real snowflake-connector-python talking HTTP to fakesnow.

Parquet is the load format here because fakesnow's COPY cannot match JSON files to columns by name
(dlt's default, jsonl); fakesnow_shims.py lists the other emulator gaps and docs/snowflake.md what only a
live account shows.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fakesnow", reason="fakesnow (dev extra) emulates Snowflake for these tests")
dlt = pytest.importorskip("dlt")

import dlt_helpers as helpers  # noqa: E402

from dlt_sources.outlit import outlit_source  # noqa: E402

SKIPPED_COLUMNS = {"_dlt_load_id", "_dlt_id"}


def _snowflake_pipeline(server: dict[str, Any], tmp_path: Path) -> Any:
    # the connector's own parameters ride in the URL's query, as dlt documents for host/port/protocol
    url = (
        f"snowflake://{server['user']}:{server['password']}@{server['account']}/OUTLIT_DB"
        f"?host={server['host']}&port={server['port']}&protocol={server['protocol']}"
    )
    return dlt.pipeline(
        pipeline_name="outlit_snowflake",
        destination=dlt.destinations.snowflake(credentials=url, preferred_loader_file_format="parquet"),
        dataset_name="outlit_data",
        pipelines_dir=str(tmp_path / "sf_pipelines"),
    )


def _run(pipeline: Any, sb: Any, **options: Any) -> None:
    source = outlit_source(
        api_key=sb.api_key, base_url=sb.base_url, include_sources=True, max_workers=4, **options
    )
    pipeline.run(source)


def _plain(value: Any) -> Any:
    """One comparable form for a value read back from either warehouse."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    if isinstance(value, float | int) and not isinstance(value, bool):
        return float(value)
    return value


def _by_key(pipeline: Any, table: str, columns: list[str]) -> dict[tuple[Any, ...], dict[str, Any]]:
    # fakesnow's server answers a NULL timestamp as 1970-01-01 (its Arrow encoding; `IS NULL` is still
    # true), so each column's NULL-ness is read as well
    key, width = helpers.PRIMARY_KEYS[table], len(columns)
    found = helpers.rows(pipeline, table, ", ".join(columns + [f"{c} IS NULL" for c in columns]))
    return {
        tuple(row[columns.index(k)] for k in key): {
            c: None if row[width + i] else _plain(row[i]) for i, c in enumerate(columns)
        }
        for row in found
    }


def assert_same_rows(snowflake: Any, duckdb: Any) -> None:
    """Every table holds the same rows by primary key, column for column, in both warehouses."""
    schema = snowflake.default_schema
    for table in helpers.PRIMARY_KEYS:
        columns = sorted(set(schema.get_table_columns(table)) - SKIPPED_COLUMNS)
        sf, dd = _by_key(snowflake, table, columns), _by_key(duckdb, table, columns)
        assert sf.keys() == dd.keys(), f"{table}: primary keys differ"
        differing = [k for k in sf if sf[k] != dd[k]]
        assert not differing, (
            f"{table}: {len(differing)} rows differ, e.g. {sf[differing[0]]} != {dd[differing[0]]}"
        )


def test_source_merges_into_snowflake_like_duckdb_through_an_incremental_rerun(
    snowflake_server: dict[str, Any], fresh_sandbox: Any, tmp_path: Path
) -> None:
    snowflake = _snowflake_pipeline(snowflake_server, tmp_path)
    duckdb = helpers.duckdb_pipeline(tmp_path)
    for pipeline in (snowflake, duckdb):
        _run(pipeline, fresh_sandbox)
    helpers.assert_matches_sandbox(snowflake, fresh_sandbox)
    assert_same_rows(snowflake, duckdb)
    first = helpers.counts(snowflake)

    changes = fresh_sandbox.advance(hours=2, events_per_customer=3, facts_per_customer=1, status_changes=3)
    for pipeline in (snowflake, duckdb):
        # fact status changes land on the full facts read (docs/dlt.md, "Facts"): make it due on this run
        _run(pipeline, fresh_sandbox, facts_full_refresh_hours=0)
    added = sum(len(ids) for ids in changes["events"].values())
    assert helpers.counts(snowflake)["timeline"] == first["timeline"] + added
    helpers.assert_matches_sandbox(snowflake, fresh_sandbox)
    helpers.assert_no_duplicate_keys(snowflake)
    assert_same_rows(snowflake, duckdb)

    # the merge ran as dlt's Snowflake SQL: staging dataset beside the data, keys declared on the tables
    with snowflake.sql_client() as client:
        schemas = {r[0] for r in client.execute_sql("SELECT schema_name FROM information_schema.schemata")}
    assert {"OUTLIT_DATA", "OUTLIT_DATA_STAGING"} <= {s.upper() for s in schemas}
