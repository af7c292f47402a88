# ruff: noqa: E501  (the SQL strings are test data, kept on one line as a user types them)
"""`outlit_query` speaks ClickHouse, as Outlit's analytics store does (official/sql-reference.md).

Every expected answer below is what ClickHouse itself returned (chDB 4.4.0, run by hand on the same rows
as this frozen sandbox, with now() at the sandbox clock): the same column names, for unaliased expressions
too, and the same values. Only the rendering differs where docs/sandbox.md says so (timestamps as ISO-8601
``...Z`` strings, booleans of comparisons as JSON booleans).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

import outlit_sandbox

# official/sql-reference.md "Useful Patterns": now(), today(), toStartOfMonth, dateDiff, INTERVAL 30 DAY,
# countIf, sumIf, JSONExtractString; issue 9 adds avgIf, toDate, toYYYYMM, JSONExtractInt/Float/Bool and
# ClickHouse's alias rules.
CASES: list[tuple[str, list[dict[str, Any]]]] = [
    (
        "SELECT now() AS n, today() AS t",
        [{"n": "2026-05-01T12:00:00.000Z", "t": "2026-05-01"}],
    ),
    (
        "SELECT customer_id, dateDiff('day', first_seen_at, now()) AS age_days FROM customers ORDER BY customer_id",
        [
            {"customer_id": "cus_3913aabc8966", "age_days": 169},
            {"customer_id": "cus_50882833e1d5", "age_days": 351},
            {"customer_id": "cus_59bd3ff848e9", "age_days": 389},
            {"customer_id": "cus_94b58a566dd5", "age_days": 262},
            {"customer_id": "cus_d7a007b3cfb0", "age_days": 129},
        ],
    ),
    (
        "SELECT count() AS n FROM activity WHERE occurred_at >= now() - INTERVAL 30 DAY",
        [{"n": 8}],
    ),
    (
        "SELECT countIf(billing_status = 'PAYING') AS paying, sumIf(mrr_cents, billing_status = 'PAYING') AS mrr, avgIf(mrr_cents, billing_status = 'PAYING') AS avg_mrr FROM customers",
        [{"paying": 1, "mrr": 4900, "avg_mrr": 4900.0}],
    ),
    (
        "SELECT JSONExtractString(properties, 'path') AS path, count() AS n FROM activity GROUP BY path ORDER BY n DESC, path",
        [
            {"path": "", "n": 113},
            {"path": "/billing", "n": 8},
            {"path": "/reports", "n": 8},
            {"path": "/dashboard", "n": 6},
            {"path": "/settings", "n": 5},
            {"path": "/integrations", "n": 4},
            {"path": "/pricing", "n": 4},
            {"path": "/onboarding", "n": 2},
        ],
    ),
    (
        "SELECT customer_id, JSONExtractString(traits, 'plan') AS plan, JSONExtractInt(traits, 'seats') AS seats, JSONExtractBool(traits, 'strategic') AS strategic, JSONExtractFloat(traits, 'seats') AS seats_f FROM customers ORDER BY customer_id",
        [
            {
                "customer_id": "cus_3913aabc8966",
                "plan": "growth",
                "seats": 25,
                "strategic": 0,
                "seats_f": 25.0,
            },
            {
                "customer_id": "cus_50882833e1d5",
                "plan": "scale",
                "seats": 50,
                "strategic": 0,
                "seats_f": 50.0,
            },
            {
                "customer_id": "cus_59bd3ff848e9",
                "plan": "growth",
                "seats": 25,
                "strategic": 1,
                "seats_f": 25.0,
            },
            {
                "customer_id": "cus_94b58a566dd5",
                "plan": "enterprise",
                "seats": 10,
                "strategic": 0,
                "seats_f": 10.0,
            },
            {
                "customer_id": "cus_d7a007b3cfb0",
                "plan": "scale",
                "seats": 50,
                "strategic": 0,
                "seats_f": 50.0,
            },
        ],
    ),
    (
        "SELECT toDate(occurred_at) AS d FROM activity ORDER BY occurred_at DESC LIMIT 3",
        [{"d": "2026-04-23"}, {"d": "2026-04-20"}, {"d": "2026-04-19"}],
    ),
    (
        "SELECT toStartOfMonth(occurred_at) AS occurred_at, count() AS n FROM activity GROUP BY occurred_at ORDER BY occurred_at",
        [
            {"occurred_at": "2025-04-01", "n": 5},
            {"occurred_at": "2025-05-01", "n": 5},
            {"occurred_at": "2025-06-01", "n": 9},
            {"occurred_at": "2025-07-01", "n": 2},
            {"occurred_at": "2025-08-01", "n": 9},
            {"occurred_at": "2025-09-01", "n": 12},
            {"occurred_at": "2025-10-01", "n": 8},
            {"occurred_at": "2025-11-01", "n": 14},
            {"occurred_at": "2025-12-01", "n": 21},
            {"occurred_at": "2026-01-01", "n": 24},
            {"occurred_at": "2026-02-01", "n": 21},
            {"occurred_at": "2026-03-01", "n": 12},
            {"occurred_at": "2026-04-01", "n": 8},
        ],
    ),
    (
        "SELECT toDate(occurred_at) AS day, event_id FROM activity WHERE day >= toDate('2026-04-15') ORDER BY day, event_id",
        [
            {"day": "2026-04-16", "event_id": "evt_0576b17379042c19"},
            {"day": "2026-04-19", "event_id": "evt_02fbffb3fc3dc8db"},
            {"day": "2026-04-20", "event_id": "evt_8ffcc04dd9cafac6"},
            {"day": "2026-04-23", "event_id": "evt_30670e08b29724dd"},
        ],
    ),
    (
        "SELECT mrr_cents / 100 AS dollars, dollars * 12 AS arr FROM customers WHERE mrr_cents IS NOT NULL ORDER BY arr",
        [{"dollars": 0.0, "arr": 0.0}, {"dollars": 49.0, "arr": 588.0}, {"dollars": 49.0, "arr": 588.0}],
    ),
    (
        "SELECT count(*), countIf(billing_status = 'PAYING'), sum(mrr_cents) / 100, now() - INTERVAL 30 DAY, toStartOfMonth(first_seen_at), dateDiff('day', first_seen_at, now()) > 90 FROM customers GROUP BY first_seen_at ORDER BY first_seen_at LIMIT 2",
        [
            {
                "count()": 1,
                "countIf(equals(billing_status, 'PAYING'))": 1,
                "divide(sum(mrr_cents), 100)": 49.0,
                "minus(now(), toIntervalDay(30))": "2026-04-01T12:00:00.000Z",
                "toStartOfMonth(first_seen_at)": "2025-04-01",
                "greater(dateDiff('day', first_seen_at, now()), 90)": True,
            },
            {
                "count()": 1,
                "countIf(equals(billing_status, 'PAYING'))": 0,
                "divide(sum(mrr_cents), 100)": None,
                "minus(now(), toIntervalDay(30))": "2026-04-01T12:00:00.000Z",
                "toStartOfMonth(first_seen_at)": "2025-05-01",
                "greater(dateDiff('day', first_seen_at, now()), 90)": True,
            },
        ],
    ),
    (
        "SELECT toMonday(last_activity_at) AS wk, count() AS n FROM users WHERE last_activity_at IS NOT NULL GROUP BY wk ORDER BY wk",
        [
            {"wk": "2025-10-27", "n": 1},
            {"wk": "2025-12-22", "n": 1},
            {"wk": "2025-12-29", "n": 1},
            {"wk": "2026-02-02", "n": 2},
            {"wk": "2026-02-09", "n": 1},
            {"wk": "2026-02-23", "n": 2},
            {"wk": "2026-03-02", "n": 1},
            {"wk": "2026-03-09", "n": 1},
            {"wk": "2026-03-30", "n": 2},
            {"wk": "2026-04-13", "n": 2},
            {"wk": "2026-04-20", "n": 2},
        ],
    ),
    (
        "SELECT toYYYYMM(occurred_at) AS ym, count() AS n FROM activity GROUP BY ym ORDER BY ym LIMIT 3",
        [{"ym": 202504, "n": 5}, {"ym": 202505, "n": 5}, {"ym": 202506, "n": 9}],
    ),
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
