"""Two runs of one sync at once: the second stops with "sync X is running since T"; nothing goes out twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
from rl_helpers import BACKENDS, GOOD_ROWS, MAPPING, account_rows, assert_exactly_once, good_keys, load_source

from outlit_core.client import OutlitClient
from outlit_core.reverse_load import run_reverse_load
from outlit_core.reverse_load.locks import SyncBusyError


def _wait_for(condition: Any, what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def _slow(sb: Any) -> None:
    # Every request held 0.3 s: the first run is still sending when the second starts.
    sb.configure(fault_rate=1.0, fault_kinds=["slow"], slow_seconds=0.3)


def _client(sb: Any) -> OutlitClient:
    return OutlitClient(api_key=sb.api_key, public_key=sb.public_key, base_url=sb.base_url)


@pytest.mark.parametrize("kind", BACKENDS)
def test_a_second_run_of_a_running_sync_stops_and_sends_nothing(
    request: Any, kind: str, tmp_path: Path, fresh_sandbox: Any
) -> None:
    source = load_source(request, kind, account_rows(with_bad=False), tmp_path)
    _slow(fresh_sandbox)
    outcome: dict[str, Any] = {}

    def first() -> None:
        with _client(fresh_sandbox) as client:
            outcome["first"] = run_reverse_load(
                source.source,
                MAPPING,
                table=source.table,
                client=client,
                schema=source.schema,
                max_in_flight=1,
            )

    thread = threading.Thread(target=first)
    thread.start()
    try:
        _wait_for(lambda: fresh_sandbox.stats()["ingest"]["requests"] >= 1, "the first run to send")
        with _client(fresh_sandbox) as client, pytest.raises(SyncBusyError) as busy:
            run_reverse_load(source.source, MAPPING, table=source.table, client=client, schema=source.schema)
    finally:
        thread.join()
    assert "sync 'accounts_sync' is running since 20" in str(busy.value)
    assert outcome["first"].sent == GOOD_ROWS
    events = [r["event"] for r in fresh_sandbox.ingested()["events"]]
    assert_exactly_once(events, good_keys())
    assert fresh_sandbox.stats()["ingest"]["duplicates"] == 0
    runs = source.query(f"SELECT status, sent_count FROM {source.name('_outlit_sync_runs')}")
    assert runs == [("success", GOOD_ROWS)]  # the refused run left no line claiming it ran


def test_a_second_process_on_a_busy_duckdb_file_exits_with_one_line(
    tmp_path: Path, fresh_sandbox: Any
) -> None:
    rows = 1_000  # 10 requests held 1 s each, one at a time: the first process outlives the second's start
    source = load_source(None, "duckdb", account_rows(rows, with_bad=False), tmp_path)
    mapping = tmp_path / "m.json"
    mapping.write_text(json.dumps(MAPPING))
    env = {
        **os.environ,
        "OUTLIT_PUBLIC_KEY": fresh_sandbox.public_key,
        "OUTLIT_BASE_URL": fresh_sandbox.base_url,
    }
    args = [
        sys.executable,
        "-m",
        "outlit_cli.main",
        "reverse-load",
        "--from",
        source.source,
        "--table",
        "accounts",
        "--mapping",
        str(mapping),
        "--json",
    ]
    fresh_sandbox.configure(fault_rate=1.0, fault_kinds=["slow"], slow_seconds=1.0)
    first = subprocess.Popen([*args, "--max-in-flight", "1"], env=env, stdout=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: fresh_sandbox.stats()["ingest"]["requests"] >= 1, "the first run to send")
        second = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
        overlapped = first.poll() is None
    finally:
        out, _err = first.communicate(timeout=120)
    assert overlapped, "the first run ended before the second one tried; nothing was tested"
    assert second.returncode == 1
    error = json.loads(second.stdout)  # --json: one object on stdout, the error included
    assert "open for writing in another process (PID" in error["error"], second.stdout
    assert error["exit_code"] == 1 and "Traceback" not in second.stderr
    assert first.returncode == 0 and json.loads(out)["sent"] == rows
    assert_exactly_once([r["event"] for r in fresh_sandbox.ingested()["events"]], good_keys(rows))
    with duckdb.connect(source.source) as con:
        assert con.execute("SELECT status FROM _outlit_sync_runs").fetchall() == [("success",)]
