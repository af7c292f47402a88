"""Regression tests for the newcomer walkthrough (issue 15 items 3, 4, 6, 7 and 8), provider side."""

from __future__ import annotations

import re

import pytest

from outlit_provider.operators import (
    OutlitConnectIntegrationOperator,
    OutlitDisconnectIntegrationOperator,
    OutlitIngestEventsOperator,
    OutlitIntegrationSetupStepOperator,
    OutlitQueryOperator,
    OutlitToolOperator,
)
from outlit_provider.sensors import OutlitIntegrationSyncSensor

# -- 15.3: templated tool_input is coerced through the tool's input contract ---------------------------


def test_templated_limit_renders_to_the_number_the_contract_wants(outlit_conn, context, caplog):
    op = OutlitToolOperator(
        task_id="t", tool="outlit_list_customers", tool_input={"limit": "{{ params.limit }}"}
    )
    op.render_template_fields({"params": {"limit": 3}})
    assert op.tool_input == {"limit": "3"}  # what Jinja gives without render_template_as_native_obj
    result = op.execute(context)
    assert len(result["items"]) == 3


def test_coercion_keeps_strings_and_names_the_field_when_the_text_is_no_number(outlit_conn, context):
    op = OutlitToolOperator(
        task_id="t",
        tool="outlit_list_customers",
        tool_input={"limit": "{{ params.limit }}", "search": "{{ x }}"},
    )
    op.render_template_fields({"params": {"limit": "lots"}, "x": "42"})
    with pytest.raises(Exception, match="limit"):
        op.execute(context)
    op.tool_input = {"limit": "2", "search": "42"}
    op.execute(context)  # "42" stays a string: search is a string field


def test_a_whole_templated_input_rendered_as_python_repr_is_parsed(outlit_conn, context):
    op = OutlitToolOperator(task_id="t", tool="outlit_list_customers", tool_input="{{ params.input }}")
    op.render_template_fields({"params": {"input": {"limit": 2}}})
    assert op.tool_input == "{'limit': 2}"
    assert len(op.execute(context)["items"]) == 2


# -- 15.4: every literal argument is checked at parse time, without API call or connection lookup ------


@pytest.fixture
def no_connection(monkeypatch):
    from airflow.sdk import BaseHook

    def refuse(*args, **kwargs):
        raise AssertionError("connection looked up at parse time")

    monkeypatch.setattr(BaseHook, "get_connection", classmethod(lambda cls, *a, **k: refuse()))
    monkeypatch.delenv("AIRFLOW_CONN_OUTLIT_DEFAULT", raising=False)


def test_literal_unsafe_sql_fails_at_parse(no_connection):
    with pytest.raises(ValueError, match=r"q: .*DELETE"):
        OutlitQueryOperator(task_id="q", sql="DELETE FROM customers")
    OutlitQueryOperator(task_id="ok", sql="SELECT 1 AS one")
    OutlitQueryOperator(task_id="file", sql="sql/report.sql")  # a file is checked after rendering
    OutlitQueryOperator(task_id="tpl", sql="SELECT * FROM customers WHERE id = '{{ params.id }}'")


@pytest.mark.parametrize(
    "make",
    [
        lambda p: OutlitConnectIntegrationOperator(task_id="c", provider=p),
        lambda p: OutlitDisconnectIntegrationOperator(task_id="c", provider=p),
        lambda p: OutlitIntegrationSetupStepOperator(task_id="c", provider=p, step="webhooks"),
        lambda p: OutlitIntegrationSyncSensor(task_id="c", provider=p),
    ],
)
def test_provider_typo_fails_at_parse_with_a_suggestion(no_connection, make):
    with pytest.raises(ValueError, match="Did you mean 'stripe'"):
        make("strpe")
    make("stripe")
    make("{{ params.provider }}")


def test_invalid_literal_events_fail_at_parse(no_connection):
    bad = [{"type": "custom", "url": "https://a/b", "path": "/b", "email": "a@b.c"}]  # eventName missing
    with pytest.raises(ValueError, match=r"e: 1 literal event.*event 0 at eventName"):
        OutlitIngestEventsOperator(task_id="e", events=bad)
    OutlitIngestEventsOperator(task_id="lenient", events=bad, max_rejected=1)
    OutlitIngestEventsOperator(task_id="tpl", events="{{ ti.xcom_pull('x') }}")


# -- 15.6: no error-level "XCom not found" on a successful direct-credentials connect --------------------


def test_every_declared_link_has_a_value_after_a_direct_connect(fresh_conn, context, monkeypatch):
    import json

    monkeypatch.setenv(
        "AIRFLOW_CONN_GRANOLA_CREDS", json.dumps({"conn_type": "generic", "password": "gr_test_key_123"})
    )
    op = OutlitConnectIntegrationOperator(
        task_id="c", provider="granola", credentials_conn_id="granola_creds"
    )
    op.execute(context)
    # Airflow reads every operator_extra_links key when the task ends; a missing one is logged as an error.
    assert {link.xcom_key for link in op.operator_extra_links} <= set(context["ti"].pushed)
    assert context["ti"].pushed["connect_url"] == ""


# -- 15.7: the ingest operator does not call repeats "accepted" ----------------------------------------


def test_a_retried_ingest_says_acknowledged_and_names_the_repeats(fresh_conn, context, capsys):
    events = [
        {"type": "custom", "eventName": "e", "email": f"u{i}@x.io", "url": "server://x", "path": "/"}
        for i in range(3)
    ]
    op = OutlitIngestEventsOperator(task_id="i", events=events)
    op.execute(context)
    context["ti"].try_number = 2
    capsys.readouterr()
    summary = op.execute(context)
    text = capsys.readouterr().out  # Airflow's task logger writes through structlog
    assert "accepted 3 of 3" not in text
    assert "acknowledged 3 of 3" in text and "try 2" in text and "not stored again" in text
    assert summary["acknowledged"] == 3
    assert fresh_conn.stats()["ingest"]["stored"] == 3


# -- 15.8: one summary line for a tool task ------------------------------------------------------------


def test_a_tool_task_logs_one_summary_line(outlit_conn, context, capsys):
    capsys.readouterr()
    OutlitToolOperator(
        task_id="t", tool="outlit_list_customers", tool_input={"limit": 5}, paginate=True, max_items=7
    ).execute(context)
    OutlitToolOperator(task_id="one", tool="outlit_list_customers", tool_input={"limit": 4}).execute(context)
    out = capsys.readouterr().out
    lines = re.findall(r"Outlit tool \S+: \d+ item\(s\) in \d+ page\(s\)", out)
    assert lines == [
        "Outlit tool outlit_list_customers: 7 item(s) in 2 page(s)",
        "Outlit tool outlit_list_customers: 4 item(s) in 1 page(s)",
    ]


def test_stop_on_kill_is_one_mechanism_shared_with_the_transfer():
    from outlit_provider.operators.base import StopOnKill
    from outlit_provider.transfers.sql_to_outlit import SqlToOutlitOperator

    assert issubclass(SqlToOutlitOperator, StopOnKill)
    assert issubclass(OutlitToolOperator, StopOnKill) and issubclass(OutlitQueryOperator, StopOnKill)
