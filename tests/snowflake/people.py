"""The `people` table the Snowflake reverse-load tests read, and its mapping."""

from __future__ import annotations

from typing import Any

MAPPING: dict[str, Any] = {
    "name": "people",
    "event_type": "identify",
    "key": ["person_id"],
    "email": "email",
    "customer_id": "account",
    "traits": ["plan", "seats"],
}
ROWS = 40
CREATE = (
    "CREATE TABLE people (person_id VARCHAR, email VARCHAR, account VARCHAR, plan VARCHAR, "
    "seats NUMBER(10, 0), updated_at TIMESTAMP_NTZ)"
)


def insert_sql() -> str:
    """ROWS rows; p000 has no e-mail, so it is dead-lettered locally."""
    values = ", ".join(
        f"('p{i:03d}', {'NULL' if i == 0 else repr(f'user{i}@example.com')}, 'acme.com', 'pro', {i}, "
        "'2026-03-01 12:00:00')"
        for i in range(ROWS)
    )
    return f"INSERT INTO people VALUES {values}"
