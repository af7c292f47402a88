"""Send a day's server-side events to Outlit's ingest API.

Shows OutlitIngestEventsOperator fed from an upstream task's XCom. Event uuids are derived from the task
run, so a retried task resends the same uuids and Outlit keeps one copy. For bulk loads from a warehouse
table use ``SqlToOutlitOperator`` (see docs/reverse-load.md).

Setup: ``outlit_default`` with the ingest public key in its ``public_key`` extra, e.g.
``AIRFLOW_CONN_OUTLIT_DEFAULT='outlit://:ok_...@app.outlit.ai?public_key=pk_...'``.
"""

from __future__ import annotations

from _outlit_examples import example_dag_args
from airflow.sdk import DAG, task

from outlit_provider.operators.ingest import OutlitIngestEventsOperator

with DAG(
    dag_id="outlit_ingest_events",
    schedule="@daily",
    doc_md=__doc__,
    **example_dag_args(),
) as dag:

    @task
    def build_events(dag_run=None) -> list[dict]:
        # Stand-in for reading your own system: one custom event and one identify per account.
        # run_after, not data_interval_end: a run triggered without a logical date has no data interval.
        at_ms = int(dag_run.run_after.timestamp() * 1000)
        accounts = [("acme.com", "ops@acme.com"), ("globex.com", "it@globex.com")]
        events: list[dict] = []
        for domain, email in accounts:
            page = {"url": f"https://{domain}/reports", "path": "/reports", "timestamp": at_ms}
            events.append(
                {
                    "type": "custom",
                    "eventName": "nightly_usage_report",
                    "email": email,  # server-side events need an identity: email, userId or customerId
                    "properties": {"domain": domain},
                    **page,
                }
            )
            events.append({"type": "identify", "email": email, "customerId": domain, **page})
        return events

    OutlitIngestEventsOperator(task_id="send_events", events=build_events())
