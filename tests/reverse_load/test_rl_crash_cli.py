"""The CLI, and a run SIGKILLed mid-flight then rerun: nothing lost, nothing stored twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from rl_helpers import (
    BACKENDS,
    BAD_ROWS,
    GOOD_ROWS,
    MAPPING,
    account_rows,
    assert_exactly_once,
    duplicates,
    good_keys,
    load_source,
    stored,
)

from outlit_core.client import OutlitClient
from outlit_core.reverse_load import run_reverse_load


def _cli(sb: Any, *args: str) -> list[str]:
    return [sys.executable, "-m", "outlit_cli.main", "reverse-load", *args]


def _env(sb: Any) -> dict[str, str]:
    return {
        **os.environ,
        "OUTLIT_API_KEY": sb.api_key,
        "OUTLIT_PUBLIC_KEY": sb.public_key,
        "OUTLIT_BASE_URL": sb.base_url,
    }


@pytest.fixture
def mapping_file(tmp_path: Path) -> Path:
    path = tmp_path / "billing.json"
    path.write_text(json.dumps(MAPPING))
    return path


def test_cli_json_summary_and_rerun(duckdb_file: Path, mapping_file: Path, fresh_sandbox: Any) -> None:
    args = _cli(
        fresh_sandbox, "--from", str(duckdb_file), "--table", "accounts", "--mapping", str(mapping_file)
    )
    first = subprocess.run(
        [*args, "--json"], env=_env(fresh_sandbox), capture_output=True, text=True, timeout=60
    )
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert {k: summary[k] for k in ("read", "sent", "unchanged", "rejected", "retries")} == {
        "read": GOOD_ROWS + BAD_ROWS,
        "sent": GOOD_ROWS,
        "unchanged": 0,
        "rejected": BAD_ROWS,
        "retries": summary["retries"],
    }
    table = subprocess.run(args, env=_env(fresh_sandbox), capture_output=True, text=True, timeout=60)
    assert table.returncode == 0, table.stderr
    assert "unchanged" in table.stdout and f"{GOOD_ROWS + BAD_ROWS}" in table.stdout
    assert fresh_sandbox.api_key not in table.stdout + table.stderr + first.stdout + first.stderr


def test_cli_bad_input_exits_2_with_a_clear_message(
    duckdb_file: Path, tmp_path: Path, fresh_sandbox: Any
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("event_type: billing\nkey: [account_id]\ncustomer_id: account_id\n")
    run = subprocess.run(
        _cli(fresh_sandbox, "--from", str(duckdb_file), "--table", "accounts", "--mapping", str(bad)),
        env=_env(fresh_sandbox),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert "'billing' events require 'status'" in run.stderr and "fields.status" in run.stderr


# (rows, ingest requests/s): the sandbox's one-second rate window must hold the run back long enough to
# kill it part-way. The Postgres table is smaller to keep the suite fast, so its window is narrower.
CRASH_RUN = {"duckdb": (3_000, 10), "postgres": (1_500, 4)}


@pytest.mark.parametrize("kind", BACKENDS)
def test_sigkill_mid_flight_then_rerun_loses_nothing(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path, mapping_file: Path
) -> None:
    outlit_sandbox = pytest.importorskip("outlit_sandbox")
    rows, ingest_rps = CRASH_RUN[kind]
    source = load_source(request, kind, account_rows(rows, with_bad=False), tmp_path)
    args = ["--from", source.source, "--table", source.table, "--mapping", str(mapping_file)]
    if source.schema:
        args += ["--schema", source.schema]
    # A slow ingest limit keeps the run going long enough to be killed part-way through.
    with outlit_sandbox.running(
        seed=7, customers=2, events_per_customer=5, facts_per_customer=2, ingest_rps=ingest_rps
    ) as sb:
        proc = subprocess.Popen(
            _cli(sb, *args, "--max-in-flight", "2"),
            env=_env(sb),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while sb.stats()["ingest"]["stored"] < 500 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)  # let the run record the batches it has had answers for, then kill it mid-flight
        assert proc.poll() is None, "the run finished before it could be killed; slow the sandbox further"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        time.sleep(0.3)  # a request the server had fully received when the client died still gets stored
        stored_at_kill = {e["uuid"] for e in stored(sb)}
        assert 0 < len(stored_at_kill) < rows

        ledger = {u for (u,) in source.query(f"SELECT event_uuid FROM {source.name('_outlit_sync_ledger')}")}
        runs = source.query(f"SELECT status FROM {source.name('_outlit_sync_runs')}")
        assert runs == [("running",)]  # the killed run never finished
        assert ledger, "no batch was recorded before the kill"
        assert ledger <= stored_at_kill, "the ledger recorded an event Outlit never stored"

        sb.configure(ingest_rps=100)
        with OutlitClient(api_key=sb.api_key, public_key=sb.public_key, base_url=sb.base_url) as client:
            rerun = run_reverse_load(
                source.source, MAPPING, table=source.table, schema=source.schema, client=client
            )
        assert rerun.sent + len(ledger) == rows  # resends only what the ledger did not hold
        assert rerun.unchanged == len(ledger)
        assert_exactly_once(stored(sb), good_keys(rows))
        # The only repeats Outlit saw are batches answered but not yet recorded at the kill.
        repeated = len(stored_at_kill) - len(ledger)
        assert 0 <= repeated <= 400
        assert duplicates(sb) == repeated
