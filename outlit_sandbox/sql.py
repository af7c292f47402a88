"""``outlit_query`` / ``outlit_schema``: read-only SQL over the dataset with DuckDB.

Outlit's analytics store speaks ClickHouse SQL, so a query is parsed as ClickHouse first (DuckDB as a
fallback) and transpiled with sqlglot; that lets queries written for the real API (``toStartOfMonth``,
``JSONExtractString``...) run here unchanged. Two independent locks keep it read-only: the parsed tree must
be one SELECT over the four views (no table functions, no other catalogs), and DuckDB itself runs with
external access disabled and its configuration locked.
"""

from __future__ import annotations

import functools
import json
import math
import threading
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .errors import ApiError

if TYPE_CHECKING:
    import duckdb

    from .state import SandboxState

MAX_LIMIT = 10000
QUERY_TIMEOUT_SECONDS = 20.0

# name, DuckDB type, description  (kept in one place: table DDL and outlit_schema both derive from it)
VIEWS: dict[str, dict[str, Any]] = {
    "activity": {
        "description": "Customer activity events from every channel, including ingested events.",
        "columns": [
            ("event_id", "VARCHAR", "Event id (the event uuid for ingested events)"),
            ("customer_id", "VARCHAR", "Customer the event belongs to"),
            ("user_id", "VARCHAR", "User/contact id when known"),
            ("event_name", "VARCHAR", "Event name, e.g. page_viewed or a custom eventName"),
            ("event_type", "VARCHAR", "Event type, e.g. pageview, custom, email, billing"),
            (
                "event_channel",
                "VARCHAR",
                "Channel: PRODUCT, COMMUNICATION, MEETING, CRM, BILLING, SUPPORT, ...",
            ),
            ("occurred_at", "TIMESTAMP", "When the event happened (UTC)"),
            ("title", "VARCHAR", "Human-readable title"),
            ("contact_email", "VARCHAR", "Email of the contact involved"),
            ("source_type", "VARCHAR", "Underlying source record type, e.g. EMAIL or CALL"),
            ("source_id", "VARCHAR", "Underlying source record id"),
            ("properties", "VARCHAR", "Event properties as a JSON string"),
            ("origin", "VARCHAR", "'sync' for integration data, 'ingest' for events sent to the ingest API"),
        ],
        "examples": [
            "SELECT event_name, count(*) FROM activity GROUP BY 1 ORDER BY 2 DESC LIMIT 10",
            "SELECT * FROM activity WHERE customer_id = 'cus_123' ORDER BY occurred_at DESC LIMIT 50",
        ],
    },
    "customers": {
        "description": "One row per customer with billing status, revenue and traits.",
        "columns": [
            ("customer_id", "VARCHAR", "Customer id"),
            ("domain", "VARCHAR", "Primary domain"),
            ("name", "VARCHAR", "Customer name"),
            ("billing_status", "VARCHAR", "NONE, TRIALING, PAYING, PAST_DUE or CHURNED"),
            ("plan", "VARCHAR", "Plan name"),
            ("mrr_cents", "BIGINT", "Current MRR in cents"),
            ("first_seen_at", "TIMESTAMP", "First activity (UTC)"),
            ("activated_at", "TIMESTAMP", "Activation time (UTC)"),
            ("last_activity_at", "TIMESTAMP", "Most recent activity (UTC)"),
            ("owner_email", "VARCHAR", "Internal owner email"),
            ("contact_count", "INTEGER", "Number of known contacts"),
            ("traits", "VARCHAR", "Customer traits as a JSON string"),
        ],
        "examples": ["SELECT billing_status, sum(mrr_cents)/100 AS mrr FROM customers GROUP BY 1"],
    },
    "users": {
        "description": "One row per user/contact with journey stage and traits.",
        "columns": [
            ("user_id", "VARCHAR", "User id"),
            ("email", "VARCHAR", "Email address"),
            ("name", "VARCHAR", "Full name"),
            ("customer_id", "VARCHAR", "Customer the user belongs to"),
            ("journey_stage", "VARCHAR", "DISCOVERED, SIGNED_UP, ACTIVATED, ENGAGED or INACTIVE"),
            ("first_seen_at", "TIMESTAMP", "First activity (UTC)"),
            ("last_activity_at", "TIMESTAMP", "Most recent activity (UTC)"),
            ("traits", "VARCHAR", "User traits as a JSON string"),
        ],
        "examples": ["SELECT journey_stage, count(*) FROM users GROUP BY 1"],
    },
    "revenue": {
        "description": "Monthly revenue snapshots per customer.",
        "columns": [
            ("customer_id", "VARCHAR", "Customer id"),
            ("snapshot_date", "DATE", "Snapshot date (first day of the month)"),
            ("mrr_cents", "BIGINT", "MRR in cents on that date"),
            ("currency", "VARCHAR", "ISO currency code"),
            ("billing_status", "VARCHAR", "Billing status on that date"),
        ],
        "examples": ["SELECT snapshot_date, sum(mrr_cents) FROM revenue GROUP BY 1 ORDER BY 1"],
    },
}

