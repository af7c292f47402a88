"""Every operator against the sandbox: parse-time checks, execute results, files, XCom size and secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from airflow.sdk.exceptions import AirflowException

from outlit_provider.operators import (
    OutlitConnectIntegrationOperator,
    OutlitDisconnectIntegrationOperator,
    OutlitIngestEventsOperator,
    OutlitIntegrationSetupStepOperator,
    OutlitPlatformActionOperator,
    OutlitQueryOperator,
    OutlitToolOperator,
)
from outlit_provider.operators.base import OutlitTaskStopped

# -- parse-time checks (no connection, no sandbox) ---------------------------------------------------------


def test_unknown_tool_fails_at_parse_with_suggestion():
    with pytest.raises(Exception, match="outlit_list_customers"):
        OutlitToolOperator(task_id="t", tool="outlit_list_customer")


def test_bad_literal_tool_input_fails_at_parse():
    with pytest.raises(Exception, match="limit"):
        OutlitToolOperator(task_id="t", tool="outlit_list_customers", tool_input={"limit": 0})


def test_paginate_on_single_result_tool_fails_at_parse():
    with pytest.raises(ValueError, match="does not paginate"):
        OutlitToolOperator(
            task_id="t", tool="outlit_get_customer", tool_input={"customer": "x"}, paginate=True
        )


def test_templated_tool_input_is_left_for_run_time():
    op = OutlitToolOperator(task_id="t", tool="outlit_list_customers", tool_input={"limit": "{{ params.n }}"})
    assert "tool_input" in op.template_fields


def test_impossible_platform_pair_fails_at_parse_listing_valid_actions():
    with pytest.raises(ValueError, match=r"signals has no 'enable' action.*archive"):
        OutlitPlatformActionOperator(task_id="t", resource="signals", action="enable", resource_id="s1")
    with pytest.raises(ValueError, match="Did you mean 'agents'"):
        OutlitPlatformActionOperator(task_id="t", resource="agent", action="list")


def test_platform_pair_checked_even_when_id_is_templated():
    with pytest.raises(ValueError, match="signals has no 'enable'"):
        OutlitPlatformActionOperator(task_id="t", resource="signals", action="enable", resource_id="{{ x }}")
    OutlitPlatformActionOperator(task_id="ok", resource="agents", action="enable", resource_id="{{ x }}")


def test_query_file_formats_need_output_path():
    with pytest.raises(ValueError, match="output_path is required"):
        OutlitQueryOperator(task_id="t", sql="SELECT 1", output_format="parquet")
    with pytest.raises(ValueError, match="output_format"):
        OutlitQueryOperator(task_id="t", sql="SELECT 1", output_format="xlsx")  # type: ignore[arg-type]
    assert OutlitQueryOperator.template_ext == (".sql",)


# -- tools -------------------------------------------------------------------------------------------------


def test_tool_single_call_returns_result(outlit_conn, context):
    op = OutlitToolOperator(task_id="t", tool="outlit_list_customers", tool_input={"limit": 3})
    result = op.execute(context)
    assert len(result["items"]) == 3 and "pagination" in result


def test_tool_paginated_collects_up_to_max_items(outlit_conn, context):
    op = OutlitToolOperator(task_id="t", tool="outlit_list_customers", paginate=True, max_items=5)
    items = op.execute(context)
    assert len(items) == 5 and len({i["id"] for i in items}) == 5


def test_tool_paginated_to_jsonl_file_returns_path(outlit_conn, context, tmp_path):
    path = str(tmp_path / "out" / "customers.jsonl")
    op = OutlitToolOperator(
        task_id="t", tool="outlit_list_customers", tool_input={"limit": 5}, paginate=True, output_path=path
    )
    assert op.execute(context) == path
    rows = [json.loads(line) for line in Path(path).read_text().splitlines()]
    everything = OutlitToolOperator(task_id="all", tool="outlit_list_customers", paginate=True).execute(
        context
    )
    assert [r["id"] for r in rows] == [r["id"] for r in everything]  # every page, no duplicates
    assert len(rows) == 12  # the shared sandbox's customer count


def test_tool_result_to_object_storage_url(outlit_conn, context, tmp_path):
    url = f"file://{tmp_path}/schema.json"
    assert OutlitToolOperator(task_id="t", tool="outlit_schema", output_path=url).execute(context) == url
    assert json.loads((tmp_path / "schema.json").read_text())


def test_oversized_xcom_is_refused_with_the_fix(outlit_conn, context):
    op = OutlitToolOperator(task_id="t", tool="outlit_list_customers", paginate=True, max_xcom_bytes=100)
    with pytest.raises(ValueError, match="output_path"):
        op.execute(context)


# -- query -------------------------------------------------------------------------------------------------


def test_query_records(outlit_conn, context, caplog):
    op = OutlitQueryOperator(task_id="q", sql="SELECT customer_id, name FROM customers ORDER BY 1", limit=4)
    rows = op.execute(context)
    assert len(rows) == 4 and set(rows[0]) == {"customer_id", "name"}


def test_query_parquet_and_csv(outlit_conn, context, tmp_path):
    sql = "SELECT customer_id, mrr_cents FROM customers ORDER BY 1"
    pq = OutlitQueryOperator(
        task_id="p", sql=sql, output_format="parquet", output_path=str(tmp_path / "c.parquet")
    ).execute(context)
    csv = OutlitQueryOperator(
        task_id="c", sql=sql, output_format="csv", output_path=str(tmp_path / "c.csv")
    ).execute(context)
    frame = pd.read_parquet(pq)
    assert len(frame) == 12 and list(frame.columns) == ["customer_id", "mrr_cents"]
    assert pd.read_csv(csv)["customer_id"].tolist() == frame["customer_id"].tolist()


def test_query_truncation_can_fail_the_task(outlit_conn, context):
    op = OutlitQueryOperator(task_id="q", sql="SELECT * FROM customers", limit=2, fail_on_truncation=True)
    with pytest.raises(ValueError, match="truncated"):
        op.execute(context)


def test_unsafe_sql_is_refused_before_any_request(monkeypatch, context):
    from outlit_core.client import OutlitUnsafeQueryError

    # A connection to a closed port: had a request been attempted, this would be a transport error.
    monkeypatch.setenv(
        "AIRFLOW_CONN_OUTLIT_DEFAULT",
        json.dumps(
            {"conn_type": "outlit", "password": "ok_x_12345", "extra": {"base_url": "http://127.0.0.1:9"}}
        ),
    )
    # rendered at run time (a literal is refused at parse, see test_airflow_walkthrough_fixes.py)
    op = OutlitQueryOperator(task_id="q", sql="{{ params.sql }}")
    op.sql = "DELETE FROM customers"
    with pytest.raises(OutlitUnsafeQueryError, match="DELETE"):
        op.execute(context)


# -- platform ----------------------------------------------------------------------------------------------


def test_platform_list_and_lifecycle(fresh_conn, context):
    templates = OutlitPlatformActionOperator(task_id="t", resource="agent-templates", action="list").execute(
        context
    )
    assert templates
    created = OutlitPlatformActionOperator(
        task_id="c", resource="agents", action="create", body={"type": "template", "templateKey": "churn"}
    ).execute(context)
    agent_id = created["agent"]["id"]
    enabled = OutlitPlatformActionOperator(
        task_id="e", resource="agents", action="enable", resource_id=agent_id
    ).execute(context)
    assert enabled
    got = OutlitPlatformActionOperator(task_id="g", resource="agents", action="get", resource_id=agent_id)
    assert got.execute(context)["agent"]["id"] == agent_id


# -- integrations ------------------------------------------------------------------------------------------


def test_connect_direct_credentials_from_connection(fresh_conn, context, monkeypatch):
    secret = "phx_super_secret_value_1"
    monkeypatch.setenv(
        "AIRFLOW_CONN_POSTHOG_CREDS",
        json.dumps({"conn_type": "generic", "password": secret, "extra": {"projectId": "12345"}}),
    )
    op = OutlitConnectIntegrationOperator(
        task_id="c", provider="posthog", credentials_conn_id="posthog_creds", config={"region": "us"}
    )
    result = op.execute(context)
    assert result["connected"] and not result["already_connected"]
    assert secret not in json.dumps(result) and secret not in json.dumps(context["ti"].pushed)
    assert context["ti"].pushed["outlit_integrations_url"].endswith("/integrations")


def test_connect_refuses_secrets_in_dag_config(fresh_conn, context):
    op = OutlitConnectIntegrationOperator(task_id="c", provider="granola", config={"apiKey": "plain_in_dag"})
    with pytest.raises(ValueError, match=r"\['apiKey'\] are secrets"):
        op.execute(context)


def test_connect_browser_session_polls_to_connected(fresh_conn, context):
    op = OutlitConnectIntegrationOperator(task_id="c", provider="attio", poll_interval=0.01, deferrable=False)
    result = op.execute(context)
    assert result["connected"] is True
    pushed = context["ti"].pushed
    assert pushed["session_id"] == result["session_id"] and "session=" in pushed["connect_url"]


def test_connect_without_waiting_returns_url(fresh_conn, context):
    op = OutlitConnectIntegrationOperator(task_id="c", provider="attio", wait_for_completion=False)
    result = op.execute(context)
    assert result["connect_url"] == context["ti"].pushed["connect_url"]


def test_disconnect_then_missing(fresh_conn, context):
    assert OutlitDisconnectIntegrationOperator(task_id="d", provider="stripe").execute(context)[
        "disconnected"
    ]
    assert not OutlitDisconnectIntegrationOperator(task_id="d", provider="stripe").execute(context)[
        "disconnected"
    ]
    with pytest.raises(AirflowException, match="not connected"):
        OutlitDisconnectIntegrationOperator(task_id="d", provider="stripe", missing_ok=False).execute(context)


def test_setup_step_with_secret_from_connection(fresh_conn, context, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_STRIPE_HOOK", json.dumps({"conn_type": "generic", "password": "whsec_abc123"})
    )
    op = OutlitIntegrationSetupStepOperator(
        task_id="s", provider="stripe", step="webhooks", secrets_conn_id="stripe_hook"
    )
    result = op.execute(context)
    assert isinstance(result, dict) and "whsec_abc123" not in json.dumps(result)


def test_setup_step_for_a_provider_not_connected_fails_the_task(fresh_conn, context):
    """Outlit answers a step for a provider that is not connected with 200 and status not_connected
    (docs/sandbox.md): the task fails saying so instead of succeeding with nothing done."""
    op = OutlitIntegrationSetupStepOperator(task_id="s", provider="pylon", step="webhooks")
    with pytest.raises(AirflowException, match="pylon is not connected"):
        op.execute(context)


# -- ingest ------------------------------------------------------------------------------------------------


def _events(n: int) -> list[dict]:
    return [
        {
            "type": "custom",
            "eventName": "report_sent",
            "url": "https://acme.com/r",
            "path": "/r",
            "timestamp": 1_770_000_000_000 + i,
            "email": f"u{i}@acme.com",
            "properties": {"i": i},
        }
        for i in range(n)
    ]


def test_ingest_sends_and_a_retry_does_not_duplicate(fresh_conn, context):
    op = OutlitIngestEventsOperator(task_id="i", events=_events(150))
    first = op.execute(context)
    assert first["acknowledged"] == 150 and first["rejected"] == 0 and first["requests"] >= 2
    op.execute(context)  # the same task instance retried: same derived uuids
    uuids = [e["uuid"] for e in fresh_conn.ingested()["events"]]
    assert len(uuids) == len(set(uuids)) == 150


def test_ingest_accepts_json_string_and_fails_on_rejections(fresh_conn, context):
    bad = [*_events(2), {"type": "custom", "url": "https://a/b", "path": "/b"}]  # eventName missing
    op = OutlitIngestEventsOperator(task_id="i", events="{{ var.value.events }}")
    op.events = json.dumps(bad)  # as rendered at run time
    with pytest.raises(AirflowException, match=r"rejected 1 event.*eventName"):
        op.execute(context)
    lenient = OutlitIngestEventsOperator(task_id="j", events=bad, max_rejected=1).execute(context)
    assert lenient["acknowledged"] == 2 and lenient["rejected"] == 1


def test_ingest_refuses_non_list(fresh_conn, context):
    with pytest.raises(ValueError, match="list of event objects"):
        OutlitIngestEventsOperator(task_id="i", events='{"type": "custom"}').execute(context)


def test_operators_deep_copy_and_map_like_any_operator():
    import copy

    op = OutlitToolOperator(task_id="t", tool="outlit_list_customers")
    assert copy.deepcopy(op).tool == "outlit_list_customers"
    mapped = OutlitToolOperator.partial(task_id="m", tool="outlit_list_customers").expand(
        tool_input=[{"limit": 1}, {"limit": 2}]
    )
    assert mapped.partial_kwargs["tool"] == "outlit_list_customers"


def test_query_records_to_file_and_no_partial_file_on_failure(outlit_conn, context, tmp_path):
    path = tmp_path / "rows.json"
    op = OutlitQueryOperator(task_id="q", sql="SELECT customer_id FROM customers", output_path=str(path))
    assert op.execute(context) == str(path)
    assert len(json.loads(path.read_text())) == 12

    failing = tmp_path / "fail.jsonl"
    op = OutlitToolOperator(
        task_id="t", tool="outlit_list_customers", paginate=True, output_path=str(failing)
    )
    op.on_kill()  # stops after the first page arrived, mid-write
    with pytest.raises(OutlitTaskStopped):
        op.execute(context)
    assert list(tmp_path.iterdir()) == [path]  # neither the target nor a leftover partial file


def test_max_items_without_paginate_fails_at_parse():
    with pytest.raises(ValueError, match="paginate=True"):
        OutlitToolOperator(task_id="t", tool="outlit_list_customers", max_items=5)


# -- on_kill: no request after a kill ----------------------------------------------------------------------


def test_on_kill_stops_ingest_between_batches_and_a_rerun_sends_the_rest(fresh_conn, context, monkeypatch):
    from outlit_core.client import OutlitClient

    op = OutlitIngestEventsOperator(task_id="i", events=_events(250))
    real_deliver = OutlitClient.deliver

    def deliver_then_kill(self, *args, **kwargs):
        # as if SIGTERM arrived while the first batch was in flight
        return real_deliver(self, *args, on_batch=lambda _batch: op.on_kill(), **kwargs)

    monkeypatch.setattr(OutlitClient, "deliver", deliver_then_kill)
    with pytest.raises(OutlitTaskStopped, match=r"after 100 of 250 event\(s\) were acknowledged"):
        op.execute(context)
    assert len(fresh_conn.ingested()["events"]) == 100
    # The retry derives the same uuids: Outlit keeps one copy of the first 100 and stores the other 150.
    monkeypatch.setattr(OutlitClient, "deliver", real_deliver)
    OutlitIngestEventsOperator(task_id="i", events=_events(250)).execute(context)
    uuids = [e["uuid"] for e in fresh_conn.ingested()["events"]]
    assert len(uuids) == len(set(uuids)) == 250


def test_ingest_reports_rejections_by_position_in_the_whole_list(fresh_conn, context):
    events = _events(150)
    del events[130]["eventName"]  # in the second request-sized chunk
    op = OutlitIngestEventsOperator(task_id="i", events=events, max_rejected=1)
    op.max_rejected = 0  # the parse-time check allowed one bad event; the run must still report it
    with pytest.raises(AirflowException, match=r"First: event 130 at .*eventName"):
        op.execute(context)
    assert len(fresh_conn.ingested()["events"]) == 149


def _api_requests(sb: object) -> dict[str, int]:
    return {route: n for route, n in sb.stats()["requests"].items() if " /api/" in route}


def test_on_kill_before_sending_stops_the_query(fresh_conn, context):
    op = OutlitQueryOperator(task_id="q", sql="SELECT count(*) AS n FROM customers")
    op.on_kill()
    with pytest.raises(OutlitTaskStopped, match="query was not sent"):
        op.execute(context)
    assert _api_requests(fresh_conn) == {}


def test_on_kill_before_sending_stops_a_platform_write(fresh_conn, context):
    op = OutlitPlatformActionOperator(
        task_id="c", resource="agents", action="create", body={"type": "template", "templateKey": "churn"}
    )
    op.on_kill()
    with pytest.raises(OutlitTaskStopped, match="create on agents; the request was not sent"):
        op.execute(context)
    assert _api_requests(fresh_conn) == {}


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: OutlitDisconnectIntegrationOperator(task_id="d", provider="stripe"), "disconnect of stripe"),
        (
            lambda: OutlitIntegrationSetupStepOperator(task_id="s", provider="stripe", step="webhooks"),
            "setup step webhooks of stripe",
        ),
    ],
)
def test_on_kill_before_sending_stops_integration_writes(fresh_conn, context, make, match):
    op = make()
    op.on_kill()
    with pytest.raises(OutlitTaskStopped, match=match):
        op.execute(context)
    assert _api_requests(fresh_conn) == {}
