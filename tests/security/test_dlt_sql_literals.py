"""Hostile values in the SQL the dlt source writes (bulk timeline conditions, query-resource bounds).

Outlit's analytics store speaks ClickHouse, where a backslash in a string literal escapes the next
character: a value ending in a backslash, or holding ``\\'``, must not end its literal and add SQL.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from dlt_sources.outlit.activity import ActivityChunk, chunk_sql
from dlt_sources.outlit.cursors import Fetch
from dlt_sources.outlit.query import sql_literal
from outlit_core.client import OutlitClient

HOSTILE = ["x\\' OR 1=1 --", "\\", "it's", "a\\b", "x\\''); SELECT 1 --", "\\\\'"]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_value_stays_one_string_literal_in_clickhouse(value: str) -> None:
    tree = sqlglot.parse_one(
        f"SELECT 1 FROM activity WHERE customer_id = {sql_literal(value)}", read="clickhouse"
    )
    assert [lit.this for lit in tree.find_all(exp.Literal) if lit.is_string] == [value]
    assert tree.find(exp.Or) is None


def test_bulk_timeline_conditions_keep_hostile_ids_inside_their_literals() -> None:
    chunk = ActivityChunk(tuple(Fetch(value, "2026-01-01T00:00:00.000Z") for value in HOSTILE))
    tree = sqlglot.parse_one(chunk_sql(chunk), read="clickhouse")
    ids = [
        lit.this for lit in tree.find_all(exp.Literal) if lit.is_string and not lit.this.startswith("2026")
    ]
    assert sorted(ids) == sorted(HOSTILE)
    assert isinstance(tree.find(exp.Where).this, exp.Paren)  # one condition: nothing was added beside it


def test_the_sandbox_finds_no_row_for_a_hostile_id(sandbox: Any) -> None:
    # before the backslash was escaped, this id ended its literal and `OR 1=1` matched every event
    with OutlitClient(sandbox.api_key, base_url=sandbox.base_url) as client:
        result = client.query(
            f"SELECT count() AS n FROM activity WHERE customer_id = {sql_literal(HOSTILE[0])}", limit=1
        )
    assert result.rows[0]["n"] == 0


def test_the_client_guard_passes_the_bulk_query_with_hostile_ids() -> None:
    # AND / OR are sqlglot Func nodes in the locked version; the guard refused every WHERE with them
    from outlit_core.client.sql_guard import check_read_only_sql

    chunk = ActivityChunk(
        (Fetch(HOSTILE[0], "2026-01-01T00:00:00.000Z"), Fetch("b", "2026-02-01T00:00:00.000Z"))
    )
    check_read_only_sql(chunk_sql(chunk))