# Functions that reach outside the database or reveal configuration; DuckDB's sandboxing blocks file and
# network access anyway, this only gives a clear message first.
_FORBIDDEN_FUNCTION_PREFIXES = (
    "read_",
    "parquet_",
    "glob",
    "sniff_",
    "duckdb_",
    "pragma_",
    "iceberg_",
    "delta_",
)
_FORBIDDEN_FUNCTIONS = {"getenv", "current_setting", "query", "query_table", "load", "install", "http_get"}


def describe(table: str | None) -> dict[str, Any]:
    def one(name: str) -> dict[str, Any]:
        spec = VIEWS[name]
        return {
            "name": name,
            "description": spec["description"],
            "columns": [{"name": c, "type": t, "description": d} for c, t, d in spec["columns"]],
            "exampleQueries": list(spec["examples"]),
        }

    if table:
        return one(table)
    views = [one(name) for name in VIEWS]
    return {"views": views, "tables": views}


def _unsafe(message: str) -> ApiError:
    return ApiError(
        400,
        "Invalid tool input",
        code="INVALID_TOOL_INPUT",
        details=[{"path": ["sql"], "message": message}],
    )


@functools.lru_cache(maxsize=512)
def guard(sql: str) -> str:
    """Return DuckDB SQL for one read-only SELECT over the views, or raise a 400 naming the problem."""
    import sqlglot  # imported on first query: keeps sandbox start-up (and every fresh test server) fast
    from sqlglot import exp
    from sqlglot.errors import ParseError

    statements = None
    for dialect in ("clickhouse", "duckdb"):
        try:
            # an empty or comment-only statement (`SELECT ...; -- note`, `SELECT 1; ;`) parses as None or
            # a bare Semicolon: it runs nothing, so it does not count as a second statement
            statements = [
                s
                for s in sqlglot.parse(sql, read=dialect)
                if s is not None and not isinstance(s, exp.Semicolon)
            ]
            break
        except ParseError:
            continue
    if statements is None:
        raise _unsafe("Could not parse the SQL; check the syntax")
    if not statements:
        raise _unsafe("The SQL holds no statement (only comments or semicolons); send one SELECT")
    if len(statements) != 1:
        raise _unsafe("Send exactly one SQL statement")
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        raise _unsafe("Only read-only SELECT (or WITH ... SELECT) queries are allowed")
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for node in tree.walk():
        if isinstance(node, exp.DML | exp.DDL | exp.Command | exp.Set | exp.Pragma | exp.Into | exp.Copy):
            raise _unsafe("Only read-only SELECT queries are allowed")
        if isinstance(node, exp.Table):
            if not isinstance(node.this, exp.Identifier):
                raise _unsafe(
                    "Table functions are not allowed; query the views activity, customers, users, revenue"
                )
            name = node.name.lower()
            if node.args.get("db") or node.args.get("catalog"):
                raise _unsafe(f"Unknown table {node.sql()!r}; query activity, customers, users or revenue")
            if name not in VIEWS and name not in ctes:
                raise _unsafe(f"Unknown table {name!r}; query activity, customers, users or revenue")
        if isinstance(node, exp.Func):
            fname = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
            if fname in _FORBIDDEN_FUNCTIONS or fname.startswith(_FORBIDDEN_FUNCTION_PREFIXES):
                raise _unsafe(f"Function {fname}() is not allowed in outlit_query")
    return tree.sql(dialect="duckdb")


