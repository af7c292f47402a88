"""Connect Stripe to Outlit, wait for its data to sync, then query it.

Shows OutlitConnectIntegrationOperator with credentials from an Airflow connection (never from DAG code),
the deferrable OutlitIntegrationSyncSensor, the webhooks setup step and a query that runs only after fresh
data has landed.

Setup: ``outlit_default`` as in the other examples, plus a connection holding the Stripe key, e.g.
``AIRFLOW_CONN_STRIPE_FOR_OUTLIT='{"conn_type": "generic", "password": "rk_live_..."}'``.
"""

from __future__ import annotations

from datetime import timedelta

from _outlit_examples import example_dag_args
from airflow.sdk import DAG

from outlit_provider.operators.integrations import (
    OutlitConnectIntegrationOperator,
    OutlitIntegrationSetupStepOperator,
)
from outlit_provider.operators.query import OutlitQueryOperator
from outlit_provider.sensors.integrations import OutlitIntegrationSyncSensor

with DAG(
    dag_id="outlit_integration_sync",
    schedule="@hourly",
    doc_md=__doc__,
    **example_dag_args(),
) as dag:
    connect_stripe = OutlitConnectIntegrationOperator(
        task_id="connect_stripe",
        provider="stripe",
        credentials_conn_id="stripe_for_outlit",
    )

    stripe_webhooks = OutlitIntegrationSetupStepOperator(
        task_id="stripe_webhooks",
        provider="stripe",
        step="webhooks",
    )

    wait_for_sync = OutlitIntegrationSyncSensor(
        task_id="wait_for_stripe_sync",
        provider="stripe",
        models=["StripeCustomer", "StripeSubscription"],
        # default synced_after is the data interval end: only data synced after this hour counts
        deferrable=True,
        poke_interval=60,
        timeout=timedelta(hours=2).total_seconds(),
    )

    mrr_by_status = OutlitQueryOperator(
        task_id="mrr_by_billing_status",
        sql="""
            SELECT billing_status, count(*) AS customers, sum(mrr_cents) AS mrr_cents
            FROM customers
            GROUP BY billing_status
            ORDER BY mrr_cents DESC
        """,
    )

    connect_stripe >> stripe_webhooks >> wait_for_sync >> mrr_by_status
