"""Running the Outlit source: the default pipeline, the fastest load format per destination, row counts.

The CLI (``outlit-etl extract``), the demo and the examples in ``dlt_sources/outlit_pipeline.py`` share these.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import dlt
from dlt.common.destination import TLoaderFileFormat
from dlt.common.pipeline import LoadInfo

from . import outlit_source

PIPELINE_NAME = "outlit"
DATASET_NAME = "outlit_data"


def default_pipeline(
    pipeline_name: str = PIPELINE_NAME,
    destination: Any = "duckdb",
    dataset_name: str = DATASET_NAME,
    pipelines_dir: str | None = None,
) -> dlt.Pipeline:
    """The examples' pipeline: DuckDB file ``outlit.duckdb`` in the working directory by default."""
    return dlt.pipeline(
        pipeline_name=pipeline_name,
        destination=destination,
        dataset_name=dataset_name,
        pipelines_dir=pipelines_dir,  # type: ignore[arg-type]  # dlt types its `= None` defaults without None
    )


def table_counts(pipeline: dlt.Pipeline) -> dict[str, int]:
    """Rows per data table in the pipeline's destination dataset (dlt's own tables left out)."""
    schema = pipeline.default_schema
    tables = [name for name in schema.data_table_names() if not name.startswith("_dlt")]
    counts: dict[str, int] = {}
    with pipeline.sql_client() as client:
        for table in sorted(tables):
            qualified = client.make_qualified_table_name(table)
            try:
                rows = client.execute_sql(f"SELECT COUNT(*) FROM {qualified}")
                counts[table] = rows[0][0] if rows else 0
            except Exception:  # a table declared in the schema but never created (no rows yet)
                counts[table] = 0
    return counts


def fast_file_format(pipeline: dlt.Pipeline) -> TLoaderFileFormat | None:
    """The bulk-load format that is fastest on the pipeline's destination, or None for dlt's default.

    dlt's default for DuckDB and PostgreSQL is SQL INSERT statements, which are an order of magnitude
    slower on a first full load than Parquet (DuckDB) or COPY from CSV (PostgreSQL).
    """
    name = pipeline.destination.destination_name if pipeline.destination else ""
    if name == "postgres":
        return "csv"
    # not Snowflake: JSON columns written as Parquet text would load as strings inside VARIANT
    if name in ("duckdb", "motherduck") and importlib.util.find_spec("pyarrow") is not None:
        return "parquet"
    return None


def run_fast(pipeline: dlt.Pipeline, data: Any, **options: Any) -> LoadInfo:
    """``pipeline.run(data, **options)`` in the destination's fastest bulk-load format."""
    return pipeline.run(data, loader_file_format=fast_file_format(pipeline), **options)  # type: ignore[arg-type]  # dlt types its `= None` defaults without None


def load_all(
    base_url: str | None = None,
    api_key: str | None = None,
    pipeline_name: str = PIPELINE_NAME,
    destination: Any = "duckdb",
    dataset_name: str = DATASET_NAME,
    pipelines_dir: str | None = None,
    include_sources: bool = True,
    **source_options: Any,
) -> dict[str, int]:
    """Load every Outlit table incrementally and return the row count of each table in the warehouse.

    Run it on a schedule: each run asks only for what is new since the last one.
    """
    options: dict[str, Any] = dict(source_options, include_sources=include_sources)
    if base_url is not None:
        options["base_url"] = base_url
    if api_key is not None:
        options["api_key"] = api_key
    pipeline = default_pipeline(pipeline_name, destination, dataset_name, pipelines_dir)
    run_fast(pipeline, outlit_source(**options))
    return table_counts(pipeline)
