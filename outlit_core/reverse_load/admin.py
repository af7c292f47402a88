"""Looking at a sync without running it: a dry run, the ledger's state, and resetting ledger rows.

``preview_reverse_load`` goes through the same reading, mapping, change detection and batching as a real
run, but sends nothing and writes nothing (not even the bookkeeping tables). ``sync_status`` and
``reset_sync`` read and edit the ``_outlit_*`` tables a sync keeps in its warehouse.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from outlit_core.client.events import EventRejection, envelope, plan_batches
from outlit_core.client.exceptions import OutlitInputError
from outlit_core.reverse_load.mapping import EventMapping, load_mapping
from outlit_core.reverse_load.runner import Mode, _Run, limit_events
from outlit_core.reverse_load.warehouse import (
    LEDGER_TABLE,
    REJECTED_TABLE,
    RUNS_TABLE,
    DeadLetter,
    LedgerEntry,
    LedgerState,
    Warehouse,
    quote_table,
)

__all__ = ["UnknownSyncError", "preview_reverse_load", "reset_sync", "sync_status"]

_RUN_COLUMNS = (
    "run_id",
    "mode",
    "started_at",
    "finished_at",
    "read_count",
    "sent_count",
    "unchanged_count",
    "rejected_count",
    "retries",
    "batches",
    "status",
    "error",
)


class UnknownSyncError(OutlitInputError):
    """No run or ledger row of this sync name exists in the warehouse."""


class _NoLedger:
    """A warehouse view for a sync that never ran: every row is new, and nothing is created to find out."""

    def __init__(self, warehouse: Warehouse) -> None:
        self._warehouse = warehouse

    def read(self, query: str, chunk_size: int) -> Any:
        return self._warehouse.read(query, chunk_size)

    def ledger_lookup(self, sync_name: str, keys: Sequence[str]) -> dict[str, LedgerState]:
        return {}


class _Collector:
    """Stands in for the ledger recorder in a preview: keeps the local rejections, writes nothing."""

    def __init__(self, sample: int) -> None:
        self.sample = sample
        self.rejections: list[dict[str, Any]] = []

    def record(self, batch_id: str, entries: Sequence[LedgerEntry], dead: Sequence[DeadLetter]) -> None:
        for letter in dead[: max(0, self.sample - len(self.rejections))]:
            self.rejections.append({"key": letter.key, "reason": letter.reason, "field": letter.field_path})


def _has_bookkeeping(warehouse: Warehouse) -> bool:
    try:
        warehouse.query(f"SELECT 1 FROM {warehouse.table(LEDGER_TABLE)} WHERE 1 = 0")
        warehouse.query(f"SELECT 1 FROM {warehouse.table(RUNS_TABLE)} WHERE 1 = 0")
    except Exception:  # missing table: the driver's own error class, which differs per database
        warehouse._rollback(warehouse._writer.cursor())  # Postgres: leave the aborted transaction
        return False
    return True


def preview_reverse_load(
    source: Any,
    mapping: EventMapping | Mapping[str, Any] | str | Path,
    *,
    table: str | None = None,
    sql: str | None = None,
    mode: Mode = "changed",
    schema: str | None = None,
    chunk_size: int = 5_000,
    event_source: str = "server",
    retry_rejected: bool = False,
    fresh_uuids: bool | str = False,
    limit: int | None = None,
    sample: int = 20,
) -> dict[str, Any]:
    """What ``run_reverse_load`` with the same arguments would send now, without sending or recording.

    Returns the counts (``read``, ``would_send``, ``unchanged``, ``rejected``, ``batches``) and up to
    ``sample`` of the events and of the local rejections. Rows Outlit itself would reject (a 400 for one
    event) can only show in a real run.
    """
    event_mapping = load_mapping(mapping)
    if (table is None) == (sql is None):
        raise ValueError("pass exactly one of table= (a table name) or sql= (a SELECT query)")
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be 1 or more, got {limit}")
    query = f"SELECT * FROM {quote_table(table)}" if table else str(sql)
    sync_name = event_mapping.sync_name(table)
    owns_warehouse = not isinstance(source, Warehouse)
    warehouse = Warehouse.open(source, schema=schema)
    try:
        view: Any = warehouse if _has_bookkeeping(warehouse) else _NoLedger(warehouse)
        run = _Run(view, None, event_mapping, sync_name, mode, chunk_size, 1, event_source)  # type: ignore[arg-type]
        run.retry_rejected = retry_rejected
        if fresh_uuids is not False:
            run.fresh_label = "preview" if fresh_uuids is True else str(fresh_uuids)
        collector = _Collector(sample)
        run.recorder = collector  # type: ignore[assignment]
        columns, chunks = view.read(query, chunk_size)
        columns = event_mapping.resolve_columns(columns)
        event_mapping.check_columns(columns)
        events = run._events(columns, chunks)
        if limit is not None:
            events = limit_events(events, limit)
        would_send, batches = 0, 0
        sample_events: list[dict[str, Any]] = []
        for planned in plan_batches(events, envelope(event_source, None, None)):
            if isinstance(planned, EventRejection):  # one event over the request size limit
                run.pending.pop(str(planned.uuid), None)
                run.result.rejected += 1
                collector.rejections.append({"key": None, "reason": planned.message, "field": None})
                continue
            batches += 1
            would_send += len(planned)
            for item in planned:
                run.pending.pop(item.event["uuid"], None)
                if len(sample_events) < sample:
                    sample_events.append(item.event)
        result = run.result
        return {
            "dry_run": True,
            "sync_name": sync_name,
            "mode": mode,
            "read": result.read,
            "would_send": would_send,
            "unchanged": result.unchanged,
            "rejected": result.rejected,
            "batches": batches,
            "events": sample_events,
            "rejections": collector.rejections[:sample],
        }
    finally:
        if owns_warehouse:
            warehouse.close()


def _known_syncs(warehouse: Warehouse) -> list[str]:
    rows = warehouse.query(f"SELECT DISTINCT sync_name FROM {warehouse.table(RUNS_TABLE)}")
    return sorted(str(name) for (name,) in rows)


def _require_sync(warehouse: Warehouse, sync_name: str) -> None:
    if not _has_bookkeeping(warehouse):
        raise UnknownSyncError(
            "no reverse load has run against this warehouse (no _outlit_sync_ledger table"
            f"{' in schema ' + repr(warehouse._schema) if warehouse._schema else ''}): "
            "check --from and --schema"
        )
    runs = warehouse.query(
        f"SELECT COUNT(*) FROM {warehouse.table(RUNS_TABLE)} WHERE sync_name = ?", [sync_name]
    )
    ledger = warehouse.query(
        f"SELECT COUNT(*) FROM {warehouse.table(LEDGER_TABLE)} WHERE sync_name = ?", [sync_name]
    )
    if runs[0][0] or ledger[0][0]:
        return
    known = _known_syncs(warehouse)
    close = difflib.get_close_matches(sync_name, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise UnknownSyncError(
        f"no sync named {sync_name!r} in this warehouse: {hint}known syncs: {', '.join(known) or 'none'} "
        "(a table sync is named '<table>:<event_type>' unless its mapping sets 'name')"
    )


def _limited(warehouse: Warehouse, select: str, rest: str, params: list[Any], limit: int) -> list[Any]:
    if warehouse.dialect == "mssql":
        return warehouse.query(f"SELECT TOP {int(limit)} {select} {rest}", params)
    return warehouse.query(f"SELECT {select} {rest} LIMIT {int(limit)}", params)


def sync_status(
    source: Any, sync_name: str, *, schema: str | None = None, runs: int = 5, rejections: int = 10
) -> dict[str, Any]:
    """The ledger's counts for ``sync_name``, its latest runs, and the dead letters of rows still rejected."""
    owns_warehouse = not isinstance(source, Warehouse)
    warehouse = Warehouse.open(source, schema=schema)
    try:
        _require_sync(warehouse, sync_name)
        ledger_table = warehouse.table(LEDGER_TABLE)
        counts = dict.fromkeys(("delivered", "rejected"), 0)
        for status, count in warehouse.query(
            f"SELECT status, COUNT(*) FROM {ledger_table} WHERE sync_name = ? GROUP BY status", [sync_name]
        ):
            counts[str(status)] = int(count)
        last = warehouse.query(
            f"SELECT MAX(delivered_at) FROM {ledger_table} WHERE sync_name = ? AND status = 'delivered'",
            [sync_name],
        )[0][0]
        recent = _limited(
            warehouse,
            ", ".join(_RUN_COLUMNS),
            f"FROM {warehouse.table(RUNS_TABLE)} WHERE sync_name = ? ORDER BY started_at DESC",
            [sync_name],
            runs,
        )
        # The latest dead letter of each row whose ledger entry is still "rejected".
        dead = _limited(
            warehouse,
            "r.row_key, r.stage, r.reason, r.field_path, r.rejected_at",
            f"FROM {warehouse.table(REJECTED_TABLE)} r JOIN {ledger_table} l "
            "ON l.sync_name = r.sync_name AND l.row_key = r.row_key AND l.run_id = r.run_id "
            "WHERE r.sync_name = ? AND l.status = 'rejected' ORDER BY r.rejected_at DESC",
            [sync_name],
            rejections,
        )
        return {
            "sync_name": sync_name,
            "ledger": {"rows": sum(counts.values()), **counts, "last_delivered_at": last},
            "runs": [dict(zip(_RUN_COLUMNS, row, strict=True)) for row in recent],
            "rejected_rows": [
                dict(zip(("key", "stage", "reason", "field", "rejected_at"), row, strict=True))
                for row in dead
            ],
        }
    finally:
        if owns_warehouse:
            warehouse.close()


