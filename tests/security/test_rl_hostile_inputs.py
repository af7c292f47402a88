"""Hostile input at the reverse-load boundary: warehouse SQL, source files and URLs, mapping files.

Every refusal happens before anything is sent, exits 2 with one line naming the problem and the fix, and
leaves the warehouse as it was.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from outlit_core.client import OutlitClient
from outlit_core.reverse_load import ReverseLoadError, run_reverse_load
from outlit_core.reverse_load.sql_check import UnsafeWarehouseSQLError

MAPPING = {"name": "hostile", "event_type": "custom", "event_name": "x", "key": ["id"], "customer_id": "id"}
WRITES = [
    "DELETE FROM t; SELECT * FROM t",
    "SELECT * FROM t; DELETE FROM t",
    "DELETE FROM t RETURNING *",
    "DROP TABLE t",
    "UPDATE t SET id = 'x' RETURNING *",
    "INSERT INTO t VALUES ('z') RETURNING *",
    "WITH gone AS (DELETE FROM t RETURNING *) SELECT * FROM gone",
    "SELECT * INTO t2 FROM t",
    "SELECT * FROM t FOR UPDATE",
    "COPY t TO '/tmp/outlit-hostile.csv'",
    "ATTACH '/tmp/outlit-hostile.duckdb' AS other",
    "SELECT checkpoint()",
    "SELECT query_to_xml('DELETE FROM t', true, true, '')",
    "SELECT pg_sleep(30)",
    "SELECT * FROM t /* ; */ ; SELECT 1",
    "",
]


def _main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """The CLI as typed, in this process (cheaper than a subprocess for the quick refusals)."""
    from outlit_cli.main import main

    code = main(["reverse-load", *args, "--public-key", "pk_hostile", "--base-url", "http://127.0.0.1:9"])
    return code, capsys.readouterr().err


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "outlit_cli.main", "reverse-load", *args],
        env={
            **os.environ,
            "OUTLIT_PUBLIC_KEY": "pk_hostile",
            "OUTLIT_BASE_URL": "http://127.0.0.1:9",
            **(env or {}),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE t (id VARCHAR)")
        con.execute("INSERT INTO t VALUES ('a'), ('b')")
    return path


@pytest.fixture
def mapping_file(tmp_path: Path) -> Path:
    path = tmp_path / "m.json"
    path.write_text(json.dumps(MAPPING))
    return path


def _one_line(stderr: str) -> str:
    """The error line; the CLI may add one ``hint:`` line after it, nothing else."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("hint: ")), stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.mark.parametrize("sql", WRITES)
