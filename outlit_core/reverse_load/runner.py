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
from collections.abc import Generator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from outlit_core.client import OutlitError, PreparedEvent
from outlit_core.reverse_load import locks
from outlit_core.reverse_load.bookkeeping import RUN_COUNT_COLUMNS
from outlit_core.reverse_load.changes import Mode, RowEvents, limit_events, plan_run
from outlit_core.reverse_load.delivery import BatchOutcomes
from outlit_core.reverse_load.mapping import EventMapping
from outlit_core.reverse_load.recorder import Recorder
from outlit_core.reverse_load.warehouse import Warehouse, redact_url_password

if TYPE_CHECKING:
    from outlit_core.client import OutlitClient

__all__ = [
    "DEFAULT_MAX_IN_FLIGHT",
    "Mode",
    "ReverseLoadError",
    "SyncResult",
    "limit_events",
    "run_reverse_load",
]

log = logging.getLogger("outlit_core.reverse_load")

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
        """The counts the run log keeps."""
        return {name: getattr(self, name) for name in RUN_COUNT_COLUMNS}

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
    plan = plan_run(
        mapping, table=table, sql=sql, mode=mode, fresh_uuids=fresh_uuids, limit=limit, chunk_size=chunk_size
    )
    if max_in_flight < 1:
        raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight}")
    if uuid_namespace is not None and not uuid_namespace.strip():
        raise ValueError("uuid_namespace must be a non-empty string (or None for the sync name)")
    owns_client = client is None
    if client is None:
        from outlit_core.client import OutlitClient

        client = OutlitClient.from_env()
    owns_warehouse = not isinstance(source, Warehouse)
    warehouse = Warehouse.open(source, schema=schema)
    try:
        plan.check_query(warehouse.dialect)
        run = _Run(warehouse, client, plan.mapping, SyncResult(uuid.uuid4().hex, plan.sync_name, mode))
        run.chunk_size, run.max_in_flight, run.event_source = chunk_size, max_in_flight, event_source
        run.namespace = uuid_namespace or plan.mapping.uuid_namespace or plan.sync_name
        run.retry_rejected = retry_rejected
        run.stop = stop or threading.Event()
        run.limit = limit
        if fresh_uuids is not False:
            run.fresh_label = run.result.run_id if fresh_uuids is True else str(fresh_uuids)
        return run.execute(plan.query)
    finally:
        if owns_warehouse:
            warehouse.close()
        if owns_client:
            client.close()


class _Run:
    """One run's lifecycle: the lock, the run log, reading, sending through ``deliver()``, the status."""

    def __init__(
        self, warehouse: Warehouse, client: OutlitClient, mapping: EventMapping, result: SyncResult
    ) -> None:
        self.wh = warehouse
        self.client = client
        self.mapping = mapping
        self.mode: Mode = result.mode  # type: ignore[assignment]
        self.result = result
        self.chunk_size = 5_000
        self.max_in_flight = DEFAULT_MAX_IN_FLIGHT
        self.event_source = "server"
        self.retry_rejected = False
        self.stop = threading.Event()
        self.fresh_label: str | None = None  # set: a deliberate re-send, every event gets a new uuid
        self.namespace = result.sync_name
        self.limit: int | None = None  # send at most this many events

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
            recorder = Recorder(self.wh, sync_name=self.result.sync_name, run_id=self.result.run_id)
            try:
                rows = RowEvents(
                    self.wh,
                    recorder,
                    self.mapping,
                    self.result,
                    mode=self.mode,
                    namespace=self.namespace,
                    event_source=self.event_source,
                    retry_rejected=self.retry_rejected,
                    fresh_label=self.fresh_label,
                )
                columns, chunks = self.wh.read(query, self.chunk_size)
                columns = self.mapping.resolve_columns(columns)
                self.mapping.check_columns(columns)
                actual = {c.lower(): c for c in columns}
                key_columns = [c if c in columns else actual.get(c.lower(), c) for c in self.mapping.key]
                rows.find_duplicates(self.wh.duplicate_keys(query, key_columns))
                events = rows.events(columns, chunks)
                self._send_all(limit_events(events, self.limit) if self.limit else events, rows, recorder)
            finally:
                recorder.close()  # commit every accepted batch, also when the run fails
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

    def _send_all(
        self, events: Generator[PreparedEvent, None, None], rows: RowEvents, recorder: Recorder
    ) -> None:
        """Everything through the client's ``deliver()``; the ledger follows each batch it settles."""
        try:
            report = self.client.deliver(
                events,
                source=self.event_source,
                stop=self.stop,
                on_batch=BatchOutcomes(rows, recorder, self.result),
                keep_delivered=False,
                concurrency=self.max_in_flight,
            )
        finally:
            # A stopped or failed run: write the local dead letters of the rows examined so far, now,
            # while the recorder is open, rather than whenever the generator is collected.
            events.close()
        if report.stopped:
            log.warning("reverse load %s: stop requested", self.result.sync_name)