def _key_forms(value: str) -> list[str]:
    """The ledger forms of a row key typed by a user: as stored (JSON list), or a single-column value."""
    text = value.strip()
    if text.startswith("["):
        try:
            return [json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)]
        except ValueError:
            raise OutlitInputError(
                f"row key {value!r} looks like a JSON list but does not parse; write it as it is stored in "
                '_outlit_sync_ledger.row_key, e.g. ["acct_1"], or give a single-column key as plain text'
            ) from None
    forms = [json.dumps([text], ensure_ascii=False)]
    if text.lstrip("-").isdigit():
        forms.append(json.dumps([int(text)]))
    return forms


def reset_sync(
    source: Any,
    sync_name: str,
    *,
    schema: str | None = None,
    rows: Sequence[str] | None = None,
    status: str | None = None,
    apply: bool = True,
) -> dict[str, Any]:
    """Forget ledger rows of ``sync_name`` (all, the ``rows`` keys given, and/or those with ``status``), so
    the next run examines those rows again; ``apply=False`` only counts them. Runs and dead letters stay.

    A forgotten row that has not changed gets the uuid it was first delivered under, so Outlit drops it as
    a duplicate: resetting re-checks rows, it does not make Outlit store them twice (``mode="all",
    fresh_uuids=...`` does that).
    """
    if status not in (None, "delivered", "rejected"):
        raise OutlitInputError(f"status must be 'delivered' or 'rejected', got {status!r}")
    owns_warehouse = not isinstance(source, Warehouse)
    warehouse = Warehouse.open(source, schema=schema)
    try:
        _require_sync(warehouse, sync_name)
        where, params = "sync_name = ?", [sync_name]
        if status:
            where, params = f"{where} AND status = ?", [*params, status]
        missing: list[str] = []
        if rows is not None:
            forms = {value: _key_forms(value) for value in rows}
            wanted = [form for group in forms.values() for form in group]
            marks = ", ".join(["?"] * len(wanted))
            found = {
                key
                for (key,) in warehouse.query(
                    f"SELECT row_key FROM {warehouse.table(LEDGER_TABLE)} "
                    f"WHERE {where} AND row_key IN ({marks})",
                    [*params, *wanted],
                )
            }
            missing = [value for value, group in forms.items() if not found & set(group)]
            where, params = f"{where} AND row_key IN ({marks})", [*params, *wanted]
        table = warehouse.table(LEDGER_TABLE)
        count = int(warehouse.query(f"SELECT COUNT(*) FROM {table} WHERE {where}", params)[0][0])
        if apply and count:
            cur = warehouse._writer.cursor()
            warehouse._begin(cur)
            try:
                cur.execute(*warehouse._sql(f"DELETE FROM {table} WHERE {where}", params))
                warehouse._commit(cur)
            except BaseException:
                warehouse._rollback(cur)
                raise
        return {"sync_name": sync_name, "reset": count, "applied": apply, "not_found": missing}
    finally:
        if owns_warehouse:
            warehouse.close()
