"""Shared helpers for the reverse-load tests: a source table with good and bad rows, and sandbox views."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

GOOD_ROWS = 230
# Rows the engine must dead-letter without sending: (row change, expected field path of the reason).
LOCAL_BAD = {
    "bad_nan": ({"mrr": float("nan")}, "traits.mrr"),
    "bad_big": ({"plan": "x" * 1_100_000}, None),
    None: ({}, "key.account_id"),  # a row with a NULL key
    # Outlit 400s this address; the client applies the same e-mail rule before sending (one rule).
    "bad_email": ({"email": "jane..doe@acme.com"}, "email"),
}
# Rows only Outlit can refuse: none since the client checks e-mails with Outlit's rule; the API stage is
# covered by test_rl_delivery.
API_BAD: dict[str, tuple[dict[str, Any], str]] = {}
BAD_ROWS = len(LOCAL_BAD) + len(API_BAD)

MAPPING: dict[str, Any] = {
    "name": "accounts_sync",
    "event_type": "identify",
    "key": ["account_id"],
    "timestamp": "updated_at",
    "email": "email",
    "customer_id": "account_id",
    "traits": ["status", "plan", "mrr"],
}
COLUMNS = ("account_id", "email", "status", "plan", "mrr", "updated_at")
CREATE = (
    "CREATE TABLE accounts (account_id VARCHAR, email VARCHAR, status VARCHAR, plan VARCHAR, "
    "mrr DOUBLE PRECISION, updated_at TIMESTAMP)"
)


def account_rows(n: int = GOOD_ROWS, *, with_bad: bool = True) -> list[tuple[Any, ...]]:
    base = dt.datetime(2026, 3, 1, 12, 0, 0)
    statuses = ("trialing", "paid", "churned")
    rows = []
    for i in range(n):
        rows.append(
            (
                f"acc_{i:05d}",
                f"owner{i}@example.com",
                statuses[i % 3],
                ("free", "pro", "team")[i % 3],
                float(i * 10),
                base + dt.timedelta(minutes=i),
            )
        )
    if with_bad:
        for key, (change, _field) in {**LOCAL_BAD, **API_BAD}.items():
            row = dict(zip(COLUMNS, rows[0], strict=True))
            row.update(account_id=key, **change)
            rows.append(tuple(row[c] for c in COLUMNS))
    return rows


def sqlite_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, with_bad: bool = True) -> Path:
    """The accounts table in a SQLite file, reachable as the Airflow connection ``warehouse``."""
    import sqlite3

    path = tmp_path / "warehouse.sqlite"
    with sqlite3.connect(path) as con:
        con.execute(CREATE.replace("DOUBLE PRECISION", "REAL"))
        rows = [(*r[:5], r[5].isoformat()) for r in account_rows(with_bad=with_bad)]
        con.executemany("INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?)", rows)
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", json.dumps({"conn_type": "sqlite", "host": str(path)}))
    return path


def expected_dead_letters() -> dict[str, tuple[str, str | None]]:
    """row_key -> (stage, field path) for every bad row."""
    out = {json.dumps([k]): ("local", f) for k, (_c, f) in LOCAL_BAD.items()}
    out.update({json.dumps([k]): ("api", f) for k, (_c, f) in API_BAD.items()})
    return out


def stored(sb: Any) -> list[dict[str, Any]]:
    """Events the sandbox stored, in arrival order (a repeated uuid is acknowledged but not stored)."""
    return [record["event"] for record in sb.ingested()["events"]]


def duplicates(sb: Any) -> int:
    """How many events the sandbox acknowledged as repeats of a uuid it already had."""
    return int(sb.stats()["ingest"]["duplicates"])


def assert_exactly_once(events: list[dict[str, Any]], expected_keys: set[str]) -> None:
    uuids = Counter(e["uuid"] for e in events)
    assert not [u for u, n in uuids.items() if n > 1], "the sandbox stored an event twice"
    per_key = Counter(e["customerId"] for e in events)
    missing, extra = expected_keys - set(per_key), set(per_key) - expected_keys
    assert not missing and not extra, f"missing: {sorted(missing)[:5]}, extra: {sorted(extra)[:5]}"
    assert max(per_key.values()) == 1, [k for k, n in per_key.items() if n > 1][:5]


def good_keys(n: int = GOOD_ROWS) -> set[str]:
    return {f"acc_{i:05d}" for i in range(n)}


class WireLog(httpx.BaseTransport):
    """An HTTP transport that records every ingest request: its event uuids and the status it got back.

    A dropped response (the sandbox's "drop" fault) still shows its status 200 here: Outlit stored the
    batch, only the body never reached the client. ``None`` is a request that got no status at all.
    """

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.requests: list[tuple[list[str], int | None]] = []
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        uuids = [e["uuid"] for e in json.loads(request.content)["events"]]
        status: int | None = None
        try:
            response = self.inner.handle_request(request)
            status = response.status_code
            return response
        finally:
            with self._lock:
                self.requests.append((uuids, status))

    def close(self) -> None:
        self.inner.close()

    def events_stored_twice_or_more(self, good: int) -> int:
        """Events in requests that reached storage (status 200) beyond the ``good`` distinct ones kept."""
        return sum(len(uuids) for uuids, status in self.requests if status == 200) - good

    def resent_events(self) -> int:
        """Events that went out more than once, counting every extra copy."""
        sent = Counter(u for uuids, _status in self.requests for u in uuids)
        return sum(n - 1 for n in sent.values())


class Source:
    """The accounts table in one backend (DuckDB file or a Postgres schema), and SQL access to it.

    ``source`` / ``table`` / ``schema`` are what ``run_reverse_load`` and ``--from/--table/--schema`` take;
    bookkeeping tables land in ``schema`` (None: the DuckDB file's default schema).
    """

    def __init__(self, kind: str, source: str, table: str, schema: str | None) -> None:
        self.kind, self.source, self.table, self.schema = kind, source, table, schema

    @classmethod
    def load(
        cls, kind: str, rows: list[tuple[Any, ...]], *, tmp_path: Path, postgres_url: str | None = None
    ) -> Source:
        if kind == "duckdb":
            import duckdb

            path = tmp_path / "warehouse.duckdb"
            with duckdb.connect(str(path)) as con:
                con.execute(CREATE)
                con.executemany("INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?)", rows)
            return cls(kind, str(path), "accounts", None)
        import psycopg

        assert postgres_url is not None
        schema = f"rl_{tmp_path.name.lower().replace('-', '_')}"[:60]  # one schema per test
        with psycopg.connect(postgres_url, autocommit=True) as con:
            con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            con.execute(f"CREATE SCHEMA {schema}")
            con.execute(CREATE.replace("TABLE accounts", f"TABLE {schema}.accounts"))
            with con.cursor() as cur:
                cur.executemany(f"INSERT INTO {schema}.accounts VALUES (%s, %s, %s, %s, %s, %s)", rows)
        return cls(kind, postgres_url, f"{schema}.accounts", schema)

    def name(self, table: str) -> str:
        return f"{self.schema}.{table}" if self.schema else table

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        if self.kind == "duckdb":
            import duckdb

            with duckdb.connect(self.source) as con:
                return con.execute(sql).fetchall()
        import psycopg

        with psycopg.connect(self.source, autocommit=True) as con:
            return con.execute(sql).fetchall()  # type: ignore[arg-type]

    def execute(self, sql: str) -> None:
        if self.kind == "duckdb":
            import duckdb

            with duckdb.connect(self.source) as con:
                con.execute(sql)
            return
        import psycopg

        with psycopg.connect(self.source, autocommit=True) as con:
            con.execute(sql)  # type: ignore[arg-type]


# Backends the end-to-end tests run on; the Postgres one starts (or skips) the session's test cluster.
BACKENDS = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]


def load_source(request: Any, kind: str, rows: list[tuple[Any, ...]], tmp_path: Path) -> Source:
    url = request.getfixturevalue("postgres_url") if kind == "postgres" else None
    return Source.load(kind, rows, tmp_path=tmp_path, postgres_url=url)


class StopAfter(httpx.BaseTransport):
    """A transport that calls ``on_stop`` as its ``n``-th request goes out (while that batch is in flight)."""

    def __init__(self, n: int, on_stop: Callable[[], None]) -> None:
        self.inner = httpx.HTTPTransport()
        self.n, self.on_stop = n, on_stop
        self.requests = 0
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests += 1
            stop_now = self.requests == self.n
        if stop_now:
            self.on_stop()
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()
