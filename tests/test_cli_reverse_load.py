"""`outlit-etl reverse-load --dry-run/--limit/--max-rejected` and `sync-status`/`sync-reset`, as typed,
against the sandbox and a DuckDB warehouse."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.cli_helpers import run_cli, use_sandbox

ROWS = 12
BAD = 2  # rows whose e-mail the mapping check refuses locally (never sent)
MAPPING = {
    "name": "people",
    "event_type": "identify",
    "key": ["person_id"],
    "email": "email",
    "customer_id": "account",
    "traits": ["plan"],
}


@pytest.fixture
def setup(fresh_sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    use_sandbox(monkeypatch, fresh_sandbox)
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute(
            "CREATE TABLE people AS SELECT 'p' || lpad(i::VARCHAR, 3, '0') AS person_id, "
            "CASE WHEN i < ? THEN NULL ELSE 'user' || i || '@example.com' END AS email, "
            "'acme.com' AS account, 'pro' AS plan FROM range(?) r(i)",
            [BAD, ROWS],
        )
    mapping = tmp_path / "people.json"
    mapping.write_text(json.dumps(MAPPING))
    base = ["reverse-load", "--from", str(db), "--table", "people", "--mapping", str(mapping)]
    return {"sb": fresh_sandbox, "db": db, "base": base, "ledger": ["--from", str(db)]}


def _stored(sb: Any) -> int:
    return int(sb.stats()["ingest"]["stored"])


def _tables(db: Path) -> set[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            name for (name,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }


def test_dry_run_sends_and_records_nothing_and_matches_the_real_run(
    setup: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    sb, base = setup["sb"], setup["base"]
    requests_before = sb.stats()["requests_total"]
    code, out, _ = run_cli(capsys, *base, "--dry-run", "--json")
    preview = json.loads(out)
    assert code == 0 and preview["dry_run"] is True
    assert (preview["read"], preview["would_send"], preview["rejected"]) == (ROWS, ROWS - BAD, BAD)
    assert len(preview["events"]) == ROWS - BAD and preview["events"][0]["type"] == "identify"
    assert len(preview["rejections"]) == BAD and all(r["reason"] for r in preview["rejections"])
    assert sb.stats()["requests_total"] == requests_before  # nothing sent
    assert not any(t.startswith("_outlit") for t in _tables(setup["db"]))  # nothing created or recorded
    code, out, _ = run_cli(capsys, *base, "--json")
    real = json.loads(out)
    assert (real["read"], real["sent"], real["rejected"]) == (ROWS, ROWS - BAD, BAD)
    # after a run the dry run reads the ledger: nothing left to send
    code, out, _ = run_cli(capsys, *base, "--dry-run", "--json")
    assert json.loads(out)["would_send"] == 0 and json.loads(out)["unchanged"] == ROWS
    code, out, _ = run_cli(capsys, *base, "--dry-run")
    assert code == 0 and "nothing sent or recorded" in out


def test_limit_sends_part_and_the_next_run_goes_on(
    setup: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    sb, base = setup["sb"], setup["base"]
    sent = []
    for _ in range(4):
        code, out, _ = run_cli(capsys, *base, "--limit", "4", "--json")
        assert code == 0
        sent.append(json.loads(out)["sent"])
    assert sent == [4, 4, 2, 0]
    assert _stored(sb) == ROWS - BAD
    for bad in ("0", "-3"):
        code, out, _ = run_cli(capsys, *base, "--limit", bad, "--json")
        assert code == 2 and "--limit" in json.loads(out)["error"]


def test_rejection_budget_turns_rejected_rows_into_exit_1(
    setup: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    base = setup["base"]
    code, out, _ = run_cli(capsys, *base, "--max-rejected", str(BAD), "--json")
    assert code == 0 and json.loads(out)["rejected"] == BAD
    code, out, _ = run_cli(capsys, *base, "--fail-on-rejected", "--retry-rejected", "--json")
    error = json.loads(out)
    assert code == 1 and error["code"] == "rejected_rows" and "sync-status" in error["hint"]
    assert error["rejected"] == BAD and error["status"] == "partial"  # counts in the same object
    code, _, err = run_cli(capsys, *base, "--max-rejected", "1", "--retry-rejected")
    assert code == 1 and "more than the 1 allowed" in err
    code, _, err = run_cli(capsys, *base, "--max-rejected", "-1")
    assert code == 2 and "--max-rejected" in err
    code, _, err = run_cli(capsys, *base, "--max-rejected", "3", "--fail-on-rejected")
    assert code == 2 and "--fail-on-rejected" in err


def test_sync_status_and_reset(setup: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    sb, base, ledger = setup["sb"], setup["base"], setup["ledger"]
    code, out, _ = run_cli(capsys, "sync-status", "people", *ledger, "--json")
    assert code == 2 and "no reverse load has run" in json.loads(out)["error"]
    assert run_cli(capsys, *base)[0] == 0
    code, out, _ = run_cli(capsys, "sync-status", "people", *ledger, "--json")
    status = json.loads(out)
    assert code == 0
    assert status["ledger"]["delivered"] == ROWS - BAD and status["ledger"]["rejected"] == BAD
    assert status["runs"][0]["status"] == "partial" and status["runs"][0]["sent_count"] == ROWS - BAD
    assert {r["key"] for r in status["rejected_rows"]} == {'["p000"]', '["p001"]'}
    code, out, _ = run_cli(capsys, "sync-status", "peeple", *ledger, "--json")
    assert code == 2 and "did you mean 'people'" in json.loads(out)["error"]
    code, out, _ = run_cli(capsys, "sync-status", "people", *ledger)
    assert code == 0 and f"{ROWS - BAD} rows delivered" in out

    # without --yes: count only
    code, out, _ = run_cli(capsys, "sync-reset", "people", *ledger, "--rows", "p005", '["p006"]', "--json")
    assert code == 0 and json.loads(out) == {
        "sync_name": "people",
        "reset": 2,
        "applied": False,
        "not_found": [],
    }
    code, out, _ = run_cli(capsys, "sync-reset", "people", *ledger, "--rows", "p999", "--yes", "--json")
    assert code == 2 and "p999" in json.loads(out)["error"]
    code, out, _ = run_cli(capsys, "sync-reset", "people", *ledger, "--rows", "p005", "p006", "--yes")
    assert code == 0 and "reset 2 ledger rows" in out
    stored = _stored(sb)
    code, out, _ = run_cli(capsys, *base, "--json")
    rerun = json.loads(out)
    # the two forgotten rows go out again under their first uuids: Outlit keeps one copy of each
    assert rerun["sent"] == 2 and rerun["unchanged"] == ROWS - 2
    assert _stored(sb) == stored
    code, out, _ = run_cli(capsys, "sync-reset", "people", *ledger, "--status", "rejected", "--yes", "--json")
    assert code == 0 and json.loads(out)["reset"] == BAD
    code, out, _ = run_cli(capsys, "sync-status", "people", *ledger, "--json")
    assert json.loads(out)["ledger"]["rejected"] == 0
