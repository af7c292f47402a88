"""`outlit_query` speaks ClickHouse, as Outlit's analytics store does (official/sql-reference.md).

Every expected answer (clickhouse_cases.json) is what ClickHouse itself returned (chDB 4.4.0, run by
hand on the same rows as this frozen sandbox, with now() at the sandbox clock): the same column names,
for unaliased expressions too, and the same values. Only the rendering differs where docs/sandbox.md says
so (timestamps as ISO-8601 ``...Z`` strings, booleans of comparisons as JSON booleans).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

import outlit_sandbox

# official/sql-reference.md "Useful Patterns": now(), today(), toStartOfMonth, dateDiff, INTERVAL 30 DAY,
# countIf, sumIf, JSONExtractString; issue 9 adds avgIf, toDate, toYYYYMM, JSONExtractInt/Float/Bool and
# ClickHouse's alias rules.
_CASES_FILE = Path(__file__).with_name("clickhouse_cases.json")
CASES: list[tuple[str, list[dict[str, Any]]]] = [
    (case["sql"], case["rows"]) for case in json.loads(_CASES_FILE.read_text())
]


@pytest.fixture(scope="module")
def ch_sandbox() -> Iterator[httpx.Client]:
    now = datetime(2026, 5, 1, 12, 0, 0, 345000, tzinfo=UTC)
    with (
        outlit_sandbox.running(
            seed=3, customers=5, events_per_customer=30, facts_per_customer=2, now=now, frozen=True
        ) as sb,
        httpx.Client(base_url=sb.base_url, headers={"Authorization": f"Bearer {sb.api_key}"}) as http,
    ):
        yield http


@pytest.mark.parametrize(("sql", "expected"), CASES, ids=[c[0][:60] for c in CASES])
def test_clickhouse_patterns_give_the_clickhouse_answer(
    ch_sandbox: httpx.Client, sql: str, expected: list[dict[str, Any]]
) -> None:
    response = ch_sandbox.post("/api/tools/call", json={"tool": "outlit_query", "input": {"sql": sql}})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert [list(row) for row in data] == [list(row) for row in expected]  # names and their order
    assert data == expected
