"""outlit_query / outlit_schema: real SQL over the views, read-only, with limits."""

from __future__ import annotations

from typing import Any

import pytest


def test_views_hold_the_dataset(api: Any) -> None:
    ds = api.sb.dataset()
    counts = api.tool(
        "outlit_query",
        {
            "sql": "SELECT (SELECT count(*) FROM customers) AS c, (SELECT count(*) FROM users) AS u, "
            "(SELECT count(*) FROM activity) AS a, (SELECT count(DISTINCT customer_id) FROM revenue) AS r"
        },
    )["data"][0]
    assert counts == {
        "c": len(ds["customers"]),
        "u": len(ds["users"]),
        "a": sum(len(v) for v in ds["timeline"].values()),
        "r": len(ds["customers"]),
    }
    acme = api.tool("outlit_query", {"sql": "SELECT * FROM customers WHERE domain = 'acme.com'"})["data"][0]
    assert acme["customer_id"] == ds["customers"][0]["id"]
    assert isinstance(acme["traits"], str) and acme["traits"].startswith("{")  # JSON strings, as documented


def test_schema_describes_the_same_columns_the_views_have(api: Any) -> None:
    described = api.tool("outlit_schema")
    assert [v["name"] for v in described["views"]] == ["activity", "customers", "users", "revenue"]
    for view in described["views"]:
        row = api.tool("outlit_query", {"sql": f"SELECT * FROM {view['name']} LIMIT 1"})["data"][0]
        assert list(row) == [c["name"] for c in view["columns"]]
        assert view["exampleQueries"]
        for example in view["exampleQueries"]:
            api.tool("outlit_query", {"sql": example})  # every documented example runs
    one = api.tool("outlit_schema", {"table": "activity"})
    assert {"event_name", "event_type", "event_channel", "customer_id", "occurred_at", "properties"} <= {
        c["name"] for c in one["columns"]
    }


def test_default_and_explicit_limits_set_truncated(api: Any) -> None:
    total = api.tool("outlit_query", {"sql": "SELECT count(*) AS n FROM activity"})["data"][0]["n"]
    assert total > 10
    cut = api.tool("outlit_query", {"sql": "SELECT * FROM activity", "limit": 10})
    assert cut["metadata"] == {**cut["metadata"], "rowsReturned": 10, "truncated": True}
    full = api.tool("outlit_query", {"sql": "SELECT * FROM activity", "limit": total})
    assert full["metadata"]["truncated"] is False and full["metadata"]["rowsReturned"] == total
    default = api.tool("outlit_query", {"sql": "SELECT * FROM range(1500) t(i)"}, status=400)
    assert default["details"][0]["path"] == ["sql"]  # table functions are refused, even harmless ones
    big = api.tool(
        "outlit_query", {"sql": "SELECT a.event_id FROM activity a CROSS JOIN activity b"}
    )  # far more than 1000 rows
    assert big["metadata"] == {**big["metadata"], "rowsReturned": 1000, "truncated": True}


