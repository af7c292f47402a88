"""Writes settled batches to the warehouse ledger off the sending path.

A warehouse commit costs about as long as an ingest request, so committing on the thread that maps rows
and hands out batches would halve throughput. Batches accepted by Outlit are queued here instead, and a
writer thread with a connection of its own commits what has queued up (gathered for up to 50 ms) in one
transaction. The ledger is still written only after Outlit accepted a batch: a crash before the commit
means a resend with the same uuids, which Outlit deduplicates.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from outlit_core.reverse_load.warehouse import DeadLetter, LedgerEntry, Warehouse


@dataclass(frozen=True, slots=True)
class _Item:
    batch_id: str
    entries: Sequence[LedgerEntry]
    dead_letters: Sequence[DeadLetter]


_STOP = object()
_LINGER_S = 0.05  # how long the writer gathers batches into one transaction
_MAX_ROWS = 5_000  # ... or until this many rows are waiting


class Recorder:
    """Queue of ledger writes for one run; ``close()`` flushes it and re-raises a failed write."""

    def __init__(self, warehouse: Warehouse, *, sync_name: str, run_id: str) -> None:
        self.sync_name = sync_name
        self.run_id = run_id
        self._own = warehouse.bookkeeping_session()
        self._threaded = self._own is not warehouse
        self._queue: queue.Queue[object] = queue.Queue()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        if self._threaded:
            self._thread = threading.Thread(target=self._run, name="outlit-ledger-writer", daemon=True)
            self._thread.start()

    def record(
        self, batch_id: str, entries: Sequence[LedgerEntry], dead_letters: Sequence[DeadLetter]
    ) -> None:
        if self._error is not None:
            raise self._error
        if not entries and not dead_letters:
            return
        item = _Item(batch_id, entries, dead_letters)
        if self._threaded:
            self._queue.put(item)
        else:  # SQLite: one connection, so write in place
            self._write([item])

    def close(self) -> None:
        """Wait until everything queued is committed; raise the first write error, if any."""
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join()
            self._thread = None
            self._own.close()
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        stop = False
        while not stop:
            items: list[_Item] = []
            item = self._queue.get()
            # Linger a little after the first batch: one transaction per ~50 ms instead of one per batch,
            # since a commit and the upsert's fixed cost are most of a small write. A crash meanwhile only
            # means a resend, which Outlit deduplicates; close() ends the wait at once.
            deadline = time.monotonic() + _LINGER_S
            rows = 0
            while True:
                if item is _STOP:
                    stop = True
                    break
                if isinstance(item, _Item):
                    items.append(item)
                    rows += len(item.entries) + len(item.dead_letters)
                remaining = deadline - time.monotonic()
                if rows >= _MAX_ROWS or remaining <= 0:
                    break
                try:
                    item = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
            if items and self._error is None:
                try:
                    self._write(items)
                except BaseException as exc:  # surfaced to the run by record() / close()
                    self._error = exc

    def _write(self, items: list[_Item]) -> None:
        entries = [
            e if e.batch_id else LedgerEntry(e.key, e.content_hash, e.event_uuid, e.status, item.batch_id)
            for item in items
            for e in item.entries
        ]
        dead = [d for item in items for d in item.dead_letters]
        self._own.record_batch(
            sync_name=self.sync_name,
            run_id=self.run_id,
            batch_id=items[0].batch_id,
            entries=entries,
            dead_letters=dead,
        )
