"""Outlit as a dlt destination, and ``reverse_load()``: warehouse tables to Outlit ingest events.

Two ways to send rows to Outlit:

* ``reverse_load(pipeline, table="accounts", mapping=...)`` reads a table a dlt pipeline already loaded
  (or any DuckDB file / SQLAlchemy URL) and sends only new or changed rows, with a delivery ledger in the
  same warehouse. This is the exactly-once path: use it for scheduled syncs.
* ``outlit_ingest(mapping=...)`` is a ``@dlt.destination`` for piping any dlt resource straight to Outlit.
  Its events carry name-based uuids (from the row key and content), so when dlt resends a batch after a
  crash Outlit drops the repeats; it keeps no ledger, so every run sends every row it is given.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import dlt
from dlt.common.schema import TTableSchema

from outlit_provider.client.events import EventRejection, prepare_event
from outlit_provider.reverse_load import EventMapping, SyncResult, load_mapping, run_reverse_load
from outlit_provider.reverse_load.delivery import deliver_batch
from outlit_provider.reverse_load.rows import RowMapper, RowRejected, event_uuid

__all__ = ["outlit_ingest", "reverse_load"]

log = logging.getLogger("dlt_sources.outlit_ingest")

MappingLike = EventMapping | Mapping[str, Any] | str | Path
Rejected = Callable[[str, str, str, dict[str, Any]], None]  # table, row key, reason, row


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
    """Send rows to Outlit exactly once; see :func:`outlit_provider.reverse_load.run_reverse_load`.

    ``source`` may be a ``dlt.Pipeline``: its destination (DuckDB, Postgres, ...) is read, ``table`` is
    looked up in the pipeline's dataset, and the bookkeeping tables go into that dataset too.
    """
    if isinstance(source, dlt.Pipeline):
        source, dataset = _pipeline_warehouse(source)
        if table is not None and "." not in table:
            table = f"{dataset}.{table}"
        schema = schema or dataset
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
        credentials = dest.config.credentials  # type: ignore[attr-defined]
    url = credentials.to_native_representation()
    return url, pipeline.dataset_name


def outlit_ingest(
    mapping: MappingLike | Mapping[str, MappingLike],
    *,
    client: Any = None,
    source: str = "server",
    on_rejected: Rejected | None = None,
    name: str = "outlit_ingest",
) -> Any:
    """A dlt destination sending each row as an Outlit ingest event.

    ``mapping`` applies to every table, or pass ``{table_name: mapping}``. ``client`` defaults to
    ``OutlitClient.from_env()``. Rows that cannot become valid events, and events Outlit rejects, are
    logged and passed to ``on_rejected(table, key, reason, row)``; they do not fail the load.
    """
    mappers = _mappers(mapping)
    state: dict[str, Any] = {"client": client}

    def get_client() -> Any:
        if state["client"] is None:
            from outlit_provider.client import OutlitClient

            state["client"] = OutlitClient.from_env()
        return state["client"]

    def report(table: str, key: str, reason: str, row: dict[str, Any]) -> None:
        log.warning("outlit_ingest: %s row %s rejected: %s", table, key, reason)
        if on_rejected is not None:
            on_rejected(table, key, reason, row)

    def send(items: Any, table: TTableSchema) -> None:
        table_name = table["name"]
        mapper = mappers.get(table_name) or mappers.get("*")
        if mapper is None:
            raise ValueError(
                f"outlit_ingest has no mapping for table {table_name!r}; "
                f"mapped tables: {', '.join(sorted(mappers))}"
            )
        events: list[dict[str, Any]] = []
        rows: dict[str, tuple[str, dict[str, Any]]] = {}
        for row in items:
            try:
                mapped = mapper.map(row)
            except RowRejected as exc:
                report(table_name, mapper.key_of(row), exc.reason, row)
                continue
            mapped.event["uuid"] = event_uuid(f"dlt:{table_name}", mapped.key, mapped.content_hash)
            checked = prepare_event(mapped.event, source=source)
            if isinstance(checked, EventRejection):
                report(table_name, mapped.key, checked.message, row)
                continue
            if checked.event["uuid"] in rows:
                continue
            rows[checked.event["uuid"]] = (mapped.key, row)
            events.append(checked.event)
        for batch in get_client().iter_event_batches(events, source=source):
            outcome = deliver_batch(get_client(), batch, source)
            for event, _path, message in outcome.rejected:
                key, row = rows[event["uuid"]]
                report(table_name, key, message, row)

    return dlt.destination(
        send,
        name=name,
        batch_size=100,
        loader_file_format="typed-jsonl",
        naming_convention="direct",
        skip_dlt_columns_and_tables=True,
        max_table_nesting=0,
    )()


def _mappers(mapping: MappingLike | Mapping[str, MappingLike]) -> dict[str, RowMapper]:
    if isinstance(mapping, Mapping) and "event_type" not in mapping:
        return {table: RowMapper(load_mapping(m)) for table, m in mapping.items()}
    return {"*": RowMapper(load_mapping(mapping))}  # type: ignore[arg-type]
