"""`make demo` is the project's main job: it must run end to end, on the sandbox and on a given API."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from outlit_cli import demo
from tests.cli_helpers import use_sandbox


def _ledger_rows(db: Path) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT count(*) FROM _outlit_sync_ledger").fetchone()[0]


def test_demo_runs_against_its_own_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OUTLIT_API_KEY", "OUTLIT_PUBLIC_KEY", "OUTLIT_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    workdir = tmp_path / "demo"
    assert demo.main(["--workdir", str(workdir), "--customers", "4"]) == 0
    db = workdir / "outlit.duckdb"
    with duckdb.connect(str(db), read_only=True) as con:
        customers = con.execute("SELECT count(*) FROM outlit_data.customers").fetchone()[0]
        scored = con.execute(f"SELECT count(*) FROM {demo.SCORES_TABLE}").fetchone()[0]
    assert customers == 4
    assert scored > 0
    assert _ledger_rows(db) == scored


def test_demo_uses_the_api_named_by_the_environment(
    sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With OUTLIT_API_KEY set the demo starts no sandbox; here the 'real API' is a running sandbox."""
    use_sandbox(monkeypatch, sandbox)
    monkeypatch.delenv("OUTLIT_DEMO_SEND_EVENTS", raising=False)
    workdir = tmp_path / "real"
    assert demo.main(["--workdir", str(workdir)]) == 0
    with duckdb.connect(str(workdir / "outlit.duckdb"), read_only=True) as con:
        customers = con.execute("SELECT count(*) FROM outlit_data.customers").fetchone()[0]
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert customers == len(sandbox.dataset()["customers"])
    # Without OUTLIT_DEMO_SEND_EVENTS=1 nothing is sent to a real workspace.
    assert "_outlit_sync_ledger" not in tables
