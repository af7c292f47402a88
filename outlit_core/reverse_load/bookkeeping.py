"""The three bookkeeping tables a sync keeps beside its rows: the ledger, the dead letters, the run log.

Written on the warehouse's bookkeeping connection, each batch in one transaction; placeholders are written
``?`` and rewritten into the driver's paramstyle. :class:`~outlit_core.reverse_load.warehouse.Warehouse`
(connections and reads) builds on this.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, NamedTuple

from outlit_core.reverse_load.ddl import LEDGER_TABLE, REJECTED_TABLE, RUNS_TABLE

_REJECTED_COLUMNS = "run_id, sync_name, row_key, stage, reason, field_path, event_uuid, row_json, rejected_at"
_UPSERT_DIALECTS = {"duckdb", "postgresql", "sqlite"}
_ARRAY_DIALECTS = {"duckdb", "postgresql"}
_LOOKUP_CHUNK = 500  # stays under every driver's bound-parameter limit
# A run's counts (SyncResult fields) and the run log's columns that hold them.
RUN_COUNT_COLUMNS = {
    "read": "read_count",
    "sent": "sent_count",
    "unchanged": "unchanged_count",
    "rejected": "rejected_count",
    "retries": "retries",
    "batches": "batches",
}


class LedgerState(NamedTuple):
    content_hash: str
    event_uuid: str
    status: str


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    key: str
    content_hash: str
    event_uuid: str
    status: str  # "delivered" or "rejected"
    batch_id: str | None = None  # the request that delivered it, when several are recorded together


@dataclass(frozen=True, slots=True)
class DeadLetter:
    key: str
    stage: str  # "local" (never sent) or "api" (Outlit answered 400)
    reason: str
    field_path: str | None
    event_uuid: str | None
    row_json: str | None


def utcnow() -> dt.datetime:
    """Naive UTC: every warehouse stores it unchanged, which is not true of aware datetimes."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Bookkeeping:
    """Ledger lookups and writes, dead letters and the run log, on the bookkeeping connection."""

    dialect: str
    _writer: Any
    _paramstyle: str
    _connect: Callable[[], Any]

    def table(self, name: str) -> str:
        raise NotImplementedError

    def ledger_lookup(self, sync_name: str, keys: Sequence[str]) -> dict[str, LedgerState]:
        """What was last recorded for each of ``keys``; absent keys were never seen."""
        found: dict[str, LedgerState] = {}
        cur = self._writer.cursor()
        select = (
            f"SELECT row_key, content_hash, event_uuid, status FROM {self.table(LEDGER_TABLE)} "
            "WHERE sync_name = "
        )
        if self.dialect in _ARRAY_DIALECTS and keys:
            # One round trip per chunk: the keys travel as a single array parameter.
            membership = "row_key IN (SELECT unnest(?))" if self.dialect == "duckdb" else "row_key = ANY(?)"
            cur.execute(*self._sql(f"{select}? AND {membership}", [sync_name, list(keys)]))
            found.update((k, LedgerState(h, u, st)) for k, h, u, st in cur.fetchall())
            self._end_read()
            return found
        for start in range(0, len(keys), _LOOKUP_CHUNK):
            part = list(keys[start : start + _LOOKUP_CHUNK])
            marks = ", ".join(["?"] * len(part))
            cur.execute(
                *self._sql(
                    f"SELECT row_key, content_hash, event_uuid, status FROM {self.table(LEDGER_TABLE)} "
                    f"WHERE sync_name = ? AND row_key IN ({marks})",
                    [sync_name, *part],
                )
            )
            found.update((k, LedgerState(h, u, st)) for k, h, u, st in cur.fetchall())
        self._end_read()
        return found

    def record_batch(
        self,
        *,
        sync_name: str,
        run_id: str,
        batch_id: str,
        entries: Sequence[LedgerEntry],
        dead_letters: Sequence[DeadLetter],
    ) -> None:
        """Write one accepted batch's ledger rows and dead letters in a single transaction."""
        now = utcnow()
        latest = {e.key: e for e in entries}  # one row per key: ON CONFLICT cannot touch a row twice
        cur = self._writer.cursor()
        self._begin(cur)
        try:
            if latest:
                rows: list[tuple[Any, ...]] = [
                    (
                        sync_name,
                        e.key,
                        e.content_hash,
                        e.event_uuid,
                        e.status,
                        e.batch_id or batch_id,
                        run_id,
                        now,
                    )
                    for e in latest.values()
                ]
                self._upsert_ledger(cur, rows)
            if dead_letters:
                letters = [
                    (run_id, sync_name, d.key, d.stage, d.reason, d.field_path, d.event_uuid, d.row_json, now)
                    for d in dead_letters
                ]
                self._insert_many(cur, REJECTED_TABLE, _REJECTED_COLUMNS, letters)
            self._commit(cur)
        except BaseException:
            self._rollback(cur)
            raise

    def start_run(self, *, run_id: str, sync_name: str, mode: str) -> None:
        cur = self._writer.cursor()
        self._begin(cur)
        cur.execute(
            *self._sql(
                f"INSERT INTO {self.table(RUNS_TABLE)} (run_id, sync_name, mode, started_at, status) "
                "VALUES (?, ?, ?, ?, ?)",
                [run_id, sync_name, mode, utcnow(), "running"],
            )
        )
        self._commit(cur)

    def finish_run(self, *, run_id: str, counts: dict[str, int], status: str, error: str | None) -> None:
        cur = self._writer.cursor()
        self._begin(cur)
        assignments = "".join(f"{column} = ?, " for column in RUN_COUNT_COLUMNS.values())
        values = [counts[name] for name in RUN_COUNT_COLUMNS]
        cur.execute(
            *self._sql(
                f"UPDATE {self.table(RUNS_TABLE)} SET finished_at = ?, {assignments}status = ?, error = ? "
                "WHERE run_id = ?",
                [utcnow(), *values, status, error, run_id],
            )
        )
        self._commit(cur)

    def _upsert_ledger(self, cur: Any, rows: list[tuple[Any, ...]]) -> None:
        cols = "sync_name, row_key, content_hash, event_uuid, status, batch_id, run_id, delivered_at"
        if self.dialect in _UPSERT_DIALECTS:
            self._insert_many(
                cur,
                LEDGER_TABLE,
                cols,
                rows,
                suffix=(
                    " ON CONFLICT (sync_name, row_key) DO UPDATE SET content_hash = excluded.content_hash, "
                    "event_uuid = excluded.event_uuid, status = excluded.status, "
                    "batch_id = excluded.batch_id, run_id = excluded.run_id, "
                    "delivered_at = excluded.delivered_at"
                ),
            )
            return
        # Portable fallback: delete then insert inside the same transaction.
        for start in range(0, len(rows), _LOOKUP_CHUNK):
            part = rows[start : start + _LOOKUP_CHUNK]
            marks = ", ".join(["?"] * len(part))
            cur.execute(
                *self._sql(
                    f"DELETE FROM {self.table(LEDGER_TABLE)} WHERE sync_name = ? AND row_key IN ({marks})",
                    [part[0][0], *(r[1] for r in part)],
                )
            )
        self._insert_many(cur, LEDGER_TABLE, cols, rows)

    def _insert_many(
        self, cur: Any, table: str, cols: str, rows: list[tuple[Any, ...]], suffix: str = ""
    ) -> None:
        width = len(rows[0])
        if self.dialect == "duckdb":
            # Column lists unnested in one statement: several times faster than VALUES rows in DuckDB.
            columns = [list(column) for column in zip(*rows, strict=True)]
            unnest = ", ".join(f"unnest(${i + 1})" for i in range(width))
            cur.execute(f"INSERT INTO {self.table(table)} ({cols}) SELECT {unnest}{suffix}", columns)
            return
        # One multi-row VALUES statement per slice: executemany is row-at-a-time in several drivers.
        per = max(1, 900 // width)
        for start in range(0, len(rows), per):
            part = rows[start : start + per]
            values = ", ".join(["(" + ", ".join(["?"] * width) + ")"] * len(part))
            cur.execute(
                *self._sql(
                    f"INSERT INTO {self.table(table)} ({cols}) VALUES {values}{suffix}",
                    [v for row in part for v in row],
                )
            )

    def _sql(self, sql: str, params: list[Any]) -> tuple[str, Any]:
        """Rewrite ``?`` placeholders into the driver's paramstyle (no literal '?' occurs in our SQL)."""
        style = self._paramstyle
        if style == "qmark":
            return sql, params
        if style in ("format", "pyformat"):
            return sql.replace("?", "%s"), params
        pieces = sql.split("?")
        if style == "numeric":
            return "".join(
                p + (f":{i + 1}" if i < len(pieces) - 1 else "") for i, p in enumerate(pieces)
            ), params
        if style == "named":
            out = "".join(p + (f":p{i}" if i < len(pieces) - 1 else "") for i, p in enumerate(pieces))
            return out, {f"p{i}": v for i, v in enumerate(params)}
        raise ValueError(f"unsupported DB-API paramstyle {style!r}")

    def _begin(self, cur: Any) -> None:
        if self.dialect == "duckdb":  # duckdb autocommits unless a transaction is opened explicitly
            cur.execute("BEGIN TRANSACTION")

    def _commit(self, cur: Any = None) -> None:
        if self.dialect == "duckdb" and cur is not None:
            cur.execute("COMMIT")
        else:
            self._writer.commit()

    def _rollback(self, cur: Any) -> None:
        with suppress(Exception):
            if self.dialect == "duckdb":
                cur.execute("ROLLBACK")
            else:
                self._writer.rollback()

    def _end_read(self) -> None:
        # Postgres would otherwise keep a transaction open on the bookkeeping connection between batches.
        if self.dialect == "postgresql":
            self._writer.commit()
