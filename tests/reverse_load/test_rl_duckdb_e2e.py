"""DuckDB -> sandbox, end to end: exactly once, dead letters, change detection, faults."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import duckdb
import pytest
from rl_helpers import (
    BAD_ROWS,
    GOOD_ROWS,
    MAPPING,
    assert_exactly_once,
    duplicates,
    expected_dead_letters,
    good_keys,
    stored,
)

from outlit_provider.reverse_load import ReverseLoadError, run_reverse_load


def _query(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(path)) as con:
        return con.execute(sql).fetchall()


def test_every_good_row_arrives_once_and_bad_rows_are_dead_lettered(
    duckdb_file: Path, client: Any, fresh_sandbox: Any
) -> None:
    result = run_reverse_load(str(duckdb_file), MAPPING, table="accounts", client=client)

    assert (result.read, result.sent, result.rejected, result.unchanged) == (
        GOOD_ROWS + BAD_ROWS,
        GOOD_ROWS,
        BAD_ROWS,
        0,
    )
    assert result.status == "success"
    # full batches: 231 events in 3 requests, plus one resend of the batch the API refused with a 400
    assert result.batches == 4
    events = stored(fresh_sandbox)
    assert_exactly_once(events, good_keys())
    sample = next(e for e in events if e["customerId"] == "acc_00001")
    assert sample["type"] == "identify" and sample["email"] == "owner1@example.com"
    assert sample["traits"] == {"status": "paid", "plan": "pro", "mrr": 10}
    assert sample["timestamp"] == 1772366460000  # 2026-03-01T12:01:00Z

    rejected = {
        row[0]: row[1:]
        for row in _query(
            duckdb_file, "SELECT row_key, stage, field_path, reason, row_json FROM _outlit_rejected"
        )
    }
    assert {k: v[:2] for k, v in rejected.items()} == expected_dead_letters()
    assert "not a finite number" in rejected['["bad_nan"]'][2]
    assert "over the 1 MB request limit" in rejected['["bad_big"]'][2]
    assert "null" in rejected["[null]"][2]
    _stage, _field, reason, row_json = rejected['["bad_email"]']
    assert "email" in reason.lower()
    assert json.loads(row_json)["email"] == "jane..doe@acme.com"

    runs = _query(duckdb_file, "SELECT status, read_count, sent_count, rejected_count FROM _outlit_sync_runs")
    assert runs == [("success", GOOD_ROWS + BAD_ROWS, GOOD_ROWS, BAD_ROWS)]


def test_rerun_sends_nothing_and_one_change_sends_one(
    duckdb_file: Path, client: Any, fresh_sandbox: Any
) -> None:
    first = run_reverse_load(duckdb_file, MAPPING, table="accounts", client=client)
    again = run_reverse_load(duckdb_file, MAPPING, table="accounts", client=client)
    assert (again.sent, again.rejected, again.batches) == (0, 0, 0)
    assert again.unchanged == first.read  # unchanged bad rows are not dead-lettered a second time
    retried = run_reverse_load(duckdb_file, MAPPING, table="accounts", client=client, retry_rejected=True)
    assert (retried.sent, retried.rejected, retried.unchanged) == (0, BAD_ROWS, GOOD_ROWS)

    with duckdb.connect(str(duckdb_file)) as con:
        con.execute("UPDATE accounts SET status = 'churned' WHERE account_id = 'acc_00001'")
        con.execute("UPDATE accounts SET email = 'x@y.co' WHERE account_id = 'acc_00002'")  # a mapped column
    changed = run_reverse_load(duckdb_file, MAPPING, table="accounts", client=client)
    assert (changed.sent, changed.unchanged) == (2, first.read - 2)

    # paid -> churned -> paid is three events, not deduplicated back into the first
    with duckdb.connect(str(duckdb_file)) as con:
        con.execute("UPDATE accounts SET status = 'paid' WHERE account_id = 'acc_00001'")
    back = run_reverse_load(duckdb_file, MAPPING, table="accounts", client=client)
    assert back.sent == 1
    history = [e["traits"]["status"] for e in stored(fresh_sandbox) if e["customerId"] == "acc_00001"]
    assert history == ["paid", "churned", "paid"]

    # fixing a dead-lettered row sends it; mode="all" resends everything with the same uuids
    with duckdb.connect(str(duckdb_file)) as con:
        con.execute("UPDATE accounts SET mrr = 1 WHERE account_id = 'bad_nan'")
    fixed = run_reverse_load(duckdb_file, MAPPING, table="accounts", client=client)
    assert (fixed.sent, fixed.rejected) == (1, 0)
    stored_before = len(stored(fresh_sandbox))
    everything = run_reverse_load(duckdb_file, MAPPING, table="accounts", client=client, mode="all")
    assert everything.sent == GOOD_ROWS + 1
    assert len(stored(fresh_sandbox)) == stored_before  # Outlit kept one copy of each


def test_faults_still_deliver_exactly_once(
    duckdb_file: Path, client: Any, fresh_sandbox: Any, caplog: pytest.LogCaptureFixture
) -> None:
    fresh_sandbox.configure(fault_rate=0.2)
    caplog.set_level(logging.DEBUG)
    result = run_reverse_load(duckdb_file, MAPPING, table="accounts", client=client, max_in_flight=2)
    assert result.status == "success" and result.sent == GOOD_ROWS
    assert result.retries > 0
    assert_exactly_once(stored(fresh_sandbox), good_keys())
    assert fresh_sandbox.stats()["faults_total"] > 0

    assert fresh_sandbox.api_key not in caplog.text
    for table in ("_outlit_sync_ledger", "_outlit_rejected", "_outlit_sync_runs"):
        dump = repr(_query(duckdb_file, f"SELECT * FROM {table}"))
        assert fresh_sandbox.api_key not in dump, table


def test_bad_mapping_fails_before_sending_and_is_logged(
    duckdb_file: Path, client: Any, fresh_sandbox: Any
) -> None:
    mapping = {**MAPPING, "traits": ["plan", "arr"]}
    with pytest.raises(ReverseLoadError, match=r"column 'arr' \(mapping field traits.arr\)"):
        run_reverse_load(duckdb_file, mapping, table="accounts", client=client)
    assert stored(fresh_sandbox) == []
    runs = _query(duckdb_file, "SELECT status, error FROM _outlit_sync_runs")
    assert runs[0][0] == "failed" and "arr" in runs[0][1]


def test_sql_source_and_schema(duckdb_file: Path, client: Any, fresh_sandbox: Any) -> None:
    con = duckdb.connect(str(duckdb_file))  # an open connection works as a source too
    result = run_reverse_load(
        con,
        MAPPING,
        sql="SELECT * FROM accounts WHERE account_id LIKE 'acc_%' AND mrr < 500",
        client=client,
        schema="outlit_meta",
    )
    assert result.sent == 50
    assert con.execute("SELECT count(*) FROM outlit_meta._outlit_sync_ledger").fetchall() == [(50,)]
    con.close()


def test_dropped_responses_are_resent_and_counted_as_repeats(
    duckdb_file: Path, client: Any, fresh_sandbox: Any
) -> None:
    # "drop": Outlit stored the batch but the answer never arrived, the ambiguous failure uuids exist for
    fresh_sandbox.configure(fault_rate=0.5, fault_kinds=["drop"])
    result = run_reverse_load(duckdb_file, MAPPING, table="accounts", client=client)
    assert result.status == "success" and result.sent == GOOD_ROWS and result.retries > 0
    assert duplicates(fresh_sandbox) > 0  # the resends reached Outlit ...
    assert_exactly_once(stored(fresh_sandbox), good_keys())  # ... and were not stored twice