def test_write_sql_is_refused_before_it_runs(warehouse: Path, sql: str) -> None:
    client = OutlitClient(public_key="pk_hostile", base_url="http://127.0.0.1:9")  # nothing may be sent
    with client, pytest.raises(UnsafeWarehouseSQLError, match="SELECT"):
        run_reverse_load(str(warehouse), MAPPING, sql=sql, client=client)
    with duckdb.connect(str(warehouse)) as con:
        assert con.execute("SELECT count(*) FROM t").fetchone() == (2,)
        tables = {n for (n,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert tables == {"t"}  # not even the bookkeeping tables were created


@pytest.mark.parametrize("sql", WRITES[:3])
def test_a_dry_run_refuses_write_sql_the_same_way(warehouse: Path, sql: str) -> None:
    from outlit_core.reverse_load.admin import preview_reverse_load

    with pytest.raises(UnsafeWarehouseSQLError, match="SELECT"):
        preview_reverse_load(str(warehouse), MAPPING, sql=sql)
    with duckdb.connect(str(warehouse)) as con:
        assert con.execute("SELECT count(*) FROM t").fetchone() == (2,)


def test_the_cli_refuses_write_sql_in_one_line(warehouse: Path, mapping_file: Path) -> None:
    done = _cli(
        "--from", str(warehouse), "--sql", "DELETE FROM t; SELECT * FROM t", "--mapping", str(mapping_file)
    )
    assert done.returncode == 2
    assert "2 statements" in _one_line(done.stderr)
    with duckdb.connect(str(warehouse)) as con:
        assert con.execute("SELECT count(*) FROM t").fetchone() == (2,)


@pytest.mark.postgres
def test_postgres_reads_in_a_read_only_transaction(postgres_url: str, fresh_sandbox: Any) -> None:
    """A write hidden in a function the parser cannot see into still fails: the transaction is read-only."""
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as con:
        con.execute("DROP SCHEMA IF EXISTS rl_hostile CASCADE")
        con.execute("CREATE SCHEMA rl_hostile")
        con.execute("CREATE TABLE rl_hostile.t (id TEXT)")
        con.execute("INSERT INTO rl_hostile.t VALUES ('a'), ('b')")
        con.execute(
            "CREATE FUNCTION rl_hostile.wipe() RETURNS SETOF rl_hostile.t LANGUAGE sql "
            "AS 'DELETE FROM rl_hostile.t RETURNING *'"
        )
    client = OutlitClient(public_key=fresh_sandbox.public_key, base_url=fresh_sandbox.base_url)
    with client, pytest.raises(ReverseLoadError, match="read-only transaction"):
        run_reverse_load(
            postgres_url,
            MAPPING,
            sql="SELECT * FROM rl_hostile.wipe()",
            client=client,
            schema="rl_hostile",
        )
    with psycopg.connect(postgres_url, autocommit=True) as con:
        assert con.execute("SELECT count(*) FROM rl_hostile.t").fetchone() == (2,)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_bad_duckdb_sources_exit_2_in_one_line(tmp_path: Path, mapping_file: Path) -> None:
    sqlite_file = tmp_path / "data.db"
    with sqlite3.connect(sqlite_file) as con:
        con.execute("CREATE TABLE t (id TEXT)")
    garbage = tmp_path / "garbage.duckdb"
    garbage.write_bytes(b"\x00not a database at all" * 100)
    home = tmp_path / "home"
    home.mkdir()
    cases = {
        str(tmp_path): "is a directory",
        str(sqlite_file): "SQLite database, not a DuckDB file; pass it as sqlite:///",
        str(garbage): "cannot open",
        str(tmp_path / "missing.duckdb"): "does not exist",
    }
    for source, expected in cases.items():
        done = _cli("--from", source, "--table", "t", "--mapping", str(mapping_file), env={"HOME": str(home)})
        assert done.returncode == 2, done.stderr
        assert expected in _one_line(done.stderr)
    assert not list(home.rglob("*")), "DuckDB tried to install an extension"


@pytest.mark.postgres
def test_bad_postgres_urls_exit_2_in_one_line(postgres_url: str, mapping_file: Path) -> None:
    base = postgres_url.rsplit("/", 1)[0]
    cases = {
        f"postgresql://postgres@127.0.0.1:{_closed_port()}/db": "is the server running",
        f"{base}/no_such_database": "does not exist",
        postgres_url.replace("postgres@", "no_such_role@"): "does not exist",
    }
    for url, expected in cases.items():
        done = _cli("--from", url, "--table", "t", "--mapping", str(mapping_file))
        assert done.returncode == 2, done.stderr
        line = _one_line(done.stderr)
        assert expected in line and "cannot connect to the warehouse" in line


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("!!python/object/apply:os.system ['echo pwned']", "could not be parsed"),
        ("- just\n- a list", "must hold an object"),
        (json.dumps({**MAPPING, "key": []}), "key"),
        (json.dumps({**MAPPING, "uuid_namespace": ""}), "uuid_namespace"),
    ],
)
def test_hostile_mapping_files_are_refused(
    warehouse: Path, tmp_path: Path, content: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(content)
    code, err = _main(capsys, "--from", str(warehouse), "--table", "t", "--mapping", str(path))
    assert code == 2
    assert expected in _one_line(err)


@pytest.mark.parametrize("table", ["t; DROP TABLE t", "t --", "'t'", "t WHERE 1=1"])
def test_table_names_cannot_carry_sql(
    warehouse: Path, mapping_file: Path, table: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _main(capsys, "--from", str(warehouse), "--table", table, "--mapping", str(mapping_file))
    assert code == 2
    assert "not a plain" in _one_line(err)
