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

from outlit_core.client.exceptions import OutlitInputError

LEDGER_TABLE = "_outlit_sync_ledger"
REJECTED_TABLE = "_outlit_rejected"
RUNS_TABLE = "_outlit_sync_runs"

# {name}: sync_name / run_id, {key}: row_key (both in primary keys), {text}: free text, {long}: a whole row
# as JSON (up to ~1 MB), {ts}: naive UTC time, {int}: counts, {pk}: the primary-key clause.
_DDL = {
    LEDGER_TABLE: (
        "sync_name {name} NOT NULL, row_key {key} NOT NULL, content_hash {text} NOT NULL, "
        "event_uuid {text} NOT NULL, status {text} NOT NULL, batch_id {text}, run_id {text}, "
        "delivered_at {ts} NOT NULL, {pk} (sync_name, row_key)"
    ),
    REJECTED_TABLE: (
        "run_id {text} NOT NULL, sync_name {text} NOT NULL, row_key {long} NOT NULL, stage {text} NOT NULL, "
        "reason {long} NOT NULL, field_path {text}, event_uuid {text}, row_json {long}, "
        "rejected_at {ts} NOT NULL"
    ),
    RUNS_TABLE: (
        "run_id {name} NOT NULL, sync_name {text} NOT NULL, mode {text} NOT NULL, "
        "started_at {ts} NOT NULL, finished_at {ts}, read_count {int}, sent_count {int}, "
        "unchanged_count {int}, rejected_count {int}, retries {int}, batches {int}, status {text} NOT NULL, "
        "error {long}, {pk} (run_id)"
    ),
}
_PORTABLE_TYPES = {
    "name": "TEXT",
    "key": "TEXT",
    "text": "TEXT",
    "long": "TEXT",
    "ts": "TIMESTAMP",
    "int": "BIGINT",
    "pk": "PRIMARY KEY",
}
# Column types per dialect. MySQL and SQL Server cannot index TEXT, so key columns get a bounded VARCHAR
# sized to each one's index limit: MySQL InnoDB 3072 bytes at 4 bytes a utf8mb4 character, SQL Server
# 1700 bytes for a nonclustered key at 2 bytes an NVARCHAR character. A row key (the key columns as JSON)
# longer than that fails the ledger write; docs/reverse-load.md says so.
_TYPES: dict[str, dict[str, str]] = {
    "duckdb": _PORTABLE_TYPES,
    "postgresql": _PORTABLE_TYPES,
    "sqlite": _PORTABLE_TYPES,
    "snowflake": {  # PRIMARY KEY is accepted but not enforced; the ledger upsert does not rely on it
        **_PORTABLE_TYPES,
        **dict.fromkeys(("name", "key", "text", "long"), "STRING"),
        "ts": "TIMESTAMP_NTZ",  # plain TIMESTAMP follows the account's TIMESTAMP_TYPE_MAPPING
    },
    "mysql": {
        **_PORTABLE_TYPES,
        "name": "VARCHAR(255)",
        "key": "VARCHAR(500)",
        "text": "VARCHAR(255)",
        "long": "LONGTEXT",  # TEXT stops at 64 KB; a dead-lettered row can be a whole 1 MB event
        "ts": "DATETIME(6)",  # TIMESTAMP NOT NULL gets an implicit auto-update default in MySQL
    },
    "mssql": {
        **_PORTABLE_TYPES,
        "name": "NVARCHAR(128)",
        "key": "NVARCHAR(720)",
        "text": "NVARCHAR(255)",
        "long": "NVARCHAR(MAX)",
        "ts": "DATETIME2",  # TIMESTAMP is a row version in SQL Server, not a time
        "pk": "PRIMARY KEY NONCLUSTERED",  # a clustered key is capped at 900 bytes
    },
}
_TYPES["mariadb"] = _TYPES["mysql"]
SUPPORTED_DIALECTS: tuple[str, ...] = tuple(sorted(_TYPES))


class UnsupportedDialectError(OutlitInputError):
    """The source database cannot hold the bookkeeping tables this engine writes."""


def check_dialect(dialect: str, *, where: str = "") -> None:
    """Refuse, before connecting, a database whose DDL and transactions the ledger has not been built for."""
    if dialect not in _TYPES:
        raise UnsupportedDialectError(
            f"reverse load keeps its ledger in the source database and cannot keep it in a {dialect!r} "
            f"database{where}: supported are {', '.join(SUPPORTED_DIALECTS)}. Copy the rows to one of "
            "those first (e.g. a dlt pipeline into DuckDB or Postgres, then reverse_load(pipeline, ...))"
        )


def bookkeeping_ddl(dialect: str, schema: str | None = None) -> list[str]:
    """The statements that create the schema (if given) and the three bookkeeping tables, if missing."""
    check_dialect(dialect)
    types = _TYPES[dialect]
    statements: list[str] = []
    if dialect == "mssql":  # no IF NOT EXISTS for CREATE in SQL Server
        if schema:
            statements.append(
                f"IF SCHEMA_ID(N'{quote_table(schema)}') IS NULL EXEC(N'CREATE SCHEMA {schema}')"
            )
        for name, columns in _DDL.items():
            table = f"{schema}.{name}" if schema else name
            statements.append(
                f"IF OBJECT_ID(N'{table}', N'U') IS NULL CREATE TABLE {table} ({columns.format(**types)})"
            )
        return statements
    if schema:
        statements.append(f"CREATE SCHEMA IF NOT EXISTS {quote_table(schema)}")
    for name, columns in _DDL.items():
        table = f"{schema}.{name}" if schema else name
        statements.append(f"CREATE TABLE IF NOT EXISTS {table} ({columns.format(**types)})")
    return statements


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
    ) -> None:
        check_dialect(dialect)  # before connecting: an unsupported database fails with nothing opened
        self.dialect = dialect
        self._paramstyle = paramstyle
        self._connect = connect
        self._schema = schema
        self._on_close = on_close
        self._writer = connect()
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
        import duckdb

        if path != ":memory:" and not Path(path).exists():
            raise FileNotFoundError(f"DuckDB file {path!r} does not exist")
        con = duckdb.connect(path)
        return cls(con.cursor, dialect="duckdb", schema=schema, on_close=con.close)

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
                # A named cursor keeps the result on the server; a plain one would fetch the whole table.
                cursor = self._reader.cursor(name="outlit_reverse_load")
                with suppress(AttributeError):
                    cursor.itersize = chunk_size
            else:
                cursor = self._reader.cursor()
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

    # --- bookkeeping --------------------------------------------------------------------------------

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
                rows = [
                    (run_id, sync_name, d.key, d.stage, d.reason, d.field_path, d.event_uuid, d.row_json, now)
                    for d in dead_letters
                ]
                self._insert_many(
                    cur,
                    REJECTED_TABLE,
                    _REJECTED_COLUMNS,
                    rows,
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


def redact_url_password(text: str) -> str:
    """Drop any password from a URL that a driver echoes in an error message."""
    return re.sub(r"(://[^:/@\s]+:)[^@\s]+@", r"\1***@", text)
