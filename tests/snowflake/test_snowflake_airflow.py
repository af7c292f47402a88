"""SqlToOutlitOperator over an Airflow Snowflake connection (apache-airflow-providers-snowflake): the
provider's SnowflakeHook opens the real connector against fakesnow, and the operator reads through the
hook's DB-API connection (no SQLAlchemy engine) with its ledger kept in Snowflake."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("fakesnow", reason="fakesnow (dev extra) emulates Snowflake for these tests")
snowflake_hooks = pytest.importorskip(
    "airflow.providers.snowflake.hooks.snowflake", reason="apache-airflow-providers-snowflake (dev extra)"
)

from people import MAPPING, ROWS  # noqa: E402


@pytest.fixture
def snowflake_connection(
    snowflake_server: dict[str, Any], people_database: str, monkeypatch: pytest.MonkeyPatch
) -> str:
    extra = {
        "account": snowflake_server["account"],
        "database": people_database,
        "host": snowflake_server["host"],
        "port": snowflake_server["port"],
        "session_parameters": snowflake_server["session_parameters"],
    }
    connection = {
        "conn_type": "snowflake",
        "login": snowflake_server["user"],
        "password": snowflake_server["password"],
        "schema": "ANALYTICS",
        "extra": extra,
    }
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_SF", json.dumps(connection))
    # Test-only: fakesnow serves plain HTTP on loopback, and the hook (Snowflake is HTTPS only) has no
    # protocol field, so the connector's `protocol` is added to what the hook hands it.
    hook = snowflake_hooks.SnowflakeHook
    original = hook._get_conn_params
    monkeypatch.setattr(hook, "_get_conn_params", lambda self: {**original(self), "protocol": "http"})
    return "warehouse_sf"


def test_sql_to_outlit_operator_with_a_snowflake_airflow_connection(
    snowflake_connection: str, connect: Callable[[], Any], fresh_sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from outlit_provider.transfers.sql_to_outlit import SqlToOutlitOperator

    extra = {"base_url": fresh_sandbox.base_url, "public_key": fresh_sandbox.public_key}
    outlit = {"conn_type": "outlit", "password": fresh_sandbox.api_key, "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_OUTLIT_DEFAULT", json.dumps(outlit))
    stored = fresh_sandbox.stats()["ingest"]["stored"]

    # no bookkeeping_schema: the ledger goes beside the data, in the connection's schema
    op = SqlToOutlitOperator(task_id="people", conn_id=snowflake_connection, table="people", mapping=MAPPING)
    counts = op.execute(context={})
    json.dumps(counts)  # the return value goes to XCom
    assert (counts["read"], counts["sent"], counts["rejected"]) == (ROWS, ROWS - 1, 1)
    assert fresh_sandbox.api_key not in json.dumps(counts)
    assert fresh_sandbox.stats()["ingest"]["stored"] == stored + ROWS - 1
    assert op.execute(context={})["sent"] == 0  # a task retry after success sends nothing

    with connect() as con:
        cur = con.cursor()
        cur.execute("SELECT COUNT(*) FROM analytics._outlit_sync_ledger WHERE sync_name = 'people'")
        assert cur.fetchone()[0] == ROWS
        cur.execute("SELECT status FROM analytics._outlit_sync_runs ORDER BY started_at")
        assert [r[0] for r in cur.fetchall()] == ["partial", "success"]
