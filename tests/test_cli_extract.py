"""`outlit-etl extract` flags as typed: --resource, a --start-date/--end-date backfill, --max-workers,
--requests-per-second, --refresh, and --json reporting the rows this run loaded per table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.cli_helpers import run_cli, use_sandbox


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code, out, err = run_cli(capsys, *argv)
    return code, json.loads(out) if out.strip().startswith("{") else out, err


@pytest.fixture
def extract(fresh_sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    use_sandbox(monkeypatch, fresh_sandbox, public_key=False)
    db = tmp_path / "w.duckdb"
    return ["extract", "--duckdb-file", str(db), "--pipelines-dir", str(tmp_path / "p"), "--json"]


def _timeline_dates(db: str) -> list[str]:
    with duckdb.connect(db, read_only=True) as con:
        rows = con.execute("SELECT CAST(occurred_at AS DATE) FROM outlit_data.timeline").fetchall()
    return sorted(str(d) for (d,) in rows)


def test_resource_selects_tables_and_refresh_reloads_them(
    extract: list[str], fresh_sandbox: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, first, _ = _run(capsys, *extract, "--resource", "customers", "--resource", "users")
    assert code == 0, first
    assert first["resources"] == ["customers", "users"]
    assert set(first["loaded"]) == {"customers", "users"}
    assert first["loaded"]["customers"] == len(fresh_sandbox.dataset()["customers"])
    code, second, _ = _run(capsys, *extract, "--resource", "timeline", "--max-workers", "2")
    assert code == 0 and set(second["loaded"]) == {"timeline"}  # a transformer alone: its parent not loaded
    timeline_rows = second["loaded"]["timeline"]
    code, again, _ = _run(capsys, *extract, "--resource", "timeline")
    assert code == 0 and again["loaded"].get("timeline", 0) == 0  # incremental: nothing new
    code, refreshed, _ = _run(capsys, *extract, "--resource", "timeline", "--refresh")
    assert code == 0 and refreshed["refresh"] == "drop_resources"
    assert refreshed["loaded"]["timeline"] == timeline_rows == refreshed["tables"]["timeline"]


def test_backfill_window_leaves_the_incremental_cursor_alone(
    extract: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    db = extract[2]
    code, full, _ = _run(capsys, *extract, "--resource", "timeline", "--requests-per-second", "500")
    assert code == 0
    dates = _timeline_dates(db)
    start, end = dates[len(dates) // 4], dates[len(dates) // 2]
    backfill_db = db.replace("w.duckdb", "b.duckdb")
    args = [*extract, "--duckdb-file", backfill_db, "--resource", "timeline"]
    code, window, _ = _run(capsys, *args, "--start-date", start, "--end-date", f"{end}T23:59:59Z")
    assert code == 0 and window["backfill"] is True
    loaded = _timeline_dates(backfill_db)
    assert loaded and start <= loaded[0] and loaded[-1] <= end
    assert window["loaded"]["timeline"] < full["loaded"]["timeline"]
    # the backfill moved no cursor: the scheduled run after it still loads all history
    code, after, _ = _run(capsys, *args)
    assert code == 0 and after["tables"]["timeline"] == full["tables"]["timeline"]


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--end-date", "2026-01-31"], "--start-date"),
        (["--max-workers", "0"], "--max-workers"),
        (["--requests-per-second", "0"], "--requests-per-second"),
        (["--refresh", "drop_sources", "--resource", "users"], "drop_resources"),
        (["--start-date", "2026-02-01", "--end-date", "2026-01-01"], "start_date"),
    ],
)
def test_bad_extract_flags_exit_2_before_any_request(
    extract: list[str],
    fresh_sandbox: Any,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
    named: str,
) -> None:
    before = fresh_sandbox.stats()["requests_total"]
    code, error, _ = _run(capsys, *extract, *flags)
    assert code == 2 and error["code"] == "invalid_input" and named in error["error"] + error["hint"]
    assert fresh_sandbox.stats()["requests_total"] == before