def _plain(value: Any) -> Any:
    """A DuckDB value as JSON: timestamps in the API's ISO form, NaN/inf as null, anything exotic as text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, bytes | bytearray):
        return value.hex()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)  # UUID, time, timedelta (INTERVAL), ...


def _naive(dt: datetime | None) -> datetime | None:
    return dt.astimezone(UTC).replace(tzinfo=None) if dt else None


def _parse_ts(value: str | None) -> datetime | None:
    if not value:
        return None
    return _naive(datetime.fromisoformat(value.replace("Z", "+00:00")))


def activity_row(event: dict[str, Any], customer_id: str) -> tuple[Any, ...]:
    props = dict(event.get("metadata") or {})
    if event.get("summary"):
        props["summary"] = event["summary"]
    return (
        event["id"],
        customer_id,
        event.get("_userId"),
        event["eventName"],
        event["eventType"],
        event["channel"],
        _naive(event["_ts"]),
        event.get("title"),
        event.get("contact"),
        event.get("sourceType"),
        event.get("sourceId"),
        json.dumps(props, separators=(",", ":")),
        "sync",
    )


class SqlEngine:
    """A private in-memory DuckDB database kept in step with the sandbox state."""

    def __init__(self) -> None:
        self._con: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()
        self._loaded_version = -1
        self._queue: list[tuple[Any, ...]] = []

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None

    def enqueue_activity(self, rows: list[tuple[Any, ...]]) -> None:
        """Rows to append before the next query (only needed once the database exists)."""
        if self._con is not None:
            self._queue.extend(rows)

    def sync(self, state: SandboxState) -> None:
        """Bring the tables up to date; called on the event-loop thread so it sees a consistent state."""
        import duckdb

        with self._lock:
            if self._con is None:
                self._con = duckdb.connect(":memory:", config={"enable_external_access": False})
                for name, spec in VIEWS.items():
                    cols = ", ".join(f"{c} {t}" for c, t, _ in spec["columns"])
                    self._con.execute(f"CREATE TABLE {name} ({cols})")
                self._con.execute("SET lock_configuration = true")
                rows = [activity_row(e, cid) for cid, events in state.dataset.events.items() for e in events]
                rows.extend(state.ingest.activity_rows())
                self._insert("activity", rows)
                self._queue.clear()
                self._load_dimensions(state)
                return
            if self._queue:
                self._insert("activity", self._queue)
                self._queue = []
            if self._loaded_version != state.dataset.version:
                self._load_dimensions(state)

    def _load_dimensions(self, state: SandboxState) -> None:
        assert self._con is not None
        ds = state.dataset
        for name in ("customers", "users", "revenue"):
            self._con.execute(f"DELETE FROM {name}")
        self._insert(
            "customers",
            [
                (
                    c["id"],
                    c["domain"],
                    c["name"],
                    c["billingStatus"],
                    c["_plan"],
                    c["currentMrr"],
                    _parse_ts(c["firstSeenAt"]),
                    _parse_ts(c["activatedAt"]),
                    _naive(c["_lastTs"]),
                    c["owner"]["email"] if c["owner"] else None,
                    c["contactCount"],
                    json.dumps(c["_traits"]),
                )
                for c in ds.customers
            ],
        )
        self._insert(
            "users",
            [
                (
                    u["id"],
                    u["email"],
                    u["name"],
                    u["customerId"],
                    u["journeyStage"],
                    _parse_ts(u["_firstSeen"]),
                    _naive(u["_lastTs"]),
                    json.dumps(u["_traits"]),
                )
                for u in ds.users
            ],
        )
        self._insert(
            "revenue",
            [
                (
                    r["customer_id"],
                    date.fromisoformat(r["snapshot_date"]),
                    r["mrr_cents"],
                    r["currency"],
                    r["billing_status"],
                )
                for r in ds.revenue
            ],
        )
        self._loaded_version = ds.version

    def _insert(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        assert self._con is not None
        if not rows:
            return
        columns = VIEWS[table]["columns"]
        data = [list(col) for col in zip(*rows, strict=True)]
        select = ", ".join(f"unnest(${i + 1}::{t}[])" for i, (_, t, _) in enumerate(columns))
        self._con.execute(f"INSERT INTO {table} SELECT {select}", data)

    def run(self, sql: str, limit: int) -> dict[str, Any]:
        """Run a query (thread-safe; call sync() first). Returns the outlit_query output document."""
        import duckdb

        duck_sql = guard(sql)
        limit = max(1, min(int(limit), MAX_LIMIT))
        # The outer LIMIT lets DuckDB stop early (a cross join must not materialise); order is kept.
        bounded = f"SELECT * FROM ({duck_sql}) AS outlit_query LIMIT {limit + 1}"
        started = time.perf_counter()
        with self._lock:  # only to take a cursor: queries run concurrently with each other and with inserts
            if self._con is None:
                raise RuntimeError("SqlEngine.sync() was not called")
            cur = self._con.cursor()
        watchdog = threading.Timer(QUERY_TIMEOUT_SECONDS, cur.interrupt)
        watchdog.start()
        try:
            cur.execute(bounded)
            names = [d[0] for d in cur.description or ()]
            rows = cur.fetchall()
        except duckdb.Error as err:
            if time.perf_counter() - started >= QUERY_TIMEOUT_SECONDS:
                raise _unsafe(f"Query timed out after {QUERY_TIMEOUT_SECONDS:.0f}s: narrow it down") from None
            raise _unsafe(f"Query failed: {str(err).splitlines()[0]}") from None
        finally:
            watchdog.cancel()
            cur.close()
        truncated = len(rows) > limit
        rows = rows[:limit]
        data = [{n: _plain(v) for n, v in zip(names, row, strict=True)} for row in rows]
        return {
            "success": True,
            "data": data,
            "metadata": {
                "rowsReturned": len(data),
                "executionTimeMs": round((time.perf_counter() - started) * 1000, 3),
                "truncated": truncated,
            },
        }
