"""The reverse-load run: read rows in chunks, keep what changed, send full batches, record what Outlit took.

Exactly-once rests on three facts. Each event's uuid is a function of the row's key, its content and the
uuid last delivered for that key, so a resend repeats it and Outlit drops the repeat. The ledger row for an
event is written only after Outlit accepted its batch, so a crash can only cause a resend, never a loss.
The ledger lives in the warehouse, so any machine that reruns the sync sees the same history.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Generator, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from outlit_core.client.events import (
    EventRejection,
    PreparedEvent,
    envelope,
    plan_batches,
    prepare_event,
)
from outlit_core.client.exceptions import OutlitError
from outlit_core.reverse_load import locks
from outlit_core.reverse_load.delivery import Delivery, deliver_batch, field_path, partial_delivery
from outlit_core.reverse_load.mapping import EventMapping, load_mapping
from outlit_core.reverse_load.recorder import Recorder
from outlit_core.reverse_load.rows import (
    MappedRow,
    RowMapper,
    RowRejected,
    event_uuid,
    row_as_json,
    row_hash,
)
from outlit_core.reverse_load.sql_check import check_select
from outlit_core.reverse_load.warehouse import (
    REJECTED_TABLE,
    DeadLetter,
    LedgerEntry,
    Warehouse,
    quote_table,
    redact_url_password,
)

if TYPE_CHECKING:
    from outlit_core.client import OutlitClient

log = logging.getLogger("outlit_core.reverse_load")

Mode = Literal["changed", "all"]
# Enough requests in flight to reach the 100 requests/s limit at ~150 ms per round trip; the client's
# shared limiter keeps the rate itself in check.
DEFAULT_MAX_IN_FLIGHT = 16


@dataclass
class SyncResult:
    """Counts for one run; also written to ``_outlit_sync_runs``."""

    run_id: str
    sync_name: str
    mode: str
    read: int = 0
    sent: int = 0
    unchanged: int = 0
    rejected: int = 0
    retries: int = 0
    batches: int = 0
    #: rows dead-lettered because their key occurs more than once in this run's rows (also in ``rejected``)
    duplicate_keys: int = 0
    status: str = "running"
    duration_s: float = 0.0
    error: str | None = None

    def counts(self) -> dict[str, int]:
        return {
            "read": self.read,
            "sent": self.sent,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "retries": self.retries,
            "batches": self.batches,
        }

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class ReverseLoadError(OutlitError):
    """The run stopped early; ``result`` holds the counts up to that point (already in the run log)."""

    def __init__(self, message: str, result: SyncResult) -> None:
        super().__init__(message)
        self.result = result


def run_reverse_load(
    source: Any,
    mapping: EventMapping | Mapping[str, Any] | str | Path,
    *,
    table: str | None = None,
    sql: str | None = None,
    mode: Mode = "changed",
    client: OutlitClient | None = None,
    schema: str | None = None,
    chunk_size: int = 5_000,
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    event_source: str = "server",
    retry_rejected: bool = False,
    stop: threading.Event | None = None,
    fresh_uuids: bool | str = False,
    uuid_namespace: str | None = None,
    limit: int | None = None,
) -> SyncResult:
    """Send the rows of ``table`` (or the result of ``sql``) in ``source`` to Outlit as ingest events.

    ``source`` is a DuckDB file path, a SQLAlchemy URL or Engine, a duckdb connection, or a
    :class:`Warehouse`. ``client`` defaults to ``OutlitClient.from_env()``. Bookkeeping tables are created in
    ``schema`` (default: the connection's default schema). Raises :class:`ReverseLoadError` if the run
    stops early; everything delivered before that is in the ledger and will not be sent again.

    Rows dead-lettered by an earlier run are skipped while they stay unchanged; ``retry_rejected=True``
    tries them again (say, after Outlit relaxed a rule).

    ``mode="all"`` resends every row, but a row already delivered keeps its uuid, so Outlit drops it as a
    duplicate: it re-sends nothing Outlit still has, and cannot restore events lost on Outlit's side. For a
    deliberate full re-send use ``mode="all", fresh_uuids=True``: every event gets a new uuid derived from
    this run's id, so Outlit stores each row again. Pass a label (``fresh_uuids="restore-2026-03"``)
    instead of True to derive the uuids from it: rerunning with the same label after an interrupted
    re-send repeats the same uuids, so the rows that did arrive are deduplicated, not stored a third time.

    Event uuids are derived in ``uuid_namespace`` (else the mapping's ``uuid_namespace``, else the sync
    name): two warehouses sending the same rows under one namespace share uuids, so Outlit keeps one copy;
    give each its own namespace to keep both.

    The status is ``"success"``, ``"partial"`` (some rows were dead-lettered or refused), ``"stopped"``;
    a failed run raises. Another run of the same sync in progress raises :class:`SyncBusyError` before
    anything is read or sent.

    Setting ``stop`` (from another thread or a signal handler, e.g. Airflow's ``on_kill``) ends the run
    between batches: no new batch is sent, the batches in flight finish and are recorded in the ledger, and
    the run is logged with status ``"stopped"`` and returned. A rerun sends exactly the rows not recorded.

    ``limit`` sends at most that many events (new or changed rows, in source order); the next run goes on
    from there, since what was sent is in the ledger.
    """
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
    if chunk_size < 1 or max_in_flight < 1:
        raise ValueError("chunk_size and max_in_flight must be at least 1")
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be 1 or more (or None for no limit), got {limit}")
    query = f"SELECT * FROM {quote_table(table)}" if table else str(sql)
    sync_name = event_mapping.sync_name(table)
    if uuid_namespace is not None and not uuid_namespace.strip():
        raise ValueError("uuid_namespace must be a non-empty string (or None for the sync name)")
    owns_client = client is None
    if client is None:
        from outlit_core.client import OutlitClient

        client = OutlitClient.from_env()
    owns_warehouse = not isinstance(source, Warehouse)
    warehouse = Warehouse.open(source, schema=schema)
    try:
        if sql is not None:
            check_select(query, warehouse.dialect)  # in the warehouse's dialect, before anything runs
        run = _Run(warehouse, client, event_mapping, sync_name, mode, chunk_size, max_in_flight, event_source)
        run.namespace = uuid_namespace or event_mapping.uuid_namespace or sync_name
        run.retry_rejected = retry_rejected
        run.stop = stop or threading.Event()
        run.limit = limit
        if fresh_uuids is not False:
            run.fresh_label = run.result.run_id if fresh_uuids is True else str(fresh_uuids)
        return run.execute(query)
    finally:
        if owns_warehouse:
            warehouse.close()
        if owns_client:
            client.close()


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


class _Run:
    def __init__(
        self,
        warehouse: Warehouse,
        client: OutlitClient,
        mapping: EventMapping,
        sync_name: str,
        mode: Mode,
        chunk_size: int,
        max_in_flight: int,
        event_source: str,
    ) -> None:
        self.wh = warehouse
        self.client = client
        self.mapping = mapping
        self.mapper = RowMapper(mapping)
        self.mode = mode
        self.chunk_size = chunk_size
        self.max_in_flight = max_in_flight
        self.event_source = event_source
        self.retry_rejected = False
        self.stop = threading.Event()
        self.fresh_label: str | None = None  # set: a deliberate re-send, every event gets a new uuid
        self.namespace = sync_name
        self.in_flight: dict[str, list[dict[str, Any]]] = {}  # batch id -> its events, until settled
        self.duplicates: set[str] = set()  # row keys that occur more than once in this run's rows
        self.limit: int | None = None  # send at most this many events
        self.result = SyncResult(run_id=uuid.uuid4().hex, sync_name=sync_name, mode=mode)
        # Events handed to the batcher but not yet settled, by uuid; bounded by chunk size + in-flight.
        self.pending: dict[str, tuple[MappedRow, dict[str, Any]]] = {}

    def execute(self, query: str) -> SyncResult:
        started = time.monotonic()
        self.wh.ensure_tables()
        release = locks.acquire(self.wh, self.result.sync_name, self.result.run_id)
        try:
            return self._execute_locked(query, started)
        finally:
            release()

    def _execute_locked(self, query: str, started: float) -> SyncResult:
        self.wh.start_run(run_id=self.result.run_id, sync_name=self.result.sync_name, mode=self.mode)
        try:
            self.recorder = Recorder(self.wh, sync_name=self.result.sync_name, run_id=self.result.run_id)
            try:
                columns, chunks = self.wh.read(query, self.chunk_size)
                columns = self.mapping.resolve_columns(columns)
                self.mapping.check_columns(columns)
                self._find_duplicates(query, columns)
                events = self._events(columns, chunks)
                self._send_all(limit_events(events, self.limit) if self.limit else events)
            finally:
                self.recorder.close()  # commit every accepted batch, also when the run fails
        except BaseException as exc:
            self.result.status = "failed"
            self.result.error = redact_url_password(f"{type(exc).__name__}: {exc}")[:2000]
            self.result.duration_s = time.monotonic() - started
            self._finish()
            if isinstance(exc, Exception):
                raise ReverseLoadError(
                    f"reverse load {self.result.sync_name!r} stopped: {self.result.error}", self.result
                ) from exc
            raise
        stopped = self.stop.is_set()
        self.result.status = "stopped" if stopped else "partial" if self.result.rejected else "success"
        self.result.duration_s = time.monotonic() - started
        self._finish()
        log.log(
            logging.WARNING if stopped else logging.INFO,
            "reverse load %s %s: read %d, sent %d, unchanged %d, rejected %d, retries %d in %.1fs%s",
            self.result.sync_name,
            "stopped on request" if stopped else "finished",
            self.result.read,
            self.result.sent,
            self.result.unchanged,
            self.result.rejected,
            self.result.retries,
            self.result.duration_s,
            "; everything sent is recorded, a rerun sends the rest" if stopped else "",
        )
        return self.result

    def _find_duplicates(self, query: str, columns: list[str]) -> None:
        """Keys that occur more than once: none of their rows is sent (which one would be right?)."""
        actual = {c.lower(): c for c in columns}
        key_columns = [c if c in columns else actual.get(c.lower(), c) for c in self.mapping.key]
        for values in self.wh.duplicate_keys(query, key_columns):
            self.duplicates.add(self.mapper.key_of(dict(zip(self.mapping.key, values, strict=True))))
        if self.duplicates:
            log.warning(
                "reverse load %s: %d key(s) occur more than once in the source rows; their rows are "
                "dead-lettered, not sent (see %s)",
                self.result.sync_name,
                len(self.duplicates),
                REJECTED_TABLE,
            )

    def _finish(self) -> None:
        try:
            self.wh.finish_run(
                run_id=self.result.run_id,
                counts=self.result.counts(),
                status=self.result.status,
                error=self.result.error,
            )
        except Exception:  # the run's own outcome matters more than its log line
            log.exception("could not record the end of run %s", self.result.run_id)

    # --- reading and change detection ----------------------------------------------------------------

    def _events(
        self, columns: list[str], chunks: Iterator[list[tuple[Any, ...]]]
    ) -> Generator[PreparedEvent, None, None]:
        """Events (checked and encoded by the client) for the rows that need sending."""
        sync = self.result.sync_name
        for chunk in chunks:
            rows = [dict(zip(columns, values, strict=True)) for values in chunk]
            keys = [self.mapper.key_of(row) for row in rows]
            ledger = self.wh.ledger_lookup(sync, list(dict.fromkeys(keys)))
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
        ledger: Mapping[str, Any],
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
                mapped.event["uuid"] = prior_uuid or event_uuid(self.namespace, key, mapped.content_hash)
            else:
                mapped.event["uuid"] = event_uuid(self.namespace, key, mapped.content_hash, prior_uuid)
            if self.fresh_label is not None:
                # Not derived from the prior uuid: rerunning an interrupted re-send under the same label
                # must repeat the uuids of the rows it already delivered (now in the ledger).
                fresh = f"fresh:{self.fresh_label}"
                mapped.event["uuid"] = event_uuid(self.namespace, key, mapped.content_hash, fresh)
            checked = prepare_event(mapped.event, source=self.event_source)
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

    # --- sending -------------------------------------------------------------------------------------

    def _send_all(self, events: Generator[PreparedEvent, None, None]) -> None:
        window: list[tuple[str, Future[Delivery]]] = []
        # The client's batch planner takes the already-checked events, so nothing is checked twice here.
        batches = plan_batches(events, envelope(self.event_source, None, None))
        with ThreadPoolExecutor(
            max_workers=self.max_in_flight, thread_name_prefix="outlit-reverse-load"
        ) as pool:
            try:
                for number, planned in enumerate(batches):
                    if self.stop.is_set():
                        # Between batches: nothing new goes out; the ones in flight settle below.
                        log.warning("reverse load %s: stop requested", self.result.sync_name)
                        break
                    if isinstance(planned, EventRejection):  # one event over the request size limit
                        self._reject_oversized(planned)
                        continue
                    batch = [item.event for item in planned]
                    future = pool.submit(deliver_batch, self.client, batch, self.event_source)
                    batch_id = f"{self.result.run_id}:{number}"
                    self.in_flight[batch_id] = batch
                    window.append((batch_id, future))
                    self._settle(window, block=len(window) >= self.max_in_flight)
                while window:
                    self._settle(window, block=True)
                events.close()  # a stopped run: write the local dead letters of the rows examined so far
            except BaseException:
                # Record every batch Outlit did accept before giving up, so a rerun does not resend them.
                for _batch_id, future in window:
                    future.cancel()
                wait([future for _batch_id, future in window])
                try:
                    self._settle(window, block=False)
                    # now, while the recorder is open, rather than whenever the generator is collected
                    events.close()
                except BaseException:
                    log.debug("another batch failed while stopping", exc_info=True)
                raise

    def _reject_oversized(self, rejection: EventRejection) -> None:
        mapped, row = self.pending.pop(str(rejection.uuid))
        entry = LedgerEntry(mapped.key, mapped.content_hash, "", "rejected")
        dead = DeadLetter(mapped.key, "local", rejection.message, None, None, row_as_json(row))
        self.result.rejected += 1
        self.recorder.record(f"{self.result.run_id}:local", [entry], [dead])

    def _settle(self, window: list[tuple[str, Future[Delivery]]], *, block: bool) -> None:
        """Hand every finished batch to the recorder; raise the first failure after recording the rest."""
        if block:
            wait([future for _batch_id, future in window], return_when=FIRST_COMPLETED)
        # One scan decides: a future that completes after it stays in the window for the next call, so
        # every future is settled exactly once (two scans could drop one finishing in between).
        finished: list[tuple[str, Future[Delivery]]] = []
        waiting: list[tuple[str, Future[Delivery]]] = []
        for item in window:
            (finished if item[1].done() else waiting).append(item)
        if not finished:
            return
        window[:] = waiting
        entries: list[LedgerEntry] = []
        dead: list[DeadLetter] = []
        outcomes: list[Delivery] = []
        error: BaseException | None = None
        for batch_id, future in finished:
            if future.cancelled():
                continue
            failure = future.exception()
            if failure is not None:
                error = error or failure
                # What Outlit confirmed before the failure is recorded, and its retries counted.
                outcome = partial_delivery(failure, self.in_flight.pop(batch_id, []))
                if outcome is None:
                    continue
            else:
                outcome = future.result()
                self.in_flight.pop(batch_id, None)
            outcomes.append(outcome)
            for event in outcome.delivered:
                mapped, _row = self.pending.pop(event["uuid"])
                entries.append(
                    LedgerEntry(mapped.key, mapped.content_hash, event["uuid"], "delivered", batch_id)
                )
            for event, path, message in outcome.rejected:
                mapped, row = self.pending.pop(event["uuid"])
                entries.append(
                    LedgerEntry(mapped.key, mapped.content_hash, event["uuid"], "rejected", batch_id)
                )
                dead.append(DeadLetter(mapped.key, "api", message, path, event["uuid"], row_as_json(row)))
        self.recorder.record(finished[0][0], entries, dead)
        for outcome in outcomes:
            self.result.sent += len(outcome.delivered)
            self.result.rejected += len(outcome.rejected)
            self.result.retries += outcome.retries
            self.result.batches += outcome.requests
        if error is not None:
            raise error
