"""``outlit_ingest``: a dlt destination that sends each row as an Outlit ingest event."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import dlt
from dlt.common.schema import TTableSchema

from dlt_sources.outlit.credentials import resolve_outlit_settings
from outlit_core.client import EventRejection, PreparedEvent, prepare_event
from outlit_core.client.config import ClientConfig
from outlit_core.reverse_load import EventMapping, load_mapping
from outlit_core.reverse_load.rows import RowMapper, RowRejected, event_uuid

log = logging.getLogger("dlt_sources.outlit_ingest")

MappingLike = EventMapping | Mapping[str, Any] | str | Path
Rejected = Callable[[str, str, str, dict[str, Any]], None]  # table, row key, reason, row


def outlit_ingest(
    mapping: MappingLike | Mapping[str, MappingLike],
    *,
    client: Any = None,
    source: str = "server",
    on_rejected: Rejected | None = None,
    name: str = "outlit_ingest",
) -> Any:
    """A dlt destination sending each row as an Outlit ingest event.

    ``mapping`` applies to every table, or pass ``{table_name: mapping}``. ``client`` defaults to one built
    from the settings found by :func:`dlt_sources.outlit.credentials.resolve_outlit_settings`. Rows
    that cannot become valid events, and events Outlit rejects, are logged and passed to
    ``on_rejected(table, key, reason, row)``; they do not fail the load.
    """
    mappers = _mappers(mapping)
    state: dict[str, Any] = {"client": client}
    # the same lookup as the source and reverse_load(pipeline), and a missing key fails here, not mid-load
    settings: dict[str, Any] = resolve_outlit_settings(require=("public_key",)) if client is None else {}
    if client is None:
        ClientConfig.from_env(**settings)  # every client setting is checked now, before any load

    def get_client() -> Any:
        if state["client"] is None:
            from outlit_core.client import OutlitClient

            state["client"] = OutlitClient.from_env(**settings)
        return state["client"]

    def report(table: str, key: str, reason: str, row: dict[str, Any]) -> None:
        log.warning("outlit_ingest: %s row %s rejected: %s", table, key, reason)
        if on_rejected is not None:
            on_rejected(table, key, reason, row)

    def send(items: Any, table: TTableSchema) -> None:
        table_name = str(table["name"])
        mapper = mappers.get(table_name) or mappers.get("*")
        if mapper is None:
            raise ValueError(
                f"outlit_ingest has no mapping for table {table_name!r}; "
                f"mapped tables: {', '.join(sorted(mappers))}"
            )
        events: list[PreparedEvent] = []
        rows: dict[str, tuple[str, dict[str, Any]]] = {}
        load_id = str(dlt.current.load_package_state()["load_id"])
        for row in items:
            try:
                mapped = mapper.map(row)
            except RowRejected as exc:
                report(table_name, mapper.key_of(row), exc.reason, row)
                continue
            # The load id is part of the uuid: a package dlt loads again after a crash repeats its uuids
            # (Outlit drops the repeats), while every new load is delivered, so a state that returns
            # (paid -> churned -> paid) is an event each time rather than a duplicate of the first.
            encoded = mapped.stamp(event_uuid(f"dlt:{table_name}", mapped.key, mapped.content_hash, load_id))
            checked = prepare_event(mapped.event, source=source, encoded=encoded)
            if isinstance(checked, EventRejection):
                report(table_name, mapped.key, checked.message, row)
                continue
            if checked.event["uuid"] in rows:
                continue
            rows[checked.event["uuid"]] = (mapped.key, row)
            events.append(checked)
        # The events are checked once, above: deliver() batches and sends them as they are, and names
        # each one refused (by Outlit, or before sending for being larger than a request may be).
        outcome = get_client().deliver(events, source=source, keep_delivered=False)
        for rejected in outcome.rejected:
            key, row = rows[rejected.uuid]
            report(table_name, key, rejected.message or "rejected by Outlit", row)

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
    return {"*": RowMapper(load_mapping(mapping))}
