"""``reverse_load()``: send a table a dlt pipeline loaded (or any warehouse table) to Outlit, exactly once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dlt

from dlt_sources.outlit.credentials import resolve_outlit_settings
from outlit_core.client.exceptions import OutlitConfigurationError
from outlit_core.reverse_load import EventMapping, SyncResult, run_reverse_load

MappingLike = EventMapping | dict[str, Any] | str | Path


def reverse_load(
    source: Any,
    *,
    table: str | None = None,
    sql: str | None = None,
    mapping: MappingLike,
    mode: str = "changed",
    client: Any = None,
    schema: str | None = None,
    **options: Any,
) -> SyncResult:
    """Send rows to Outlit exactly once; see :func:`outlit_core.reverse_load.run_reverse_load`.

    ``source`` may be a ``dlt.Pipeline``: its destination (DuckDB, Postgres, ...) is read, ``table`` is
    looked up in the pipeline's dataset, and the bookkeeping tables go into that dataset too. ``client``
    defaults to one built from the settings the source and ``outlit_ingest`` read too (docs/reverse-load.md).
    """
    if isinstance(source, dlt.Pipeline):
        source, dataset = _pipeline_warehouse(source)
        if table is not None and "." not in table:
            table = f"{dataset}.{table}"
        schema = schema or dataset
    if client is None:
        from outlit_core.client import OutlitClient

        # the same lookup as the source and the outlit_ingest destination (dlt_sources/outlit/credentials.py)
        settings = resolve_outlit_settings(require=("public_key",))
        with OutlitClient.from_env(**settings) as own:
            return reverse_load(
                source, table=table, sql=sql, mapping=mapping, mode=mode, client=own, schema=schema, **options
            )
    return run_reverse_load(
        source,
        mapping,
        table=table,
        sql=sql,
        mode=mode,  # type: ignore[arg-type]
        client=client,
        schema=schema,
        **options,
    )


def _pipeline_warehouse(pipeline: dlt.Pipeline) -> tuple[str, str]:
    with pipeline.destination_client() as dest:
        credentials = dest.config.credentials
    if credentials is None:
        raise OutlitConfigurationError(
            f"pipeline {pipeline.pipeline_name!r} has no destination credentials to read the warehouse with; "
            "pass the warehouse's connection URL as the source instead"
        )
    url = credentials.to_native_representation()
    return url, pipeline.dataset_name
