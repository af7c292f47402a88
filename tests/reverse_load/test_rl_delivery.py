"""What the runner records from deliver()'s answers the sandbox does not give: a 207 partial success, a
400 naming one event's field, a failure after retries (issue 13 item 2: the runner is a thin caller)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import httpx
import pytest
import respx
from rl_helpers import CREATE, MAPPING, account_rows

from outlit_core.client import OutlitClient
from outlit_core.reverse_load import ReverseLoadError, run_reverse_load

BASE = "https://outlit.test"
ROUTE = f"{BASE}/api/i/v1/pk_test/events"


def _table(path: Path, n: int) -> str:
    with duckdb.connect(str(path)) as con:
        con.execute(CREATE)
        con.executemany("INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?)", account_rows(n, with_bad=False))
    return str(path)


def _client() -> OutlitClient:
    return OutlitClient(api_key="ok_test", public_key="pk_test", base_url=BASE, max_retries=0)


def _ledger(db: str) -> dict[str, str]:
    with duckdb.connect(db) as con:
        return dict(con.execute("SELECT row_key, status FROM _outlit_sync_ledger").fetchall())


def _dead(db: str) -> list[tuple[str, str, str | None, str]]:
    with duckdb.connect(db) as con:
        return con.execute("SELECT row_key, stage, field_path, reason FROM _outlit_rejected").fetchall()


def _keys(body: bytes) -> list[str]:
    return [e["customerId"] for e in json.loads(body)["events"]]


@respx.mock
def test_a_400_naming_one_field_dead_letters_that_row_and_delivers_the_rest(tmp_path: Path) -> None:
    db = _table(tmp_path / "w.duckdb", 4)
    calls: list[list[str]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(_keys(request.content))
        if len(calls) == 1:
            error = {"path": ["events", 2, "traits", "plan"], "message": "Too long"}
            return httpx.Response(400, json={"success": False, "message": "bad", "errors": [error]})
        return httpx.Response(200, json={"success": True, "processed": len(calls[-1])})

    respx.post(ROUTE).mock(side_effect=answer)
    with _client() as client:
        result = run_reverse_load(db, MAPPING, table="accounts", client=client)
    refused = calls[0][2]
    assert calls[1] == [k for k in calls[0] if k != refused]  # the rest again, nothing else
    assert (result.sent, result.rejected, result.batches, result.retries, result.status) == (
        3,
        1,
        2,
        1,
        "partial",
    )
    assert _dead(db) == [(f'["{refused}"]', "api", "traits.plan", "Too long")]
    assert sorted(_ledger(db).values()) == ["delivered"] * 3 + ["rejected"]


@respx.mock
def test_a_207_confirming_fewer_than_sent_resends_and_records_each_row_once(tmp_path: Path) -> None:
    db = _table(tmp_path / "w.duckdb", 3)
    route = respx.post(ROUTE)
    route.side_effect = [
        httpx.Response(
            207, json={"success": False, "processed": 1, "errors": [{"index": 0, "message": "Invalid event"}]}
        ),
        httpx.Response(200, json={"success": True, "processed": 2}),
    ]
    with _client() as client:
        result = run_reverse_load(db, MAPPING, table="accounts", client=client)
    first = _keys(route.calls[0].request.content)
    assert _keys(route.calls[1].request.content) == first[1:]
    assert (result.sent, result.rejected, result.batches) == (2, 1, 2)
    assert [(key, stage, reason) for key, stage, _f, reason in _dead(db)] == [
        (f'["{first[0]}"]', "api", "Invalid event")
    ]


@respx.mock
def test_a_failure_after_retries_records_nothing_of_that_batch_and_a_rerun_sends_it(tmp_path: Path) -> None:
    db = _table(tmp_path / "w.duckdb", 2)
    route = respx.post(ROUTE)
    route.side_effect = [
        httpx.Response(503, json={"success": False}),
        httpx.Response(200, json={"success": True, "processed": 2}),
    ]
    with _client() as client:
        with pytest.raises(ReverseLoadError) as info:
            run_reverse_load(db, MAPPING, table="accounts", client=client)
        assert (info.value.result.sent, info.value.result.batches) == (0, 1)
        assert _ledger(db) == {}
        again = run_reverse_load(db, MAPPING, table="accounts", client=client)
    assert again.sent == 2 and sorted(_ledger(db).values()) == ["delivered", "delivered"]
    assert route.calls[0].request.content == route.calls[1].request.content  # same uuids: Outlit dedupes
