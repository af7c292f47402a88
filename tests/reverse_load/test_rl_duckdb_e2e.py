"""DuckDB -> sandbox, end to end: exactly once, dead letters, change detection, faults."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import duckdb
import pytest
from rl_helpers import (
    BACKENDS,
    BAD_ROWS,
    GOOD_ROWS,
    MAPPING,
    WireLog,
    account_rows,
    assert_exactly_once,
    duplicates,
    expected_dead_letters,
    good_keys,
    load_source,
    stored,
)

from outlit_core.client import OutlitClient, RetryPolicy
from outlit_core.reverse_load import ReverseLoadError, run_reverse_load


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
    assert result.status == "partial"  # rows were dead-lettered: not a plain success
    # full batches: 230 events in 3 requests (the bad e-mail is refused before sending, by Outlit's rule)
    assert result.batches == 3
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
    assert runs == [("partial", GOOD_ROWS + BAD_ROWS, GOOD_ROWS, BAD_ROWS)]


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


@pytest.mark.parametrize("kind", BACKENDS)
def test_faults_still_deliver_exactly_once(
    kind: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    fresh_sandbox: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Enough requests (20) that a 20% fault rate serves every kind, "drop" included (the sandbox's fault
    # sequence is seeded, so this is the same on every run).
    rows = 2_000
    source = load_source(request, kind, account_rows(rows), tmp_path)
    # Every fault kind at 20%, answered at once: no Retry-After wait, no stall, no backoff sleep.
    fresh_sandbox.configure(fault_rate=0.2, retry_after=0, slow_seconds=0)
    wire = WireLog()
    caplog.set_level(logging.DEBUG)
    with OutlitClient(
        api_key=fresh_sandbox.api_key,
        public_key=fresh_sandbox.public_key,
        base_url=fresh_sandbox.base_url,
        transport=wire,
        retry=RetryPolicy(base_delay=0.0, max_retries=10),
    ) as client:
        result = run_reverse_load(
            source.source, MAPPING, table=source.table, schema=source.schema, client=client, max_in_flight=2
        )
    assert result.status == "partial" and result.sent == rows
    stats = fresh_sandbox.stats()
    assert stats["faults_total"] > 0 and stats["faults"].get("drop", 0) > 0

    # Exactly once: every good row stored once, nothing stored twice.
    assert_exactly_once(stored(fresh_sandbox), good_keys(rows))
    assert stats["ingest"]["accepted"] == rows
    # Every request beyond the 20 planned batches (2,000 events, 100 a request; the bad rows, the e-mail
    # included, never leave) is a counted retry, and each retry answers one refused or dropped request:
    # a fault ("slow" only delays) or a real 429 of the sandbox's rate limit.
    assert len(wire.requests) == 20 + result.retries
    refused = stats["faults_total"] - stats["faults"].get("slow", 0) + stats["ingest"]["rate_limited"]
    assert result.retries == refused
    # Resends happened, and every repeat the sandbox counted is one of them: exactly the events that
    # reached storage again (a dropped answer: Outlit stored the batch, the client resent it).
    repeats = duplicates(fresh_sandbox)
    assert repeats > 0
    assert repeats == wire.events_stored_twice_or_more(rows)
    assert repeats <= wire.resent_events() <= 100 * result.retries
    assert repeats <= 100 * stats["faults"]["drop"]

    assert fresh_sandbox.api_key not in caplog.text
    for table in ("_outlit_sync_ledger", "_outlit_rejected", "_outlit_sync_runs"):
        dump = repr(source.query(f"SELECT * FROM {source.name(table)}"))
        assert fresh_sandbox.api_key not in dump, table
    ledger = source.name("_outlit_sync_ledger")
    assert source.query(f"SELECT count(*) FROM {ledger} WHERE status = 'delivered'") == [(rows,)]


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
    assert result.status == "partial" and result.sent == GOOD_ROWS and result.retries > 0
    assert duplicates(fresh_sandbox) > 0  # the resends reached Outlit ...
    assert_exactly_once(stored(fresh_sandbox), good_keys())  # ... and were not stored twice
