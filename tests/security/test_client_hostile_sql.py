"""Hostile SQL against the client's read-only guard (issue 11 item 10, issue 9 item 4).

Outlit's analytics store speaks ClickHouse (official/sql-reference.md), so the guard parses ClickHouse and
lets through only the four analytics views (or CTEs defined in scope) and an allow-list of ClickHouse
functions. Everything here must be refused before a request exists: the respx router fails the test if the
client sends anything. The same guard runs for ``query()``, ``call_tool("outlit_query", ...)`` (also with
``validate=False``), ``validate_tool_input`` (what OutlitToolOperator checks at parse time) and
``outlit-etl tool outlit_query``.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
import respx

from outlit_core.client import (
    AsyncOutlitClient,
    OutlitClient,
    OutlitInputError,
    OutlitUnsafeQueryError,
    RetryPolicy,
    check_read_only_sql,
    validate_tool_input,
)

BASE = "https://app.outlit.ai"
KEY = "ok_test_hostile_sql_0123456789"

REFUSED = [
    # ClickHouse table functions that read files, URLs, other servers or run programs
    ("SELECT * FROM file('/etc/passwd', 'LineAsString')", "file"),
    ("SELECT * FROM url('http://169.254.169.254/latest/meta-data', CSV)", "url"),
    ("SELECT * FROM executable('whoami.sh', TabSeparated, 'x String')", "executable"),
    ("SELECT * FROM remote('10.0.0.1:9000', default, customers)", "remote"),
    ("SELECT * FROM remoteSecure('10.0.0.1', default.t)", "remotesecure"),
    ("SELECT * FROM mysql('db:3306', 'd', 't', 'u', 'p')", "mysql"),
    ("SELECT * FROM postgresql('db:5432', 'd', 't', 'u', 'p')", "postgresql"),
    ("SELECT * FROM s3('https://bucket.s3.amazonaws.com/x.csv')", "s3"),
    ("SELECT * FROM hdfs('hdfs://h:9000/x', 'TSV', 'c String')", "hdfs"),
    ("SELECT * FROM jdbc('jdbc:mysql://h/d', 't')", "jdbc"),
    ("SELECT * FROM cluster('c', system.one)", "cluster"),
    ("SELECT * FROM numbers(1000000000)", "numbers"),
    ("SELECT * FROM input('x String')", "input"),
    ("SELECT dictGet('secrets', 'value', 1)", "dictget"),
    ("SELECT * FROM customers WHERE id IN (SELECT x FROM file('x.csv'))", "file"),
    # ClickHouse system tables and other databases
    ("SELECT * FROM system.tables", "system.tables"),
    ("SELECT name, value FROM system.settings", "system.settings"),
    ("SELECT * FROM customers c JOIN system.users u ON 1 = 1", "system.users"),
    ("SELECT * FROM information_schema.tables", "information_schema.tables"),
    ("SELECT * FROM default.customers", "default.customers"),
    ("SELECT * FROM secrets", "secrets"),
    # DuckDB / Postgres side-effect functions
    ("SELECT pg_sleep(10)", "pg_sleep"),
    ("SELECT setval('s', 1)", "setval"),
    ("SELECT pg_terminate_backend(1)", "pg_terminate_backend"),
    ("SELECT query_to_xml('DELETE FROM customers', true, true, '')", "query_to_xml"),
    ("SELECT checkpoint()", "checkpoint"),
    ("SELECT json_execute_serialized_sql('x')", "json_execute_serialized_sql"),
    ("SELECT * FROM read_csv('/etc/passwd')", "read_csv"),
    ("SELECT * FROM duckdb_settings()", "duckdb_settings"),
    ("SELECT current_setting('data_directory')", "current_setting"),
    # locking, settings, output redirection, more than one statement
    ("SELECT * FROM customers FOR UPDATE", "FOR UPDATE"),
    ("SELECT * FROM customers FOR SHARE", "FOR"),
    ("SELECT * FROM customers SETTINGS max_execution_time = 100000", "SETTINGS"),
    ("SELECT * FROM customers FORMAT Native", "FORMAT"),
    ("SELECT * FROM customers INTO OUTFILE '/tmp/x'", "parse"),
    ("SELECT 1; DROP TABLE customers", "2 statements"),
    ("INSERT INTO FUNCTION file('x.csv') SELECT * FROM customers", "not a SELECT"),
    # a quoted path used as a table
    ("SELECT * FROM '/etc/passwd'", "/etc/passwd"),
    # a CTE defined in an inner scope does not hide a real table of the same name in the outer one
    (
        "WITH a AS (WITH pg_settings AS (SELECT 1 AS x) SELECT x FROM pg_settings) SELECT * FROM pg_settings",
        "pg_settings",
    ),
    ("WITH customers AS (SELECT * FROM system.tables) SELECT * FROM customers", "system.tables"),
    # an allowed name used as a table function is still a table function
    ("SELECT * FROM toDate('2026-01-01')", "table function"),
]


@pytest.mark.parametrize(("sql", "fragment"), REFUSED)
def test_refused_before_anything_is_sent(sql: str, fragment: str) -> None:
    with pytest.raises(OutlitUnsafeQueryError) as info:
        check_read_only_sql(sql)
    assert fragment.lower() in str(info.value).lower()
    assert isinstance(info.value, OutlitInputError) and isinstance(info.value, ValueError)
    assert "\n" not in str(info.value)


# Every pattern of Outlit's SQL reference (official/sql-reference.md) and the ClickHouse functions issue 9
# names, inside a query over one of the views.
REFERENCE_PATTERNS = [
    "now()",
    "today()",
    "toStartOfMonth(occurred_at)",
    "dateDiff('day', first_seen_at, now())",
    "occurred_at >= now() - INTERVAL 30 DAY",
    "countIf(billing_status = 'PAYING')",
    "sumIf(mrr_cents, billing_status = 'PAYING')",
    "avgIf(mrr_cents, billing_status = 'PAYING')",
    "JSONExtractString(properties, 'path')",
    "JSONExtractString(traits, 'plan')",
    "JSONExtractInt(properties, 'seats')",
    "JSONExtractFloat(properties, 'score')",
    "JSONExtractBool(properties, 'beta')",
    "toDate(occurred_at)",
    "toYYYYMM(occurred_at)",
    "uniqExact(customer_id)",
    "round(sum(mrr_cents) / 100, 2)",
]

ACCEPTED = [
    "SELECT toStartOfMonth(occurred_at) AS month, count() AS n FROM activity "
    "WHERE occurred_at >= now() - INTERVAL 90 DAY GROUP BY month ORDER BY month LIMIT 12",
    "SELECT billing_status, countIf(mrr_cents > 0) AS paying, sumIf(mrr_cents, mrr_cents > 0) / 100 AS mrr "
    "FROM customers GROUP BY billing_status LIMIT 10",
    "WITH recent AS (SELECT customer_id, max(occurred_at) AS last FROM activity GROUP BY customer_id) "
    "SELECT c.name, r.last FROM customers c JOIN recent r ON r.customer_id = c.id LIMIT 100",
    # a CTE may take the name of a view: inside this query it is the CTE that is read
    "WITH customers AS (SELECT * FROM customers WHERE billing_status = 'PAYING') "
    "SELECT count() FROM customers",
    "SELECT event_name, count(*) AS n FROM activity WHERE occurred_at >= today() - 7 "
    "GROUP BY 1 ORDER BY 2 DESC",
    "SELECT id FROM customers UNION ALL SELECT customer_id FROM users",
    "SELECT name, row_number() OVER (PARTITION BY billing_status ORDER BY mrr_cents DESC) AS r "
    "FROM customers",
    "SELECT multiIf(mrr_cents > 100000, 'big', mrr_cents > 0, 'small', 'none') AS tier FROM customers",
    "SELECT snapshot_date, sum(mrr_cents) FROM revenue GROUP BY 1 ORDER BY 1",
    "SELECT journey_stage, count(*) FROM users GROUP BY 1",
    "SELECT * FROM (SELECT * FROM activity) AS page WHERE (\"occurred_at\" >= '2026-01-01 00:00:00.000000') "
    'ORDER BY "event_id" ASC LIMIT 500 OFFSET 500',
    "SELECT if(isNull(domain), 'none', lower(domain)) FROM customers",
    "SELECT formatDateTime(occurred_at, '%Y-%m') AS m, uniq(customer_id) FROM activity GROUP BY m",
    "SELECT toUInt32(dateDiff('day', first_seen_at, today())) AS age FROM customers",
    "SELECT CAST(mrr_cents AS Float64) / 100 FROM customers",
    "SELECT quantile(0.9)(mrr_cents) FROM customers",
    "SELECT groupArray(name) FROM customers",
    "SELECT * FROM customers;",
]


@pytest.mark.parametrize("pattern", REFERENCE_PATTERNS)
def test_every_reference_pattern_passes(pattern: str) -> None:
    view = "activity" if "occurred_at" in pattern or "properties" in pattern else "customers"
    sql = f"SELECT {pattern} AS value FROM {view} LIMIT 10"
    assert check_read_only_sql(sql) == sql


@pytest.mark.parametrize("sql", ACCEPTED)
def test_clickhouse_queries_pass(sql: str) -> None:
    assert check_read_only_sql(sql) == sql


def _reference_lines() -> list[str]:
    contracts = os.environ.get("OUTLIT_TOOL_CONTRACTS")
    if not contracts:
        pytest.skip("OUTLIT_TOOL_CONTRACTS is not set: the Outlit reference lives outside this repository")
    path = Path(contracts).parent / "official" / "sql-reference.md"
    if not path.is_file():
        pytest.skip(f"{path} does not exist in this checkout")
    text = path.read_text()
    block = text.split("```sql", 1)[1].split("```", 1)[0]
    return [line.strip() for line in block.splitlines() if line.strip()]


def test_the_reference_file_patterns_pass_as_written() -> None:
    lines = _reference_lines()
    assert len(lines) >= 9
    for line in lines:
        check_read_only_sql(f"SELECT {line} AS value FROM activity LIMIT 1")


def _policy() -> RetryPolicy:
    return RetryPolicy(sleep=lambda s: None, random=lambda: 0.0)


BAD = "SELECT * FROM file('/etc/passwd')"


@respx.mock(base_url=BASE, assert_all_called=False)
def test_call_tool_outlit_query_runs_the_guard(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post("/api/tools/call").respond(200, json={"data": [], "metadata": {}})
    with OutlitClient(KEY, retry=_policy()) as client:
        for validate in (True, False):
            with pytest.raises(OutlitUnsafeQueryError):
                client.call_tool("outlit_query", {"sql": BAD}, validate=validate)
        with pytest.raises(OutlitUnsafeQueryError):
            client.query(BAD)
    assert not route.called


@respx.mock(base_url=BASE, assert_all_called=False)
def test_async_call_tool_outlit_query_runs_the_guard(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post("/api/tools/call").respond(200, json={"data": [], "metadata": {}})

    async def run() -> None:
        async with AsyncOutlitClient(KEY, retry=_policy()) as client:
            with pytest.raises(OutlitUnsafeQueryError):
                await client.call_tool("outlit_query", {"sql": BAD})
            with pytest.raises(OutlitUnsafeQueryError):
                await client.query(BAD)

    asyncio.run(run())
    assert not route.called


def test_validate_tool_input_runs_the_guard() -> None:
    # What OutlitToolOperator calls when the DAG is parsed.
    with pytest.raises(OutlitUnsafeQueryError):
        validate_tool_input("outlit_query", {"sql": "SELECT * FROM system.tables"})
    _, payload = validate_tool_input("outlit_query", {"sql": "SELECT count() FROM activity"})
    assert payload == {"sql": "SELECT count() FROM activity"}


@respx.mock(base_url=BASE, assert_all_called=False)
def test_cli_tool_outlit_query_refuses_with_exit_2(
    respx_mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from outlit_cli import main as cli

    route = respx_mock.post("/api/tools/call").respond(200, json={"data": [], "metadata": {}})
    monkeypatch.setenv("OUTLIT_API_KEY", KEY)
    monkeypatch.setenv("OUTLIT_BASE_URL", BASE)
    code = cli.main(["tool", "outlit_query", "--input", json.dumps({"sql": BAD})])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()  # one error line, then at most one hint line
    assert "file" in lines[0] and len(lines) <= 2 and all(line.startswith("hint: ") for line in lines[1:])
    assert not route.called
