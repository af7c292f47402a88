"""The warehouse layer on its own: ledger upserts on every dialect path, paramstyles, bad sources."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from outlit_core.reverse_load.locks import WarehouseConnectionError
from outlit_core.reverse_load.warehouse import (
    SUPPORTED_DIALECTS,
    DeadLetter,
    LedgerEntry,
    UnsupportedDialectError,
    Warehouse,
    bookkeeping_ddl,
    quote_table,
)


@pytest.mark.parametrize("dialect", ["sqlite", "mysql"])  # mysql: the delete-then-insert fallback
def test_ledger_upsert_and_lookup(tmp_path: Path, dialect: str) -> None:
    path = tmp_path / "w.sqlite"
    wh = Warehouse(lambda: sqlite3.connect(path), dialect=dialect)
    wh.ensure_tables()
    first = [LedgerEntry(f'["k{i}"]', f"h{i}", f"u{i}", "delivered") for i in range(700)]
    wh.record_batch(sync_name="s", run_id="r1", batch_id="b1", entries=first, dead_letters=[])
    changed = [
        LedgerEntry('["k1"]', "h1b", "u1b", "delivered"),
        LedgerEntry('["k1"]', "h1c", "u1c", "rejected"),
    ]
    dead = [DeadLetter('["k1"]', "api", "bad email", "email", "u1c", '{"k": 1}')]
    wh.record_batch(sync_name="s", run_id="r2", batch_id="b2", entries=changed, dead_letters=dead)

    keys = [f'["k{i}"]' for i in range(702)]
    found = wh.ledger_lookup("s", keys)
    assert (
        len(found) == 700
        and found['["k1"]'] == ("h1c", "u1c", "rejected")
        and found['["k0"]'][:2] == ("h0", "u0")
    )
    assert wh.ledger_lookup("other sync", keys) == {}
    assert wh.query("SELECT reason, field_path FROM _outlit_rejected") == [("bad email", "email")]
    wh.close()


def test_paramstyles() -> None:
    def rewrite(style: str) -> tuple[str, object]:
        wh = Warehouse.__new__(Warehouse)
        wh._paramstyle = style
        return wh._sql("a = ? AND b IN (?, ?)", [1, 2, 3])

    assert rewrite("qmark") == ("a = ? AND b IN (?, ?)", [1, 2, 3])
    assert rewrite("pyformat") == ("a = %s AND b IN (%s, %s)", [1, 2, 3])
    assert rewrite("numeric") == ("a = :1 AND b IN (:2, :3)", [1, 2, 3])
    assert rewrite("named") == ("a = :p0 AND b IN (:p1, :p2)", {"p0": 1, "p1": 2, "p2": 3})


@pytest.mark.parametrize("bad", ["accounts; DROP TABLE x", "a b", "'x'", "a.b.c.d", ""])
def test_table_names_are_checked(bad: str) -> None:
    with pytest.raises(ValueError, match="not a plain"):
        quote_table(bad)
    assert quote_table("analytics.accounts") == "analytics.accounts"


def test_bad_sources_say_what_to_pass(tmp_path: Path) -> None:
    with pytest.raises(WarehouseConnectionError, match="does not exist"):
        Warehouse.open(tmp_path / "missing.duckdb")
    with pytest.raises(TypeError, match="DuckDB file path, a SQLAlchemy URL"):
        Warehouse.open(42)
    with pytest.raises(ValueError, match=r"cannot open warehouse URL") as info:
        Warehouse.open("mssql+nosuchdriver://user:s3cret@host/db")  # a supported database, no such driver
    assert "s3cret" not in str(info.value)
    with pytest.raises(UnsupportedDialectError, match="'nosuchdialect' database") as info:
        Warehouse.open("nosuchdialect://user:s3cret@host/db")
    assert "s3cret" not in str(info.value)


def test_bookkeeping_ddl_fits_mysql_and_sql_server() -> None:
    mysql = bookkeeping_ddl("mysql", "meta")
    assert mysql[0] == "CREATE SCHEMA IF NOT EXISTS meta"
    ledger = next(st for st in mysql if "_outlit_sync_ledger" in st)
    # MySQL cannot index TEXT: the primary-key columns are VARCHARs within InnoDB's 3072-byte key limit
    assert "sync_name VARCHAR(255) NOT NULL, row_key VARCHAR(500) NOT NULL" in ledger
    assert "PRIMARY KEY (sync_name, row_key)" in ledger and " TEXT" not in ledger
    assert (255 + 500) * 4 <= 3072
    runs = next(st for st in mysql if "_outlit_sync_runs" in st)
    assert "run_id VARCHAR(255) NOT NULL" in runs and "PRIMARY KEY (run_id)" in runs
    rejected = next(st for st in mysql if "_outlit_rejected" in st)
    assert "row_json LONGTEXT" in rejected and "rejected_at DATETIME(6) NOT NULL" in rejected
    assert all(st.startswith("CREATE ") and "TIMESTAMP" not in st for st in mysql)

    mssql = bookkeeping_ddl("mssql", "meta")
    assert mssql[0] == "IF SCHEMA_ID(N'meta') IS NULL EXEC(N'CREATE SCHEMA meta')"
    assert all("IF NOT EXISTS" not in st and "TIMESTAMP" not in st and " TEXT" not in st for st in mssql)
    ledger = next(st for st in mssql if "_outlit_sync_ledger" in st)
    assert ledger.startswith("IF OBJECT_ID(N'meta._outlit_sync_ledger', N'U') IS NULL CREATE TABLE ")
    assert "row_key NVARCHAR(720) NOT NULL" in ledger and "delivered_at DATETIME2 NOT NULL" in ledger
    assert "PRIMARY KEY NONCLUSTERED (sync_name, row_key)" in ledger
    assert (128 + 720) * 2 <= 1700

    snowflake = bookkeeping_ddl("snowflake")
    assert len(snowflake) == 3 and all("STRING" in st and " TEXT" not in st for st in snowflake)
    assert "delivered_at TIMESTAMP_NTZ NOT NULL" in snowflake[0]


@pytest.mark.parametrize("dialect", ["bigquery", "redshift", "oracle"])
def test_unsupported_databases_are_refused_before_connecting(dialect: str) -> None:
    def connect() -> None:
        raise AssertionError("connected to an unsupported database")

    with pytest.raises(UnsupportedDialectError, match=rf"'{dialect}' database") as info:
        Warehouse(connect, dialect=dialect)
    assert "supported are " + ", ".join(SUPPORTED_DIALECTS) in str(info.value)
    assert {"mssql", "mysql", "postgresql", "snowflake"} <= set(SUPPORTED_DIALECTS)
    with pytest.raises(UnsupportedDialectError):
        bookkeeping_ddl(dialect)


@pytest.mark.parametrize("url", ["bigquery://project/dataset", "oracle+cx_oracle://u:secret@db/orcl"])
def test_unsupported_database_urls_are_refused_before_their_driver_loads(url: str) -> None:
    # Neither driver is installed: a create_engine() first would fail with "Can't load plugin" instead.
    with pytest.raises(UnsupportedDialectError, match="supported are") as info:
        Warehouse.open(url)
    assert "secret" not in str(info.value)
