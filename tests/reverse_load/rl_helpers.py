"""Shared helpers for the reverse-load tests: a source table with good and bad rows, and sandbox views."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from typing import Any

GOOD_ROWS = 230
# Rows the engine must dead-letter without sending: (row change, expected field path of the reason).
LOCAL_BAD = {
    "bad_nan": ({"mrr": float("nan")}, "traits.mrr"),
    "bad_big": ({"plan": "x" * 1_100_000}, None),
    None: ({}, "key.account_id"),  # a row with a NULL key
}
# A row only Outlit can refuse: the sandbox, like Outlit, 400s this e-mail address and names the field.
API_BAD = {"bad_email": ({"email": "jane..doe@acme.com"}, "email")}
BAD_ROWS = len(LOCAL_BAD) + len(API_BAD)

MAPPING: dict[str, Any] = {
    "name": "accounts_sync",
    "event_type": "identify",
    "key": ["account_id"],
    "timestamp": "updated_at",
    "email": "email",
    "customer_id": "account_id",
    "traits": ["status", "plan", "mrr"],
}
COLUMNS = ("account_id", "email", "status", "plan", "mrr", "updated_at")
CREATE = (
    "CREATE TABLE accounts (account_id VARCHAR, email VARCHAR, status VARCHAR, plan VARCHAR, "
    "mrr DOUBLE PRECISION, updated_at TIMESTAMP)"
)


def account_rows(n: int = GOOD_ROWS, *, with_bad: bool = True) -> list[tuple[Any, ...]]:
    base = dt.datetime(2026, 3, 1, 12, 0, 0)
    statuses = ("trialing", "paid", "churned")
    rows = []
    for i in range(n):
        rows.append(
            (
                f"acc_{i:05d}",
                f"owner{i}@example.com",
                statuses[i % 3],
                ("free", "pro", "team")[i % 3],
                float(i * 10),
                base + dt.timedelta(minutes=i),
            )
        )
    if with_bad:
        for key, (change, _field) in {**LOCAL_BAD, **API_BAD}.items():
            row = dict(zip(COLUMNS, rows[0], strict=True))
            row.update(account_id=key, **change)
            rows.append(tuple(row[c] for c in COLUMNS))
    return rows


def expected_dead_letters() -> dict[str, tuple[str, str | None]]:
    """row_key -> (stage, field path) for every bad row."""
    out = {json.dumps([k]): ("local", f) for k, (_c, f) in LOCAL_BAD.items()}
    out.update({json.dumps([k]): ("api", f) for k, (_c, f) in API_BAD.items()})
    return out


def stored(sb: Any) -> list[dict[str, Any]]:
    """Events the sandbox stored, in arrival order (a repeated uuid is acknowledged but not stored)."""
    return [record["event"] for record in sb.ingested()["events"]]


def duplicates(sb: Any) -> int:
    """How many events the sandbox acknowledged as repeats of a uuid it already had."""
    return int(sb.stats()["ingest"]["duplicates"])


def assert_exactly_once(events: list[dict[str, Any]], expected_keys: set[str]) -> None:
    uuids = Counter(e["uuid"] for e in events)
    assert not [u for u, n in uuids.items() if n > 1], "the sandbox stored an event twice"
    per_key = Counter(e["customerId"] for e in events)
    missing, extra = expected_keys - set(per_key), set(per_key) - expected_keys
    assert not missing and not extra, f"missing: {sorted(missing)[:5]}, extra: {sorted(extra)[:5]}"
    assert max(per_key.values()) == 1, [k for k, n in per_key.items() if n > 1][:5]


def good_keys(n: int = GOOD_ROWS) -> set[str]:
    return {f"acc_{i:05d}" for i in range(n)}
