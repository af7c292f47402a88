"""OpenLineage (issue 12.5): the query, tool, ingest and SQL-to-Outlit operators report what they read and
wrote through ``get_openlineage_facets_on_complete``, checked with the OpenLineage provider's own types."""

from __future__ import annotations

import json
import sqlite3
from urllib.parse import urlsplit

import pytest

pytest.importorskip("airflow.providers.openlineage")

from airflow.providers.openlineage.extractors import OperatorLineage

from outlit_provider.operators import (
    OutlitIngestEventsOperator,
    OutlitQueryOperator,
    OutlitToolOperator,
)


def _names(datasets) -> set[tuple[str, str]]:
    return {(d.namespace, d.name) for d in datasets}


def test_query_reports_the_views_it_read_the_file_it_wrote_and_its_sql(outlit_conn, context, tmp_path):
    sql = (
        "WITH paying AS (SELECT * FROM customers WHERE billing_status = 'PAYING') SELECT count(*) FROM paying"
    )
    op = OutlitQueryOperator(task_id="q", sql=sql, output_path=str(tmp_path / "out.json"))
    op.execute(context)
    lineage = op.get_openlineage_facets_on_complete(None)
    assert isinstance(lineage, OperatorLineage)
    ns = f"outlit://{urlsplit(outlit_conn.base_url).netloc}"
    assert _names(lineage.inputs) == {(ns, "customers")}  # the CTE is not a dataset
    assert _names(lineage.outputs) == {("file", str(tmp_path / "out.json"))}
    assert lineage.job_facets["sql"].query == sql


def test_tool_reports_the_tool_as_input(outlit_conn, context):
    op = OutlitToolOperator(task_id="t", tool="outlit_list_customers", tool_input={"limit": 2})
    op.execute(context)
    lineage = op.get_openlineage_facets_on_complete(None)
    assert [d.name for d in lineage.inputs] == ["outlit_list_customers"] and lineage.outputs == []


def test_ingest_reports_the_events_it_sent_with_their_count(fresh_conn, context):
    events = [
        {"type": "custom", "eventName": "e", "email": f"u{i}@x.io", "url": "server://x", "path": "/"}
        for i in range(4)
    ]
    op = OutlitIngestEventsOperator(task_id="send", events=events)
    op.execute(context)
    (out,) = op.get_openlineage_facets_on_complete(None).outputs
    assert out.name == f"ingest/{op.dag_id}.send" and out.namespace.startswith("outlit://127.0.0.1")
    assert out.outputFacets["outputStatistics"].rowCount == 4


def test_sql_to_outlit_reports_the_table_it_read_and_the_sync_it_sent(fresh_conn, tmp_path, monkeypatch):
    from outlit_provider.transfers.sql_to_outlit import SqlToOutlitOperator

    path = tmp_path / "wh.sqlite"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE scores (customer_id TEXT PRIMARY KEY, score INTEGER, at TEXT)")
        con.executemany(
            "INSERT INTO scores VALUES (?, ?, ?)", [(f"c{i}", i, "2026-01-01T00:00:00Z") for i in range(3)]
        )
    monkeypatch.setenv("AIRFLOW_CONN_WH", json.dumps({"conn_type": "sqlite", "host": str(path)}))
    mapping = {
        "name": "scores_sync",
        "event_type": "custom",
        "event_name": "scored",
        "key": ["customer_id"],
        "customer_id": "customer_id",
        "timestamp": "at",
        "properties": ["score"],
    }
    op = SqlToOutlitOperator(task_id="send", conn_id="wh", table="scores", mapping=mapping)
    op.execute(context={})
    lineage = op.get_openlineage_facets_on_complete(None)
    (inp,) = lineage.inputs
    assert inp.namespace.startswith("sqlite://") and inp.name.endswith("scores")
    (out,) = lineage.outputs
    assert out.name == "ingest/scores_sync" and out.outputFacets["outputStatistics"].rowCount == 3
