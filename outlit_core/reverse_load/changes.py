"""Which rows of a run become events: read in chunks, compared with the ledger, mapped and checked.

A row is sent when it is new or changed since the ledger's last record of its key (or always, with
``mode="all"``). Its event's uuid follows the uuid rules below, so a resend repeats it. Rows that cannot
become valid events, and keys that occur twice, are dead-lettered here, before anything is sent.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from outlit_core.client import EventRejection, PreparedEvent, prepare_event
from outlit_core.reverse_load.mapping import EventMapping, load_mapping
from outlit_core.reverse_load.rows import MappedRow, RowMapper, RowRejected, event_uuid, row_as_json, row_hash
from outlit_core.reverse_load.sql_check import check_select
from outlit_core.reverse_load.warehouse import (
    REJECTED_TABLE,
    DeadLetter,
    LedgerEntry,
    LedgerState,
    quote_table,
)

if TYPE_CHECKING:
    from outlit_core.reverse_load.runner import SyncResult

log = logging.getLogger("outlit_core.reverse_load")

Mode = Literal["changed", "all"]


class LedgerView(Protocol):
    def ledger_lookup(self, sync_name: str, keys: list[str]) -> Mapping[str, LedgerState]: ...


class LedgerWriter(Protocol):
    def record(self, batch_id: str, entries: list[LedgerEntry], dead_letters: list[DeadLetter]) -> None: ...


@dataclass(frozen=True)
class RunPlan:
    """A run's (or a dry run's) checked arguments: what to read and under which sync name."""

    mapping: EventMapping
    query: str
    sync_name: str
    is_sql: bool

    def check_query(self, dialect: str) -> None:
        if self.is_sql:
            check_select(self.query, dialect)  # in the warehouse's dialect, before anything runs


def plan_run(
    mapping: EventMapping | Mapping[str, Any] | str | Path,
    *,
    table: str | None,
    sql: str | None,
    mode: str,
    fresh_uuids: bool | str,
    limit: int | None,
    chunk_size: int,
) -> RunPlan:
    """Check the arguments ``run_reverse_load`` and ``preview_reverse_load`` share; name the one at fault."""
    event_mapping = load_mapping(mapping)
    if mode not in ("changed", "all"):
        raise ValueError(f"mode must be 'changed' or 'all', got {mode!r}")
    if (table is None) == (sql is None):
        raise ValueError("pass exactly one of table= (a table name) or sql= (a SELECT query)")
    if fresh_uuids is not False and mode != "all":
        raise ValueError(
            "fresh_uuids re-sends every row as new events, so it needs mode='all' "
            f"(got mode={mode!r}); with mode='changed' new and changed rows already get new uuids"
        )
    if isinstance(fresh_uuids, str) and not fresh_uuids.strip():
        raise ValueError("fresh_uuids must be True or a non-empty label, got an empty string")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be 1 or more (or None for no limit), got {limit}")
    query = f"SELECT * FROM {quote_table(table)}" if table else str(sql)
    return RunPlan(event_mapping, query, event_mapping.sync_name(table), is_sql=sql is not None)


def field_path(path: Any) -> str | None:
    """``["events", 3, "email"]`` -> ``"email"``: the field within the event, which is what a user fixes."""
    if not path:
        return None
    parts = list(path)
    if len(parts) >= 2 and parts[0] == "events" and isinstance(parts[1], int):
        parts = parts[2:]
    return ".".join(str(p) for p in parts) or None


def limit_events(
    events: Generator[PreparedEvent, None, None], limit: int
) -> Generator[PreparedEvent, None, None]:
    """The first ``limit`` events; stops before asking for the next, so no row past the limit is read."""
    count = 0
    try:
        for event in events:
            yield event
            count += 1
            if count >= limit:
                return
    finally:
        events.close()


class RowEvents:
    """The events one run sends, with the rows behind them kept in ``pending`` until they are settled."""

    def __init__(
        self,
        ledger: LedgerView,
        recorder: LedgerWriter,
        mapping: EventMapping,
        result: SyncResult,
        *,
        mode: Mode,
        namespace: str,
        event_source: str = "server",
        retry_rejected: bool = False,
        fresh_label: str | None = None,
    ) -> None:
        self.ledger = ledger
        self.recorder = recorder
        self.mapping = mapping
        self.mapper = RowMapper(mapping)
        self.result = result
        self.mode = mode
        self.namespace = namespace
        self.event_source = event_source
        self.retry_rejected = retry_rejected
        self.fresh_label = fresh_label  # set: a deliberate re-send, every event gets a new uuid
        self.duplicates: set[str] = set()  # row keys that occur more than once in this run's rows
        # Events handed out but not yet settled, by uuid; bounded by chunk size + batches in flight.
        self.pending: dict[str, tuple[MappedRow, dict[str, Any]]] = {}

    def find_duplicates(self, key_rows: list[tuple[Any, ...]]) -> None:
        """Keys that occur more than once: none of their rows is sent (which one would be right?)."""
        for values in key_rows:
            self.duplicates.add(self.mapper.key_of(dict(zip(self.mapping.key, values, strict=True))))
        if self.duplicates:
            log.warning(
                "reverse load %s: %d key(s) occur more than once in the source rows; their rows are "
                "dead-lettered, not sent (see %s)",
                self.result.sync_name,
                len(self.duplicates),
                REJECTED_TABLE,
            )

    def events(
        self, columns: list[str], chunks: Iterator[list[tuple[Any, ...]]]
    ) -> Generator[PreparedEvent, None, None]:
        """Events (checked and encoded by the client) for the rows that need sending."""
        sync = self.result.sync_name
        for chunk in chunks:
            rows = [dict(zip(columns, values, strict=True)) for values in chunk]
            keys = [self.mapper.key_of(row) for row in rows]
            ledger = self.ledger.ledger_lookup(sync, list(dict.fromkeys(keys)))
            entries: list[LedgerEntry] = []
            dead: list[DeadLetter] = []
            try:
                yield from self._chunk_events(keys, rows, ledger, entries, dead)
            finally:
                # Also when a stop closes this generator mid-chunk: the rows examined so far that failed
                # local checks are counted in ``rejected``, so their dead letters must be written too.
                self.recorder.record(f"{self.result.run_id}:local", entries, dead)

    def _chunk_events(
        self,
        keys: list[str],
        rows: list[dict[str, Any]],
        ledger: Mapping[str, LedgerState],
        entries: list[LedgerEntry],
        dead: list[DeadLetter],
    ) -> Iterator[PreparedEvent]:
        for key, row in zip(keys, rows, strict=True):
            self.result.read += 1  # per row examined, so a stopped run's counts add up
            previous = ledger.get(key)
            prior_uuid = previous.event_uuid if previous else ""
            # An earlier outcome for the same content stands, unless this run resends everything or
            # was asked to try previously rejected rows again.
            settled = (
                previous is not None
                and self.mode == "changed"
                and not (self.retry_rejected and previous.status == "rejected")
            )
            if key in self.duplicates:
                self.result.rejected += 1
                self.result.duplicate_keys += 1
                reason = (
                    f"key {key} occurs more than once in the source rows; a key must identify one row, "
                    "so none of them is sent until the duplicates are removed"
                )
                dead.append(DeadLetter(key, "local", reason, "key", None, row_as_json(row)))
                entries.append(LedgerEntry(key, "duplicate-key", prior_uuid, "rejected"))
                continue
            try:
                mapped = self.mapper.map(row, key)
            except RowRejected as exc:
                as_json = row_as_json(row)
                digest = row_hash(as_json)
                if settled and previous and previous.content_hash == digest:
                    self.result.unchanged += 1  # dead-lettered by an earlier run and not fixed since
                    continue
                self.result.rejected += 1
                dead.append(DeadLetter(key, "local", exc.reason, exc.field, None, as_json))
                entries.append(LedgerEntry(key, digest, prior_uuid, "rejected"))
                continue
            if previous and previous.content_hash == mapped.content_hash:
                if settled:
                    self.result.unchanged += 1
                    continue
                # Same version as recorded before: same uuid, so Outlit keeps one copy.
                event_id = prior_uuid or event_uuid(self.namespace, key, mapped.content_hash)
            else:
                event_id = event_uuid(self.namespace, key, mapped.content_hash, prior_uuid)
            if self.fresh_label is not None:
                # Not derived from the prior uuid: rerunning an interrupted re-send under the same label
                # must repeat the uuids of the rows it already delivered (now in the ledger).
                fresh = f"fresh:{self.fresh_label}"
                event_id = event_uuid(self.namespace, key, mapped.content_hash, fresh)
            encoded = mapped.stamp(event_id)
            checked = prepare_event(mapped.event, source=self.event_source, encoded=encoded)
            if isinstance(checked, EventRejection):  # the client's own per-type check, before sending
                self.result.rejected += 1
                path = field_path(checked.path)
                dead.append(DeadLetter(key, "local", checked.message, path, None, row_as_json(row)))
                entries.append(LedgerEntry(key, mapped.content_hash, prior_uuid, "rejected"))
                continue
            mapped.event = checked.event
            if mapped.event["uuid"] in self.pending:
                self.result.unchanged += 1  # the same row twice in the source: send it once
                continue
            self.pending[mapped.event["uuid"]] = (mapped, row)
            yield checked
