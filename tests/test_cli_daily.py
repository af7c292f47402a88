"""`outlit-etl` for daily use: timeouts and retries on every command, one JSON shape (errors included), and
bad flags refused with exit 2 and a hint. End to end against the sandbox."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import run_cli, use_sandbox


def _json_error(out: str) -> dict[str, Any]:
    payload = json.loads(out)  # exactly one JSON document on stdout
    assert {"error", "code", "hint", "exit_code"} <= set(payload), payload
    return payload


@pytest.fixture
def env(fresh_sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name in ("OUTLIT_TIMEOUT", "OUTLIT_MAX_RETRIES"):
        monkeypatch.delenv(name, raising=False)
    return use_sandbox(monkeypatch, fresh_sandbox)


def _requests(sb: Any, route: str = "POST /api/validate-api-key") -> int:
    return int(sb.stats()["requests"].get(route, 0))


def test_max_retries_flag_and_variable_bound_the_attempts(
    env: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    env.configure(fault_rate=1.0, fault_kinds=["503"], retry_after=0)
    code, out, _ = run_cli(capsys, "check", "--json", "--max-retries", "0")
    assert code == 1
    assert _json_error(out)["code"] == "server_error"
    assert _requests(env) == 1
    code, _, _ = run_cli(capsys, "check", "--max-retries", "2")
    assert code == 1 and _requests(env) == 1 + 3
    monkeypatch.setenv("OUTLIT_MAX_RETRIES", "1")
    code, _, err = run_cli(capsys, "check")
    assert code == 1 and _requests(env) == 4 + 2
    assert err.startswith("error:") and "\nhint:" in err
    env.configure(fault_rate=0.0)
    code, out, _ = run_cli(capsys, "check", "--json")
    assert code == 0 and json.loads(out)["valid"] is True


def test_timeout_flag_and_variable_end_a_stalled_request(
    env: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    env.configure(fault_rate=1.0, fault_kinds=["slow"], slow_seconds=3)
    code, out, _ = run_cli(
        capsys, "query", "SELECT 1 AS x", "--json", "--timeout", "0.3", "--max-retries", "0"
    )
    assert code == 1
    assert _json_error(out)["code"] == "network"
    monkeypatch.setenv("OUTLIT_TIMEOUT", "0.3")
    monkeypatch.setenv("OUTLIT_MAX_RETRIES", "0")
    code, out, _ = run_cli(capsys, "tool", "outlit_list_customers", "--json")
    assert code == 1 and _json_error(out)["code"] == "network"
    # the flag wins over the variable
    env.configure(slow_seconds=0.5)
    code, out, _ = run_cli(capsys, "check", "--json", "--timeout", "20")
    assert code == 0, out


@pytest.mark.parametrize(
    ("argv", "environ", "named"),
    [
        (["check", "--timeout", "soon"], {}, "--timeout"),
        (["check", "--timeout", "0"], {}, "--timeout"),
        (["query", "SELECT 1", "--max-retries", "-1"], {}, "--max-retries"),
        (["check"], {"OUTLIT_TIMEOUT": "abc"}, "OUTLIT_TIMEOUT"),
        (["tool", "outlit_list_customers"], {"OUTLIT_MAX_RETRIES": "2.5"}, "OUTLIT_MAX_RETRIES"),
    ],
)
def test_bad_timeout_or_retries_exit_2_naming_where_they_came_from(
    env: Any,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    environ: dict[str, str],
    named: str,
) -> None:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    before = env.stats()["requests_total"]
    code, out, _ = run_cli(capsys, *argv, "--json")
    error = _json_error(out)
    assert code == 2 and error["exit_code"] == 2 and error["code"] == "invalid_input"
    assert named in error["error"] and error["hint"]
    assert env.stats()["requests_total"] == before  # refused before any request


def test_check_without_an_api_key_is_bad_input(
    env: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OUTLIT_API_KEY")
    code, out, _ = run_cli(capsys, "check", "--json")
    error = _json_error(out)
    assert code == 2 and error["code"] == "configuration" and "OUTLIT_API_KEY" in error["error"]
    code, _, err = run_cli(capsys, "check")
    assert code == 2 and "OUTLIT_API_KEY" in err


def test_tool_max_items_is_never_silently_ignored(env: Any, capsys: pytest.CaptureFixture[str]) -> None:
    before = env.stats()["requests_total"]
    code, _, err = run_cli(capsys, "tool", "outlit_list_customers", "--max-items", "2")
    assert code == 2 and "--all" in err and "hint:" in err
    for bad in ("0", "-1"):
        code, out, _ = run_cli(capsys, "tool", "outlit_list_customers", "--all", "--max-items", bad, "--json")
        error = _json_error(out)
        assert code == 2 and "--max-items" in error["error"] and error["hint"]
    assert env.stats()["requests_total"] == before
    code, out, _ = run_cli(capsys, "tool", "outlit_list_customers", "--all", "--max-items", "2", "--json")
    result = json.loads(out)
    assert code == 0 and result["count"] == 2 and len(result["items"]) == 2
    code, out, _ = run_cli(capsys, "tool", "outlit_list_customers", "--all", "--max-items", "3")
    assert code == 0 and len(out.splitlines()) == 3


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "--bogus"],
        ["tool"],
        ["query"],
        ["extract", "--resource", "nope"],
        ["reverse-load", "--from", "x.duckdb"],
        ["sync-status"],
        ["sync-reset", "s", "--from", "x.duckdb", "--status", "lost"],
        ["no-such-command"],
    ],
)
def test_usage_errors_are_json_with_json_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, out, err = run_cli(capsys, *argv, "--json")
    error = _json_error(out)
    assert code == 2 and error["code"] == "usage" and "--help" in error["hint"]
    assert err == ""
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == "" and "usage error" in err


def test_json_and_verbose_are_accepted_before_or_after_the_command(
    env: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv in (
        ["--json", "check"],
        ["check", "--json"],
        ["-v", "check", "--json"],
        ["check", "-v", "--json"],
    ):
        code, out, _ = run_cli(capsys, *argv)
        assert code == 0 and json.loads(out)["valid"] is True


def test_every_command_reports_a_failed_run_in_one_json_shape(
    env: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Outlit refuses the key: each command that calls Outlit fails with exit 1 and the same JSON shape.
    mapping = tmp_path / "m.json"
    mapping.write_text(
        json.dumps({"name": "s", "event_type": "identify", "key": ["missing"], "email": "email"})
    )
    db = tmp_path / "w.duckdb"
    import duckdb

    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE t AS SELECT 'u' || i AS id, 'a@b.co' AS email FROM range(3) r(i)")
    wrong = ["--api-key", "ok_wrong_key_123456"]
    commands = [
        ["check"],
        ["tool", "outlit_list_customers"],
        ["query", "SELECT 1 AS x"],
        ["extract", "--duckdb-file", str(tmp_path / "e.duckdb"), "--pipelines-dir", str(tmp_path / "p")],
    ]
    for argv in commands:
        code, out, err = run_cli(capsys, *argv, *wrong, "--json")
        error = _json_error(out)
        assert code == 1 and error["code"] == "auth", (argv, error)
        assert "ok_wrong_key_123456" not in out + err
    # reverse-load with a mapping that does not fit the table: bad input, with the run's counts beside it
    code, out, _ = run_cli(
        capsys, "reverse-load", "--from", str(db), "--table", "t", "--mapping", str(mapping), "--json"
    )
    error = _json_error(out)
    assert code == 2 and error["code"] == "invalid_input" and "missing" in error["error"]
    assert error["status"] == "failed" and error["read"] == 0  # the run's summary in the same object
