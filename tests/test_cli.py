"""`outlit-etl` end to end against the sandbox: check, tool, query and extract (reverse-load has its own)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.cli_helpers import run_cli, use_sandbox


@pytest.fixture
def outlit_env(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    return use_sandbox(monkeypatch, sandbox)


def test_check_reports_the_organization(outlit_env: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "check", "--json")
    assert code == 0
    assert json.loads(out)["organization_id"]
    assert outlit_env.api_key not in out


def test_check_with_a_wrong_key_fails_without_echoing_it(
    outlit_env: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, "check", "--api-key", "ok_wrong_key_123456")
    assert code == 1
    assert "ok_wrong_key_123456" not in out + err
    assert err.startswith("error:")


def test_tool_pages_a_list_tool_to_the_end(outlit_env: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "tool", "outlit_list_customers", "--all", "--input", '{"limit": 5}')
    assert code == 0
    ids = [json.loads(line)["id"] for line in out.splitlines()]
    assert sorted(ids) == sorted(c["id"] for c in outlit_env.dataset()["customers"])


def test_tool_input_errors_name_the_field(outlit_env: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "tool", "outlit_list_customers", "--input", '{"billingStatus": "RICH"}')
    assert code == 2
    assert "billingStatus" in err and "PAYING" in err
    code, _, err = run_cli(capsys, "tool", "outlit_list_customer")
    assert code == 2 and "outlit_list_customers" in err
    code, _, err = run_cli(capsys, "tool", "outlit_list_customers", "--input", "[1]")
    assert code == 2 and "JSON object" in err


def test_query_prints_csv_and_refuses_writes_locally(
    outlit_env: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    before = outlit_env.stats()
    code, _, err = run_cli(capsys, "query", "DELETE FROM customers")
    assert code == 2 and "read-only" in err.lower()
    assert outlit_env.stats()["requests"] == before["requests"]  # refused before any request
    code, out, _ = run_cli(
        capsys, "query", "SELECT customer_id, domain FROM customers ORDER BY 1", "--format", "csv"
    )
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0] == "customer_id,domain"
    assert len(lines) - 1 == len(outlit_env.dataset()["customers"])


def test_extract_loads_duckdb_and_a_rerun_adds_nothing(fresh_sandbox: Any, tmp_path: Path) -> None:
    # As typed, in a process of its own: in this test process, a pipeline into the outlit_ingest
    # destination (naming convention "direct", tests/reverse_load/test_rl_dlt.py) leaves dlt state behind
    # that makes a later `outlit` source load fail on sources.source_type (reported to the dlt/rl areas).
    db = tmp_path / "w.duckdb"
    env = {
        "OUTLIT_API_KEY": fresh_sandbox.api_key,
        "OUTLIT_BASE_URL": fresh_sandbox.base_url,
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
    }
    argv = [sys.executable, "-m", "outlit_cli.main", "extract", "--duckdb-file", str(db)]
    argv += ["--pipelines-dir", str(tmp_path / "p"), "--json"]

    def extract() -> dict[str, Any]:
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=240)
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads(done.stdout)

    first = extract()
    assert first["tables"]["customers"] == len(fresh_sandbox.dataset()["customers"])
    assert first["loaded"]["timeline"] == first["tables"]["timeline"] > 0
    second = extract()
    assert second["tables"] == first["tables"]
    assert "timeline" not in second["loaded"]  # nothing new since the first run
    with duckdb.connect(str(db), read_only=True) as con:
        count = con.execute("SELECT count(*) FROM outlit_data.customers").fetchone()[0]
        assert count == first["tables"]["customers"]


def test_console_script_help_is_fast_and_lists_every_command() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "outlit_cli.main", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for command in ("check", "tool", "query", "extract", "reverse-load", "sync-status", "sync-reset"):
        assert command in out


def test_a_closed_pipe_ends_quietly(outlit_env: Any) -> None:
    # `outlit-etl query ... | head -1`: the reader leaves early; no traceback, exit 0. The output is far
    # larger than a pipe's buffer, so the writer does hit the closed pipe.
    env = {
        "OUTLIT_API_KEY": outlit_env.api_key,
        "OUTLIT_BASE_URL": outlit_env.base_url,
        "PATH": "/usr/bin:/bin",
    }
    script = (
        f"{sys.executable} -m outlit_cli.main query "
        "'SELECT a.*, b.event_id AS other FROM activity a, activity b' --limit 10000 --format csv | head -1"
    )
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert "Traceback" not in done.stderr
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("event_id,")
