"""The read-only guard for outlit_query refuses before any request is made."""

from __future__ import annotations

import json

import pytest
import respx

from outlit_core.client import OutlitUnsafeQueryError, check_read_only_sql

SAFE = [
    "select * from customers",
    "SELECT id, name FROM customers WHERE mrr_cents > 1000 ORDER BY name LIMIT 10;",
    "with paying as (select * from customers where billing_status = 'PAYING') select count(*) from paying",
    "select id from customers union all select customer_id from users",
    "select date_trunc('day', occurred_at) d, count(*) from activity group by 1",
    "select c.name, u.email from customers c join users u on u.customer_id = c.id",
    'select * from "customers"',
    "select coalesce(name, domain), lower(email), now() from users",
    # an empty or comment-only statement after the last ";" runs nothing: still one statement
    "SELECT * FROM customers; -- note",
    "select * from customers;;",
    "select * from customers; /* done */ ;",
]

UNSAFE = [
    ("select 1; select 2", "2 statements"),
    ("insert into customers values (1)", "INSERT"),
    ("update customers set name = 'x'", "UPDATE"),
    ("delete from customers", "DELETE"),
    ("drop table customers", "DROP"),
    ("create table t as select 1", "CREATE"),
    ("alter table customers add column x int", "ALTER"),
    ("copy customers to '/tmp/x.csv'", "COPY"),
    ("pragma database_list", "PRAGMA"),
    ("attach 'other.db' as other", "not a SELECT"),
    ("set threads = 1", "SET"),
    ("install httpfs", "not a SELECT"),
    ("load httpfs", "not a SELECT"),
    ("describe customers", "DESCRIBE"),
    ("select * into backup from customers", "INTO"),
    ("with d as (delete from customers returning *) select * from d", "DELETE"),
    ("select * from read_csv('/etc/passwd')", "read_csv"),
    ("select * from read_csv_auto('x.csv')", "read_csv"),
    ("select * from read_parquet('s3://bucket/x.parquet')", "read_parquet"),
    ("select * from read_json_auto('https://evil.example/x.json')", "read_json_auto"),
    ("select * from parquet_scan('x')", "parquet_scan"),
    ("select * from glob('/home/*')", "glob"),
    ("select * from 's3://bucket/data.parquet'", "s3://"),
    ("select * from 'local.csv'", "local.csv"),
    ("select * from sqlite_scan('x.db', 't')", "sqlite_scan"),
    ("select read_text('/etc/shadow')", "read_text"),
    ("select pg_read_file('/etc/passwd')", "pg_read_file"),
    ("select * from customers where id in (select id from read_json('x'))", "read_json"),
    ("select 1; -- note\n; delete from customers", "2 statements"),
    ("select * from duckdb_settings()", "duckdb_settings"),
    ("select * from duckdb_secrets()", "duckdb_secrets"),
    ("select * from duckdb_settings", "duckdb_settings"),
    ("select * from pragma_table_info('customers')", "pragma_table_info"),
    ("select which_secret('s3://bucket/x', 's3')", "which_secret"),
    ("select * from 'events.avro'", "events.avro"),
    ("", "empty"),
    ("selec * form customers", "not a SELECT"),
    ("select 1 +", "does not parse"),
]


@pytest.mark.parametrize("sql", SAFE)
def test_read_only_queries_pass(sql: str) -> None:
    assert check_read_only_sql(sql) == sql


@pytest.mark.parametrize(("sql", "reason"), UNSAFE)
def test_unsafe_queries_are_refused_with_a_reason(sql: str, reason: str) -> None:
    with pytest.raises(OutlitUnsafeQueryError) as info:
        check_read_only_sql(sql)
    assert reason.lower() in str(info.value).lower()
    assert info.value.details[0]["path"] == ["sql"]


def test_query_refuses_before_sending(api: respx.MockRouter, make_client) -> None:
    with pytest.raises(OutlitUnsafeQueryError):
        make_client().query("delete from customers")
    assert not api.calls


def test_query_sends_sql_and_limit_and_reads_metadata(api: respx.MockRouter, make_client) -> None:
    route = api.post("/api/tools/call").respond(
        200,
        json={
            "success": True,
            "data": [{"id": 1, "name": "Acme"}, {"id": 2, "name": None, "extra": 5}],
            "metadata": {"rowsReturned": 2, "executionTimeMs": 12.5, "truncated": True},
        },
    )
    result = make_client().query("select * from customers", limit=2)
    assert json.loads(route.calls.last.request.content) == {
        "tool": "outlit_query",
        "input": {"sql": "select * from customers", "limit": 2},
    }
    assert (result.rows_returned, result.truncated, result.execution_time_ms) == (2, True, 12.5)
    assert result.columns == ["id", "name", "extra"]
    assert len(result) == 2


def test_query_df_returns_a_dataframe(api: respx.MockRouter, make_client) -> None:
    api.post("/api/tools/call").respond(
        200,
        json={
            "success": True,
            "data": [{"a": 1}, {"a": 2, "b": "x"}],
            "metadata": {"rowsReturned": 2, "executionTimeMs": 1, "truncated": False},
        },
    )
    frame = make_client().query_df("select a, b from customers")
    assert list(frame.columns) == ["a", "b"] and len(frame) == 2


def test_query_df_with_no_rows(api: respx.MockRouter, make_client) -> None:
    api.post("/api/tools/call").respond(
        200,
        json={
            "success": True,
            "data": [],
            "metadata": {"rowsReturned": 0, "executionTimeMs": 1, "truncated": False},
        },
    )
    assert make_client().query_df("select * from customers where false").empty


def test_query_limit_is_validated(api: respx.MockRouter, make_client) -> None:
    from outlit_core.client import OutlitToolInputError

    with pytest.raises(OutlitToolInputError, match="limit"):
        make_client().query("select 1", limit=20000)
    assert not api.calls
