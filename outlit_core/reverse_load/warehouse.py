"""The warehouse side of a reverse load: chunked reads of the source rows, and the three bookkeeping tables.

Everything goes through plain DB-API connections so that one code path serves DuckDB (its own module),
any SQLAlchemy URL (Postgres, Snowflake, SQLite, ...) and any Airflow ``DbApiHook``. Bookkeeping tables live
in the same database as the rows, so a rerun on another machine sees what was delivered.

* ``_outlit_sync_ledger``: one row per (sync, source key): content hash and uuid last delivered (or rejected).
* ``_outlit_rejected``: dead letters, one row per rejected source row and attempt.
* ``_outlit_sync_runs``: one row per run with its counts and outcome.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from outlit_core.client.exceptions import OutlitError
from outlit_core.reverse_load.ddl import (  # noqa: F401  (re-exported: the package's public names)
    LEDGER_TABLE,
    REJECTED_TABLE,
    RUNS_TABLE,
    SUPPORTED_DIALECTS,
    UnsupportedDialectError,
    bookkeeping_ddl,
    check_dialect,
)
from outlit_core.reverse_load.locks import connection_error, open_duckdb_file

_REJECTED_COLUMNS = "run_id, sync_name, row_key, stage, reason, field_path, event_uuid, row_json, rejected_at"
_UPSERT_DIALECTS = {"duckdb", "postgresql", "sqlite"}
_ARRAY_DIALECTS = {"duckdb", "postgresql"}
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*){0,2}$")
_LOOKUP_CHUNK = 500  # stays under every driver's bound-parameter limit


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


def quote_table(table: str) -> str:
    """Validate a (possibly schema-qualified) table name; it is interpolated into SQL, never quoted away."""
    if not _IDENT.match(table):
        raise ValueError(
            f"table {table!r} is not a plain [schema.]table name; pass a SQL query with --sql / sql= instead"
        )
    return table


class Warehouse:
    """Two DB-API connections to one database: one streams the source rows, one writes bookkeeping.

    SQLite shares one connection, since a second one could not commit while the first is reading.
    """

    def __init__(
        self,
        connect: Callable[[], Any],
        *,
        dialect: str,
        paramstyle: str = "qmark",
        schema: str | None = None,
        on_close: Callable[[], None] | None = None,
        where: str = "",
    ) -> None:
        check_dialect(dialect)  # before connecting: an unsupported database fails with nothing opened
        self.dialect = dialect
        self._paramstyle = paramstyle
        self._connect = connect
        self._schema = schema
        self._on_close = on_close
        self.where = where
        try:
            self._writer = connect()
        except OutlitError:
            raise
        except Exception as exc:  # a driver's traceback says less than one line naming host and fix
            if on_close:
                with suppress(Exception):
                    on_close()
            raise connection_error(exc, where) from None
        self._reader: Any = None

    # --- constructors ---------------------------------------------------------------------------------

    @classmethod
    def open(cls, source: Any, *, schema: str | None = None) -> Warehouse:
        """Open a DuckDB file path, ``duckdb:///path``, a SQLAlchemy URL or Engine, or a duckdb connection."""
        if isinstance(source, Warehouse):
            return source
        mod = type(source).__module__
        if mod.lstrip("_").startswith("duckdb"):
            return cls(source.cursor, dialect="duckdb", schema=schema)
        if mod.startswith("sqlalchemy"):
            return cls._from_engine(source, schema=schema)
        if isinstance(source, Path) or (isinstance(source, str) and "://" not in source):
            return cls._duckdb_file(str(source), schema=schema)
        if isinstance(source, str) and source.startswith("duckdb:///"):
            return cls._duckdb_file(source.removeprefix("duckdb:///"), schema=schema)
        if isinstance(source, str):
            import sqlalchemy as sa

            try:
                url = sa.engine.make_url(source)
            except Exception as exc:
                raise ValueError(f"cannot parse warehouse URL: {redact_url_password(str(exc))}") from None
            # Refuse an unsupported database by its URL, before its driver (maybe not even installed) loads.
            check_dialect(url.get_backend_name(), where=" given by the --from/source URL")
            try:
                engine = sa.create_engine(url)
            except Exception as exc:
                raise ValueError(f"cannot open warehouse URL: {redact_url_password(str(exc))}") from None
            return cls._from_engine(engine, schema=schema, dispose=True)
        raise TypeError(
            f"cannot read rows from a {type(source).__name__}; pass a DuckDB file path, a SQLAlchemy URL "
            "or Engine, or a duckdb connection"
        )

    @classmethod
    def _duckdb_file(cls, path: str, *, schema: str | None) -> Warehouse:
        con = open_duckdb_file(path)
        return cls(con.cursor, dialect="duckdb", schema=schema, on_close=con.close, where=repr(path))

    @classmethod
    def _from_engine(cls, engine: Any, *, schema: str | None, dispose: bool = False) -> Warehouse:
        def connect() -> Any:
            # Keep the pool's proxy: dropping it would hand the connection back to the pool (and roll
            # back the transaction a server-side cursor lives in) while we still read from it.
            return engine.raw_connection()

        return cls(
            connect,
            dialect=engine.dialect.name,
            paramstyle=engine.dialect.dbapi.paramstyle,
            schema=schema,
            on_close=engine.dispose if dispose else None,
            where=engine.url.render_as_string(hide_password=True),
        )

    # --- reading ------------------------------------------------------------------------------------

    def read(self, query: str, chunk_size: int) -> tuple[list[str], Iterator[list[tuple[Any, ...]]]]:
        """Column names and an iterator of row chunks, reading at most ``chunk_size`` rows at a time."""
        if self.dialect == "sqlite":
            self._reader = self._writer
            cursor = self._reader.cursor()
        else:
            self._reader = self._connect()
            if self.dialect == "postgresql":
                # Read-only, so a write the SQL check could not see fails instead of running.
                self._reader.cursor().execute("SET TRANSACTION READ ONLY")
                # A named cursor keeps the result on the server; a plain one would fetch the whole table.
                cursor = self._reader.cursor(name="outlit_reverse_load")
                with suppress(AttributeError):
                    cursor.itersize = chunk_size
            else:
                cursor = self._reader.cursor()
                if self.dialect == "duckdb":
                    cursor.execute("BEGIN TRANSACTION READ ONLY")
        cursor.execute(query)
        # psycopg2 named cursors describe their columns only after the first fetch
        first = cursor.fetchmany(chunk_size) if cursor.description is None else None
        columns = [d[0] for d in cursor.description]

        def chunks() -> Iterator[list[tuple[Any, ...]]]:
            if first:
                yield first
            elif first is not None:
                return
            while True:
                rows = cursor.fetchmany(chunk_size)
                if not rows:
                    return
                yield rows

        return columns, chunks()

    def duplicate_keys(self, query: str, key_columns: Sequence[str]) -> list[tuple[Any, ...]]:
        """Key values that occur more than once in the rows of ``query`` (whose SELECT was checked)."""
        quoted = [quote_identifier(c, self.dialect) for c in key_columns]
        cols = ", ".join(quoted)
        not_null = " AND ".join(f"{c} IS NOT NULL" for c in quoted)
        # On a connection like the main read's: the writer's may point at the bookkeeping schema, where the
        # user's unqualified table names do not resolve (Snowflake).
        conn = self._writer if self.dialect == "sqlite" else self._connect()
        cur = conn.cursor()
        # Read-only like the main read: this runs the user's query too.
        if self.dialect == "postgresql":
            cur.execute("SET TRANSACTION READ ONLY")
        elif self.dialect == "duckdb":
            cur.execute("BEGIN TRANSACTION READ ONLY")
        try:
            cur.execute(
                f"SELECT {cols} FROM ({query.strip().rstrip(';')}) outlit_src WHERE {not_null} "
                f"GROUP BY {cols} HAVING COUNT(*) > 1"
            )
            return [tuple(row) for row in cur.fetchall()]
        finally:
            if conn is self._writer:
                self._rollback(cur)  # ends the read-only transaction; nothing was written
            else:
                with suppress(Exception):
                    conn.rollback()
                conn.close()

    # --- bookkeeping --------------------------------------------------------------------------------

    def connect_raw(self) -> Any:
        """One more DB-API connection to the same database (the per-sync lock holds one)."""
        return self._connect()

    def sql(self, sql: str, params: list[Any]) -> tuple[str, Any]:
        return self._sql(sql, params)

    def running_since(self, sync_name: str) -> tuple[Any, str | None]:
        """Start time and run id of the newest run of ``sync_name`` logged as running, if any."""
        rows = self.query(
            f"SELECT started_at, run_id FROM {self.table(RUNS_TABLE)} WHERE sync_name = ? "
            "AND status = 'running' ORDER BY started_at DESC",
            [sync_name],
        )
        return (rows[0][0], rows[0][1]) if rows else (None, None)

    def database_identity(self) -> str:
        """Which database this is (its file, for DuckDB), so in-process locks of two handles meet."""
        cur = self._writer.cursor()
        cur.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()")
        row = cur.fetchone()
        path = row[0] if row and row[0] else f"memory:{id(self._connect)}"
        return str(Path(path).resolve()) if row and row[0] else path

    def bookkeeping_session(self) -> Warehouse:
        """A second bookkeeping connection for a writer thread (SQLite has only the one: itself)."""
        if self.dialect == "sqlite":
            return self
        return Warehouse(
            self._connect, dialect=self.dialect, paramstyle=self._paramstyle, schema=self._schema
        )

    def table(self, name: str) -> str:
        return f"{self._schema}.{name}" if self._schema else name

    def ensure_tables(self) -> None:
        cur = self._writer.cursor()
        for statement in bookkeeping_ddl(self.dialect, self._schema):
            cur.execute(statement)
        self._commit()

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
                rows = [
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
                rejected = [
                    (run_id, sync_name, d.key, d.stage, d.reason, d.field_path, d.event_uuid, d.row_json, now)
                    for d in dead_letters
                ]
                self._insert_many(
                    cur,
                    REJECTED_TABLE,
                    _REJECTED_COLUMNS,
                    rejected,
                )
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
        cur.execute(
            *self._sql(
                f"UPDATE {self.table(RUNS_TABLE)} SET finished_at = ?, read_count = ?, sent_count = ?, "
                "unchanged_count = ?, rejected_count = ?, retries = ?, batches = ?, status = ?, error = ? "
                "WHERE run_id = ?",
                [
                    utcnow(),
                    counts["read"],
                    counts["sent"],
                    counts["unchanged"],
                    counts["rejected"],
                    counts["retries"],
                    counts["batches"],
                    status,
                    error,
                    run_id,
                ],
            )
        )
        self._commit(cur)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read on the bookkeeping connection (used by tests and the CLI)."""
        cur = self._writer.cursor()
        cur.execute(*self._sql(sql, list(params)))
        rows = cur.fetchall()
        self._end_read()
        return rows

    def close(self) -> None:
        for conn in {id(c): c for c in (self._reader, self._writer) if c is not None}.values():
            with suppress(Exception):
                conn.rollback()
            with suppress(Exception):
                conn.close()
        self._reader = None
        if self._on_close:
            self._on_close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- helpers ------------------------------------------------------------------------------------

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


def quote_identifier(name: str, dialect: str) -> str:
    """A column name quoted for ``dialect`` (it comes from the source's own column list)."""
    if dialect in ("mysql", "mariadb"):
        return "`" + name.replace("`", "``") + "`"
    if dialect == "mssql":
        return "[" + name.replace("]", "]]") + "]"
    return '"' + name.replace('"', '""') + '"'


def redact_url_password(text: str) -> str:
    """Drop any password from a URL that a driver echoes in an error message."""
    return re.sub(r"(://[^:/@\s]+:)[^@\s]+@", r"\1***@", text)
