"""Connect a browser-authorised integration (HubSpot) on demand.

Trigger it manually: the task logs a connect URL (also shown as the task's "Complete Outlit connection"
link and pushed to XCom as ``connect_url``), then waits in the triggerer until someone finishes the
connection in a browser, or fails when the session fails or expires. Afterwards the CRM field mapping
step is run and the integration list is exported.
"""

from __future__ import annotations

from _outlit_examples import example_dag_args
from airflow.sdk import DAG

from outlit_provider.operators.integrations import (
    OutlitConnectIntegrationOperator,
    OutlitIntegrationSetupStepOperator,
)

with DAG(
    dag_id="outlit_browser_connect",
    schedule=None,
    params={"provider": "hubspot"},
    doc_md=__doc__,
    **example_dag_args(),
) as dag:
    connect = OutlitConnectIntegrationOperator(
        task_id="connect",
        provider="{{ params.provider }}",
        deferrable=True,
        poll_interval=15,
        timeout=30 * 60,
    )

    mappings = OutlitIntegrationSetupStepOperator(
        task_id="crm_mappings",
        provider="{{ params.provider }}",
        step="mappings",
    )

    connect >> mappings
