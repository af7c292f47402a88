"""Issues 11 and 15: duplicate keys, true counts, timestamps, e-mails, uuid names."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
from rl_helpers import CREATE, MAPPING, account_rows, stored

from outlit_core.client import OutlitClient, RetryPolicy
from outlit_core.reverse_load import ReverseLoadError, run_reverse_load


def _table(path: Path, rows: list[tuple[Any, ...]]) -> str:
    with duckdb.connect(str(path)) as con:
        con.execute(CREATE)
        if rows:
            con.executemany("INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?)", rows)
    return str(path)


def _dead(path: str) -> dict[str, str]:
    with duckdb.connect(path) as con:
        return dict(con.execute("SELECT row_key, reason FROM _outlit_rejected").fetchall())


def test_duplicate_keys_are_dead_lettered_every_time_not_resent(
    tmp_path: Path, client: Any, fresh_sandbox: Any
) -> None:
    rows = account_rows(5, with_bad=False)
    twin = (rows[1][0], "other@example.com", *rows[1][2:])  # key acc_00001 twice, different content
    db = _table(tmp_path / "w.duckdb", [*rows, twin])

    first = run_reverse_load(db, MAPPING, table="accounts", client=client)
    second = run_reverse_load(db, MAPPING, table="accounts", client=client)

    assert (first.sent, first.rejected, first.duplicate_keys, first.status) == (4, 2, 2, "partial")
    assert (second.sent, second.duplicate_keys, second.status) == (0, 2, "partial")  # no resend, ever
    assert "acc_00001" not in {e["customerId"] for e in stored(fresh_sandbox)}
    assert "occurs more than once" in _dead(db)['["acc_00001"]']


def test_retries_of_a_failed_run_are_counted(tmp_path: Path, fresh_sandbox: Any) -> None:
    db = _table(tmp_path / "w.duckdb", account_rows(50, with_bad=False))
    fresh_sandbox.configure(fault_rate=1.0, fault_kinds=["503"])
    retry = RetryPolicy(max_retries=3, base_delay=0.0, max_delay=0.0, sleep=lambda _s: None)
    with (
        OutlitClient(
            api_key=fresh_sandbox.api_key,
            public_key=fresh_sandbox.public_key,
            base_url=fresh_sandbox.base_url,
            retry=retry,
        ) as client,
        pytest.raises(ReverseLoadError) as info,
    ):
        run_reverse_load(db, MAPPING, table="accounts", client=client)
    result = info.value.result
    assert (result.status, result.sent, result.retries, result.batches) == ("failed", 0, 3, 1)
    with duckdb.connect(db) as con:
        assert con.execute("SELECT status, retries FROM _outlit_sync_runs").fetchall() == [("failed", 3)]


@pytest.mark.parametrize(
    ("stamp", "reason"),
    [
        (None, "is null"),
        (dt.datetime(9999, 12, 31), "in the future"),
        (dt.datetime(1970, 1, 1), "before 2000"),
    ],
)
def test_null_and_absurd_timestamps_are_dead_lettered(
    tmp_path: Path, client: Any, fresh_sandbox: Any, stamp: Any, reason: str
) -> None:
    rows = account_rows(3, with_bad=False)
    rows[0] = (*rows[0][:5], stamp)
    db = _table(tmp_path / "w.duckdb", rows)
    result = run_reverse_load(db, MAPPING, table="accounts", client=client)
    assert (result.sent, result.rejected, result.status) == (2, 1, "partial")
    assert reason in _dead(db)['["acc_00000"]']
    assert all("timestamp" in e for e in stored(fresh_sandbox))


def test_one_email_rule_for_reverse_load_and_send_events(
    tmp_path: Path, client: Any, fresh_sandbox: Any
) -> None:
    rows = account_rows(2, with_bad=False)
    rows[0] = (rows[0][0], "not-an-email", *rows[0][2:])
    rows[1] = (rows[1][0], "jane..doe@acme.com", *rows[1][2:])  # passes a loose check, not Outlit's
    db = _table(tmp_path / "w.duckdb", rows)
    result = run_reverse_load(db, MAPPING, table="accounts", client=client)
    assert (result.sent, result.rejected) == (0, 2)
    sent = client.send_events(
        [
            {"type": "identify", "url": "server://x", "path": "/", "email": e}
            for e in ("not-an-email", "jane..doe@acme.com")
        ]
    )
    assert sent.accepted == 0 and all(r.client_side for r in sent.rejected)
    assert stored(fresh_sandbox) == []


def _two_warehouses(tmp_path: Path) -> tuple[str, str]:
    rows = account_rows(20, with_bad=False)
    return _table(tmp_path / "eu.duckdb", rows), _table(tmp_path / "us.duckdb", rows)


def test_same_rows_from_two_warehouses_share_uuids_by_default(
    tmp_path: Path, client: Any, fresh_sandbox: Any
) -> None:
    eu, us = _two_warehouses(tmp_path)
    run_reverse_load(eu, MAPPING, table="accounts", client=client)
    run_reverse_load(us, MAPPING, table="accounts", client=client)
    # one namespace (the sync name): a deliberate share, Outlit keeps one copy of each row
    assert len(stored(fresh_sandbox)) == 20
    assert fresh_sandbox.stats()["ingest"]["duplicates"] == 20


def test_a_uuid_namespace_per_source_keeps_both(tmp_path: Path, client: Any, fresh_sandbox: Any) -> None:
    eu, us = _two_warehouses(tmp_path)
    run_reverse_load(eu, {**MAPPING, "uuid_namespace": "warehouse-eu"}, table="accounts", client=client)
    run_reverse_load(us, MAPPING, table="accounts", client=client, uuid_namespace="warehouse-us")
    events = stored(fresh_sandbox)
    assert len(events) == 40 and len({e["uuid"] for e in events}) == 40
    with duckdb.connect(eu) as con:  # the ledger has the uuids actually sent
        uuids = {u for (u,) in con.execute("SELECT event_uuid FROM _outlit_sync_ledger").fetchall()}
    assert uuids <= {e["uuid"] for e in events}
    assert json.dumps(sorted(uuids))  # plain strings
