"""Reverse load from a Snowflake table, bookkeeping in Snowflake's dialect, through the real
snowflake-connector-python talking HTTP to fakesnow's server (a Snowflake emulator on DuckDB).

What this shows and what only a live account can: docs/snowflake.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

fakesnow = pytest.importorskip("fakesnow", reason="fakesnow (dev extra) emulates Snowflake for these tests")
snowflake_connector = pytest.importorskip("snowflake.connector")

from people import MAPPING, ROWS  # noqa: E402

from outlit_core.client import OutlitClient  # noqa: E402
from outlit_core.reverse_load import Warehouse, run_reverse_load  # noqa: E402
from outlit_core.reverse_load.admin import preview_reverse_load, reset_sync, sync_status  # noqa: E402
from outlit_core.reverse_load.warehouse import bookkeeping_ddl  # noqa: E402


def _warehouse(connect: Callable[[], Any]) -> Warehouse:
    # The DB-API path every Snowflake user takes through Airflow's SnowflakeHook.get_conn() as well.
    return Warehouse(
        connect, dialect="snowflake", paramstyle=snowflake_connector.paramstyle, schema="OUTLIT_META"
    )


def _client(sb: Any) -> OutlitClient:
    return OutlitClient(sb.api_key, public_key=sb.public_key, base_url=sb.base_url)


def test_reverse_load_from_snowflake_keeps_its_ledger_in_snowflake(
    connect: Callable[[], Any], fresh_sandbox: Any
) -> None:
    stored = fresh_sandbox.stats()["ingest"]["stored"]
    with _warehouse(connect) as wh, _client(fresh_sandbox) as client:
        preview = preview_reverse_load(wh, MAPPING, table="people")
        assert (preview["would_send"], preview["rejected"]) == (ROWS - 1, 1)
        first = run_reverse_load(wh, MAPPING, table="people", client=client, chunk_size=7)
        assert (first.read, first.sent, first.rejected) == (ROWS, ROWS - 1, 1)
        assert fresh_sandbox.stats()["ingest"]["stored"] == stored + ROWS - 1

        with connect() as con:
            con.cursor().execute("UPDATE people SET plan = 'team' WHERE person_id IN ('p001', 'p002')")
        second = run_reverse_load(wh, MAPPING, table="people", client=client)
        assert (second.sent, second.unchanged, second.rejected) == (2, ROWS - 2, 0)
        assert run_reverse_load(wh, MAPPING, table="people", client=client).sent == 0

        status = sync_status(wh, "people")
        assert status["ledger"]["delivered"] == ROWS - 1 and status["ledger"]["rejected"] == 1
        assert [run["sent_count"] for run in status["runs"]] == [0, 2, ROWS - 1]
        assert status["rejected_rows"][0]["key"] == '["p000"]'
        assert reset_sync(wh, "people", rows=["p001"])["reset"] == 1
        assert run_reverse_load(wh, MAPPING, table="people", client=client).sent == 1

    # the three bookkeeping tables exist in Snowflake with Snowflake's types
    with connect() as con:
        cur = con.cursor()
        cur.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'OUTLIT_META' ORDER BY 1, 2"
        )
        columns = {(table.lower(), column.lower()): kind for table, column, kind in cur.fetchall()}
        cur.execute("SELECT COUNT(*) FROM outlit_meta._outlit_sync_ledger WHERE sync_name = 'people'")
        assert cur.fetchone()[0] == ROWS
    assert {table for table, _ in columns} == {"_outlit_sync_ledger", "_outlit_rejected", "_outlit_sync_runs"}
    assert columns["_outlit_sync_ledger", "delivered_at"] == "TIMESTAMP_NTZ"
    assert columns["_outlit_sync_runs", "sent_count"] in ("NUMBER", "BIGINT")
    ddl = " ".join(bookkeeping_ddl("snowflake", "OUTLIT_META"))
    assert "TIMESTAMP_NTZ" in ddl and "STRING" in ddl


def test_a_limited_run_on_snowflake_is_recorded_and_the_next_run_sends_the_rest(
    connect: Callable[[], Any], fresh_sandbox: Any
) -> None:
    with _warehouse(connect) as wh, _client(fresh_sandbox) as client:
        part = run_reverse_load(wh, MAPPING, table="people", client=client, limit=10)
        assert part.sent == 10
        rest = run_reverse_load(wh, MAPPING, table="people", client=client)
        # p000 (no e-mail) was examined and dead-lettered by the first run: unchanged since
        assert (rest.sent, rest.unchanged) == (ROWS - 1 - 10, 10 + 1)
    assert fresh_sandbox.stats()["ingest"]["stored"] >= ROWS - 1
