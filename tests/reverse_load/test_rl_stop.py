"""Stopping a run between batches (the engine's ``stop`` flag, set by SqlToOutlitOperator.on_kill)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from rl_helpers import (
    BAD_ROWS,
    GOOD_ROWS,
    MAPPING,
    Source,
    StopAfter,
    account_rows,
    assert_exactly_once,
    duplicates,
    good_keys,
    sqlite_warehouse,
    stored,
)

from outlit_core.client import OutlitClient
from outlit_core.reverse_load import run_reverse_load


def _client(sb: Any, transport: httpx.BaseTransport) -> OutlitClient:
    return OutlitClient(
        api_key=sb.api_key, public_key=sb.public_key, base_url=sb.base_url, transport=transport
    )


def test_a_stop_mid_run_leaves_a_consistent_ledger_and_a_rerun_sends_the_rest(
    tmp_path: Path, client: OutlitClient, fresh_sandbox: Any
) -> None:
    rows = 1_000
    source = Source.load("duckdb", account_rows(rows), tmp_path=tmp_path)
    stop = threading.Event()
    stopping = StopAfter(2, stop.set)
    # Three requests in flight when the stop comes: they must all finish and be recorded.
    with _client(fresh_sandbox, stopping) as stopping_client:
        first = run_reverse_load(
            source.source,
            MAPPING,
            table="accounts",
            client=stopping_client,
            max_in_flight=3,
            chunk_size=250,
            stop=stop,
        )

    assert first.status == "stopped"
    assert 0 < first.sent < rows
    assert first.sent == 100 * stopping.requests  # every batch that went out was settled and counted
    ledger = {
        u for (u,) in source.query("SELECT event_uuid FROM _outlit_sync_ledger WHERE status = 'delivered'")
    }
    assert ledger == {e["uuid"] for e in stored(fresh_sandbox)}  # recorded == what Outlit stored
    runs = source.query("SELECT status, sent_count, read_count FROM _outlit_sync_runs")
    assert runs == [("stopped", first.sent, first.read)]

    rerun = run_reverse_load(source.source, MAPPING, table="accounts", client=client)
    assert rerun.status == ("partial" if rerun.rejected else "success")
    assert rerun.sent == rows - first.sent  # exactly the rest
    assert rerun.unchanged == first.sent + first.rejected
    assert first.rejected + rerun.rejected == BAD_ROWS
    assert_exactly_once(stored(fresh_sandbox), good_keys(rows))
    assert duplicates(fresh_sandbox) == 0  # nothing delivered before the stop went out again


def test_a_stop_before_the_first_batch_sends_nothing(
    tmp_path: Path, client: OutlitClient, fresh_sandbox: Any
) -> None:
    source = Source.load("duckdb", account_rows(), tmp_path=tmp_path)
    stop = threading.Event()
    stop.set()
    result = run_reverse_load(source.source, MAPPING, table="accounts", client=client, stop=stop)
    assert (result.status, result.sent, result.batches) == ("stopped", 0, 0)
    assert stored(fresh_sandbox) == []
    assert source.query("SELECT count(*) FROM _outlit_sync_ledger WHERE status = 'delivered'") == [(0,)]


def test_operator_on_kill_stops_the_run_and_the_next_try_sends_the_rest(
    tmp_path: Path, fresh_sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from outlit_provider.hooks.outlit import OutlitHook
    from outlit_provider.transfers.sql_to_outlit import SqlToOutlitOperator

    path = sqlite_warehouse(tmp_path, monkeypatch, with_bad=False)
    op = SqlToOutlitOperator(
        task_id="accounts_to_outlit", conn_id="warehouse", table="accounts", mapping=MAPPING, max_in_flight=1
    )
    kill = {"after": 1}

    def get_client(hook: OutlitHook) -> OutlitClient:
        return _client(fresh_sandbox, StopAfter(kill["after"], op.on_kill))

    monkeypatch.setattr(OutlitHook, "get_client", get_client)
    op.on_kill()  # before execute: nothing to stop, and no error
    with pytest.raises(RuntimeError, match=r"stopped \(on_kill\) after sending 100 event\(s\)"):
        op.execute(context={})
    with sqlite3.connect(path) as con:
        assert con.execute("SELECT count(*) FROM _outlit_sync_ledger").fetchone() == (100,)
        assert con.execute("SELECT status, sent_count FROM _outlit_sync_runs").fetchall() == [
            ("stopped", 100)
        ]
    assert len(stored(fresh_sandbox)) == 100

    kill["after"] = 0  # the task's next try runs to the end
    counts = op.execute(context={})
    assert (counts["status"], counts["sent"], counts["unchanged"]) == ("success", GOOD_ROWS - 100, 100)
    assert_exactly_once(stored(fresh_sandbox), good_keys())
    assert duplicates(fresh_sandbox) == 0
