"""DAGs only the deployment test runs (beside the example DAGs, in the same DAG folder).

- ``deploy_sync_metadb``: the deferrable sync sensor on a connection stored in the metadata DB.
- ``deploy_ingest_many``: a multi-batch ingest; ``conn`` and ``count`` come from the run's conf, so the
  test can kill it mid-run (on_kill) or run it against a flaky API with task retries.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, task

from outlit_provider.operators.ingest import OutlitIngestEventsOperator
from outlit_provider.sensors.integrations import OutlitIntegrationSyncSensor

with DAG(
    dag_id="deploy_sync_metadb",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    tags=["outlit", "deployment-test"],
):
    OutlitIntegrationSyncSensor(
        task_id="wait_for_granola",
        provider="granola",
        outlit_conn_id="outlit_metadb",
        synced_after="2000-01-01T00:00:00Z",
        deferrable=True,
        poke_interval=15,
        timeout=180,
    )

for conn_id, retries in (("outlit_default", 0), ("outlit_noretry", 4)):
    with DAG(
        dag_id=f"deploy_ingest_{conn_id}",
        schedule=None,
        start_date=datetime(2026, 1, 1),
        params={"count": 300},
        tags=["outlit", "deployment-test"],
    ):

        @task
        def events(params=None) -> list[dict]:
            return [
                {
                    "type": "custom",
                    "eventName": "deployment_check",
                    "email": f"user{i}@example.com",
                    "url": "server://deploy",
                    "path": "/",
                    "properties": {"i": i},
                }
                for i in range(int(params["count"]))
            ]

        OutlitIngestEventsOperator(
            task_id="send",
            events=events(),
            outlit_conn_id=conn_id,
            retries=retries,
            retry_delay=timedelta(seconds=1),
        )
