"""``outlit_query`` / ``outlit_schema``: read-only SQL over the dataset with DuckDB.

Outlit's analytics store speaks ClickHouse SQL, so a query is read as ClickHouse and translated to DuckDB
(dialect.py); queries written for the real API run here unchanged. Two independent locks keep it read-only:
the parsed tree must be one SELECT over the four views (resolved by scope), and DuckDB itself runs with
external access and extension loading disabled, a memory cap, and its configuration locked.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .dialect import NOW_PARAM, UnsafeQuery, translate
from .errors import ApiError

if TYPE_CHECKING:
    import duckdb

    from .dataset import Dataset

MAX_LIMIT = 10000
QUERY_TIMEOUT_SECONDS = 20.0  # a statement is interrupted after this long
MAX_RESULT_BYTES = 8_000_000  # rows past this much JSON are cut off (metadata.truncated), never sent
MEMORY_LIMIT = "512MB"  # DuckDB's own cap, so one query cannot take the machine's memory

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


def guard(sql: str) -> str:
    """DuckDB SQL for one read-only ClickHouse SELECT over the views, or a 400 naming the problem."""
    try:
        return translate(sql)
    except UnsafeQuery as err:
        raise _unsafe(str(err)) from None


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

    def sync(self, ds: Dataset, ingested: Callable[[], list[tuple[Any, ...]]]) -> None:
        """Bring the tables up to date; called on the event-loop thread so it sees a consistent state.

        ``ingested`` gives the activity rows of every stored ingest event (read once, on first use).
        """
        import duckdb

        with self._lock:
            if self._con is None:
                self._con = duckdb.connect(
                    ":memory:",
                    config={
                        "enable_external_access": False,
                        "autoinstall_known_extensions": False,
                        "autoload_known_extensions": False,
                        "memory_limit": MEMORY_LIMIT,
                    },
                )
                for name, spec in VIEWS.items():
                    cols = ", ".join(f"{c} {t}" for c, t, _ in spec["columns"])
                    self._con.execute(f"CREATE TABLE {name} ({cols})")
                self._con.execute("SET lock_configuration = true")
                rows = [activity_row(e, cid) for cid, events in ds.events.items() for e in events]
                rows.extend(ingested())
                self._insert("activity", rows)
                self._queue.clear()
                self._load_dimensions(ds)
                return
            if self._queue:
                self._insert("activity", self._queue)
                self._queue = []
            if self._loaded_version != ds.version:
                self._load_dimensions(ds)

    def _load_dimensions(self, ds: Dataset) -> None:
        assert self._con is not None
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

    def run(
        self, sql: str, limit: int, now: datetime, timeout: float = QUERY_TIMEOUT_SECONDS
    ) -> dict[str, Any]:
        """Run a query (thread-safe; call sync() first). Returns the outlit_query output document.

        ``now`` is the sandbox clock (what ``now()`` / ``today()`` return, to the second as ClickHouse's
        DateTime); ``timeout`` bounds the statement; rows past MAX_RESULT_BYTES of JSON are cut off.
        """
        import duckdb

        duck_sql = guard(sql)
        limit = max(1, min(int(limit), MAX_LIMIT))
        # The outer LIMIT lets DuckDB stop early (a cross join must not materialise); order is kept.
        bounded = f"SELECT * FROM ({duck_sql}) AS outlit_query LIMIT {limit + 1}"
        naive_now = now.astimezone(UTC).replace(tzinfo=None, microsecond=0)
        params = {NOW_PARAM: naive_now} if f"${NOW_PARAM}" in duck_sql else None
        started = time.perf_counter()
        with self._lock:  # only to take a cursor: queries run concurrently with each other and with inserts
            if self._con is None:
                raise RuntimeError("SqlEngine.sync() was not called")
            cur = self._con.cursor()
        watchdog = threading.Timer(timeout, cur.interrupt)
        watchdog.start()
        data: list[dict[str, Any]] = []
        truncated = False
        try:
            cur.execute(bounded, params)
            names = [d[0] for d in cur.description or ()]
            size = 0
            while not truncated and (batch := cur.fetchmany(256)):
                for row in batch:
                    item = {n: _plain(v) for n, v in zip(names, row, strict=True)}
                    size += len(json.dumps(item, ensure_ascii=False, default=str))
                    if len(data) == limit or size > MAX_RESULT_BYTES:
                        truncated = True
                        break
                    data.append(item)
        except duckdb.Error as err:
            if time.perf_counter() - started >= timeout:
                raise _unsafe(f"Query timed out after {timeout:g}s: narrow it down") from None
            raise _unsafe(f"Query failed: {str(err).splitlines()[0]}") from None
        finally:
            watchdog.cancel()
            cur.close()
        if truncated and not data:
            raise _unsafe(f"The first row alone is over {MAX_RESULT_BYTES:,} bytes of JSON: select less")
        return {
            "success": True,
            "data": data,
            "metadata": {
                "rowsReturned": len(data),
                "executionTimeMs": round((time.perf_counter() - started) * 1000, 3),
                "truncated": truncated,
            },
        }
