"""Hostile SQL against `outlit_query` (issue 11 item 11): table references resolved by scope, so no CTE
name can smuggle in a DuckDB catalog table or a file; a bounded statement time and a bounded answer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest


@pytest.fixture
def http(fresh_sandbox: Any) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=fresh_sandbox.base_url,
        headers={"Authorization": f"Bearer {fresh_sandbox.api_key}"},
        trust_env=False,
        timeout=30,
    ) as client:
        yield client


def _query(http: httpx.Client, sql: str, **extra: Any) -> httpx.Response:
    return http.post("/api/tools/call", json={"tool": "outlit_query", "input": {"sql": sql, **extra}})


@pytest.mark.parametrize(
    "sql",
    [
        # the reported bypass: a CTE named pg_settings inside another CTE, the outer FROM reads the catalog
        "WITH a AS (WITH pg_settings AS (SELECT 1 AS x) SELECT x FROM pg_settings) SELECT * FROM pg_settings",
        "SELECT * FROM (WITH duckdb_settings AS (SELECT 1 AS x) SELECT * FROM duckdb_settings) t, pg_settings",  # noqa: E501
        "WITH x AS (SELECT 1) SELECT * FROM information_schema.tables",
        "SELECT * FROM activity WHERE event_id IN (SELECT name FROM pg_settings)",
        "WITH activity AS (SELECT 1 AS a) SELECT * FROM (SELECT * FROM sqlite_master) s",
        "SELECT * FROM system.tables",
        "SELECT * FROM file('/etc/passwd')",
        "SELECT * FROM url('http://127.0.0.1:1/x')",
        "SELECT json_execute_serialized_sql('x') FROM activity",
        "SELECT current_setting('home_directory')",
        "SELECT getvariable('x')",
        "SELECT * FROM query_table('pg_settings')",
        "SELECT 1; DELETE FROM activity",
        "SELECT * FROM activity FOR UPDATE",
    ],
)
def test_catalogs_files_and_writes_are_refused(http: httpx.Client, sql: str) -> None:
    response = _query(http, sql)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "INVALID_TOOL_INPUT"


def test_a_cte_may_shadow_a_view_in_its_own_scope(http: httpx.Client) -> None:
    """Scope, not names: a CTE named like a view is what that scope reads, as in ClickHouse."""
    data = _query(http, "WITH activity AS (SELECT 1 AS a) SELECT a FROM activity").json()["data"]
    assert data == [{"a": 1}]


def test_a_runaway_statement_is_interrupted(fresh_sandbox: Any, http: httpx.Client) -> None:
    fresh_sandbox.configure(query_timeout=0.3)
    body = _query(http, "SELECT count() FROM activity a, activity b, activity c, activity d").json()
    assert "timed out after 0.3s" in body["details"][0]["message"]


def test_an_answer_is_capped_in_bytes(http: httpx.Client) -> None:
    """Rows past 8 MB of JSON are cut off (metadata.truncated), however few rows that is."""
    response = _query(http, "SELECT repeat('x', 1000000) AS blob FROM activity", limit=100)
    assert response.status_code == 200
    body = response.json()
    assert body["metadata"]["truncated"] is True and 1 <= len(body["data"]) <= 8
    assert len(response.content) < 9_000_000
    single = _query(http, "SELECT repeat('x', 9000000) AS blob FROM activity LIMIT 1").json()
    assert "first row alone" in single["details"][0]["message"]
