"""Postgres -> sandbox through SQLAlchemy URLs (psycopg2 and psycopg 3), and SqlToOutlitOperator."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from rl_helpers import (
    BAD_ROWS,
    CREATE,
    GOOD_ROWS,
    MAPPING,
    account_rows,
    assert_exactly_once,
    expected_dead_letters,
    good_keys,
    sqlite_warehouse,
    stored,
)

from outlit_core.reverse_load import run_reverse_load


def _load_postgres(url: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        con.execute(f"CREATE SCHEMA {schema}")
        con.execute(CREATE.replace("TABLE accounts", f"TABLE {schema}.accounts"))
        with con.cursor() as cur:
            cur.executemany(f"INSERT INTO {schema}.accounts VALUES (%s, %s, %s, %s, %s, %s)", account_rows())


@pytest.mark.postgres
@pytest.mark.parametrize("driver", ["postgresql", "postgresql+psycopg"])
def test_postgres_end_to_end(postgres_url: str, driver: str, client: Any, fresh_sandbox: Any) -> None:
    import psycopg

    schema = f"rl_{driver.replace('+', '_')}"
    _load_postgres(postgres_url, schema)
    url = postgres_url.replace("postgresql", driver, 1)
    # small chunks: the server-side cursor is read in many round trips
    first = run_reverse_load(
        url, MAPPING, table=f"{schema}.accounts", client=client, schema=schema, chunk_size=40
    )
    bad = BAD_ROWS
    assert (first.read, first.sent, first.rejected) == (GOOD_ROWS + bad, GOOD_ROWS, bad)
    assert_exactly_once(stored(fresh_sandbox), good_keys())

    with psycopg.connect(postgres_url, autocommit=True) as con:
        reasons = {
            k: (stage, field)
            for k, stage, field in con.execute(
                f"SELECT row_key, stage, field_path FROM {schema}._outlit_rejected"
            )
        }
        con.execute(f"UPDATE {schema}.accounts SET plan = 'enterprise' WHERE account_id = 'acc_00007'")
    assert reasons == expected_dead_letters()

    again = run_reverse_load(url, MAPPING, table=f"{schema}.accounts", client=client, schema=schema)
    assert (again.sent, again.unchanged, again.rejected) == (1, GOOD_ROWS + bad - 1, 0)
    latest = stored(fresh_sandbox)[-1]
    assert (latest["customerId"], latest["traits"]["plan"]) == ("acc_00007", "enterprise")


def _outlit_connection(sb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    extra = {"base_url": sb.base_url, "public_key": sb.public_key}
    connection = {"conn_type": "outlit", "password": sb.api_key, "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_OUTLIT_DEFAULT", json.dumps(connection))


@pytest.fixture
def sqlite_conn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return sqlite_warehouse(tmp_path, monkeypatch)


def test_sql_to_outlit_operator_with_an_airflow_sqlite_connection(
    sqlite_conn: Path, fresh_sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from outlit_provider.transfers.sql_to_outlit import SqlToOutlitOperator

    _outlit_connection(fresh_sandbox, monkeypatch)
    op = SqlToOutlitOperator(
        task_id="accounts_to_outlit",
        conn_id="warehouse",
        sql="SELECT * FROM accounts WHERE account_id NOT LIKE 'bad_%'",
        mapping=MAPPING,
    )
    counts = op.execute(context={})
    json.dumps(counts)  # the return value goes to XCom
    assert (counts["read"], counts["sent"], counts["rejected"], counts["status"]) == (
        GOOD_ROWS,
        GOOD_ROWS,
        0,
        "success",
    )
    assert fresh_sandbox.api_key not in json.dumps(counts)
    assert_exactly_once(stored(fresh_sandbox), good_keys())
    # a task retry after success sends nothing
    assert op.execute(context={})["sent"] == 0
    with sqlite3.connect(sqlite_conn) as con:
        assert con.execute("SELECT count(*) FROM _outlit_sync_ledger").fetchone() == (GOOD_ROWS,)
        assert con.execute("SELECT status FROM _outlit_sync_runs").fetchall() == [("success",), ("success",)]


def test_operator_rejects_a_non_sql_connection(fresh_sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from outlit_provider.transfers.sql_to_outlit import SqlToOutlitOperator

    with pytest.raises(ValueError, match="exactly one of sql= or table="):
        SqlToOutlitOperator(task_id="t", conn_id="warehouse", mapping=MAPPING)
    monkeypatch.setenv(
        "AIRFLOW_CONN_NOT_SQL", json.dumps({"conn_type": "outlit", "password": fresh_sandbox.api_key})
    )
    op = SqlToOutlitOperator(task_id="t", conn_id="not_sql", table="accounts", mapping=MAPPING)
    with pytest.raises(Exception, match=r"DbApiHook|common-sql"):
        op.execute(context={})


def test_operator_refuses_a_database_it_cannot_keep_a_ledger_in(monkeypatch: pytest.MonkeyPatch) -> None:
    from outlit_core.reverse_load.warehouse import UnsupportedDialectError
    from outlit_provider.transfers.sql_to_outlit import SqlToOutlitOperator

    class BigQueryHook:  # what get_db_hook() returns for a BigQuery connection, without the provider
        conn_type = "gcpbigquery"

        def get_conn(self) -> None:
            raise AssertionError("opened a connection to an unsupported database")

    monkeypatch.setattr(SqlToOutlitOperator, "get_db_hook", lambda self: BigQueryHook())
    op = SqlToOutlitOperator(task_id="t", conn_id="bq", table="accounts", mapping=MAPPING)
    with pytest.raises(
        UnsupportedDialectError, match=r"'bigquery' database \(Airflow connection 'bq'"
    ) as info:
        op.execute(context={})
    assert "supported are duckdb, mariadb, mssql, mysql, postgresql, snowflake, sqlite" in str(info.value)


def test_a_relative_mapping_path_is_found_next_to_the_dag(
    sqlite_conn: Path, fresh_sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's own example: mapping="mappings/scores.yaml" beside the DAG file, run from elsewhere."""
    import yaml
    from airflow.sdk import DAG

    from outlit_provider.transfers.sql_to_outlit import SqlToOutlitOperator

    _outlit_connection(fresh_sandbox, monkeypatch)
    dags = tmp_path / "dags"
    (dags / "mappings").mkdir(parents=True)
    (dags / "mappings" / "scores.yaml").write_text(yaml.safe_dump(MAPPING))
    elsewhere = tmp_path / "worker_cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    with DAG("rl_relative_mapping", schedule=None) as dag:
        op = SqlToOutlitOperator(
            task_id="t",
            conn_id="warehouse",
            sql="SELECT * FROM accounts WHERE account_id NOT LIKE 'bad_%'",
            mapping="mappings/scores.yaml",
        )
    dag.fileloc = str(dags / "rl_relative_mapping.py")
    assert op.execute(context={})["sent"] == GOOD_ROWS

    missing = SqlToOutlitOperator(
        task_id="t2", conn_id="warehouse", table="accounts", mapping="mappings/nope.yaml", dag=dag
    )
    from outlit_core.reverse_load import MappingError

    with pytest.raises(MappingError, match=r"not found in the DAG's folder .*dags"):
        missing.execute(context={})


def test_operator_sql_goes_through_the_same_read_only_check(
    sqlite_conn: Path, fresh_sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from outlit_core.reverse_load.sql_check import UnsafeWarehouseSQLError
    from outlit_provider.transfers.sql_to_outlit import SqlToOutlitOperator

    _outlit_connection(fresh_sandbox, monkeypatch)
    op = SqlToOutlitOperator(
        task_id="t", conn_id="warehouse", sql="DELETE FROM accounts; SELECT * FROM accounts", mapping=MAPPING
    )
    with pytest.raises(UnsafeWarehouseSQLError, match="2 statements"):
        op.execute(context={})
    with sqlite3.connect(sqlite_conn) as con:
        assert con.execute("SELECT count(*) FROM accounts").fetchone() == (len(account_rows()),)
    assert fresh_sandbox.stats()["ingest"]["requests"] == 0