def _rows(api: Any, sql: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = api.tool("outlit_query", {"sql": sql})["data"]
    return rows


def test_clickhouse_style_sql_runs(api: Any) -> None:
    rows = _rows(
        api,
        "SELECT toStartOfMonth(occurred_at) AS month, count() AS n FROM activity "
        "WHERE JSONExtractString(properties, 'currency') = 'USD' GROUP BY month ORDER BY month",
    )
    assert rows and all(r["n"] > 0 for r in rows)


@pytest.mark.parametrize(
    ("sql", "fragment"),
    [
        ("DROP TABLE activity", "SELECT"),
        ("DELETE FROM customers", "SELECT"),
        ("INSERT INTO customers SELECT * FROM customers", "SELECT"),
        ("SELECT 1; SELECT 2", "exactly one"),
        ("SELECT * FROM read_csv('/etc/passwd')", "not allowed"),
        ("SELECT * FROM read_parquet('https://example.com/x.parquet')", "not allowed"),
        ("SELECT * FROM '/etc/passwd'", "Unknown table"),
        ("SELECT * FROM information_schema.tables", "Unknown table"),
        ("SELECT * FROM duckdb_settings()", "not allowed"),
        ("SELECT getenv('HOME')", "not allowed"),
        ("COPY activity TO '/tmp/x.csv'", "SELECT"),
        ("ATTACH '/tmp/x.db' AS x", "SELECT"),
        ("SET enable_external_access = true", "SELECT"),
        ("SELECT * FROM secrets", "Unknown table"),
        ("SELEC nonsense", ""),
        ("SELECT no_such_column FROM activity", "Query failed"),
        # a second statement is refused even behind a comment, and so is SQL with no statement at all
        ("SELECT 1 AS a; SELECT 2 AS b -- two", "exactly one"),
        ("SELECT 1 AS a; -- note\nSELECT 2 AS b", "exactly one"),
        ("-- only a comment", "no statement"),
        ("; ;", "no statement"),
    ],
)
def test_anything_but_one_select_over_the_views_is_refused(api: Any, sql: str, fragment: str) -> None:
    body = api.tool("outlit_query", {"sql": sql}, status=400)
    assert body["details"][0]["path"] == ["sql"]
    assert fragment in body["details"][0]["message"]


def test_ctes_and_set_operations_are_fine(api: Any) -> None:
    rows = _rows(
        api,
        "WITH paying AS (SELECT customer_id FROM customers WHERE billing_status = 'PAYING') "
        "SELECT count(*) AS n FROM paying UNION ALL SELECT count(*) FROM users",
    )
    assert len(rows) == 2


def test_advance_reaches_the_views(fresh_api: Any) -> None:
    before = fresh_api.tool("outlit_query", {"sql": "SELECT count(*) AS n FROM activity"})["data"][0]["n"]
    changes = fresh_api.sb.advance(events_per_customer=3, facts_per_customer=0, status_changes=0)
    after = fresh_api.tool("outlit_query", {"sql": "SELECT count(*) AS n FROM activity"})["data"][0]["n"]
    assert after == before + sum(len(v) for v in changes["events"].values())


def test_every_duckdb_value_comes_back_as_json(api: Any) -> None:
    row = api.tool(
        "outlit_query",
        {
            "sql": "SELECT 'inf'::DOUBLE AS inf, 'nan'::DOUBLE AS nan, 1.5::DECIMAL(4,2) AS dec, "
            "INTERVAL 90 MINUTE AS span, DATE '2026-01-02' AS d, [1, 2] AS list, {'a': 1} AS struct, "
            "gen_random_uuid() IS NOT NULL AS ok, TIME '10:30:00' AS t, "
            "max(occurred_at) AS latest FROM activity"
        },
    )["data"][0]
    assert row["inf"] is None and row["nan"] is None and row["dec"] == 1.5
    assert row["d"] == "2026-01-02" and row["list"] == [1, 2] and row["struct"] == {"a": 1}
    assert isinstance(row["span"], str) and row["t"] == "10:30:00" and row["ok"] is True
    assert row["latest"].endswith("Z")


def test_runaway_queries_are_stopped(fresh_api: Any) -> None:
    fresh_api.sb.configure(query_timeout=0.2)
    body = fresh_api.tool(
        "outlit_query",
        {"sql": "SELECT count(*) FROM activity a, activity b, activity c, activity d"},
        status=400,
    )
    assert "timed out" in body["details"][0]["message"]
    # a cross join that only needs its first rows is cut by the limit, not the clock
    quick = fresh_api.tool(
        "outlit_query", {"sql": "SELECT a.event_id FROM activity a, activity b, activity c"}
    )
    assert quick["metadata"]["truncated"] is True


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT count(*) AS n FROM customers; -- note",
        "SELECT count(*) AS n FROM customers; /* note */",
        "SELECT count(*) AS n FROM customers; ;",
        "-- count them\nSELECT count(*) AS n FROM customers;\n-- done\n",
    ],
)
def test_trailing_comments_and_empty_statements_do_not_count(api: Any, sql: str) -> None:
    rows = api.tool("outlit_query", {"sql": sql})["data"]
    assert rows == [{"n": len(api.sb.dataset()["customers"])}]
