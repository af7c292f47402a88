"""Nightly round trip: Outlit -> Postgres with the dlt source, then account health back to Outlit.

1. ``extract`` runs the Outlit dlt source into the ``outlit_data`` schema of the ``warehouse_postgres``
   connection (incremental: each run asks only for what is new; dlt keeps its state in the warehouse).
2. ``score_accounts`` (a plain SQL task) computes one health row per customer from what was loaded.
3. ``send_scores`` (``SqlToOutlitOperator``) sends each new or changed score to Outlit as a ``custom`` event,
   exactly once: its ledger lives next to the scores, in the same database.

Setup: ``outlit_default`` (API key as password, ``public_key`` extra), a Postgres connection
``warehouse_postgres`` and ``apache-airflow-providers-postgres`` installed (its hook reads the rows).
Nothing here calls an API or looks a connection up when the file is parsed. Each task declares the Assets
it writes (warehouse tables, Outlit events).

The second DAG in this file, ``outlit_reverse_load_on_extract``, shows data-aware scheduling: it has no clock
schedule and runs whenever the extract updates the customers table Asset
(``warehouse_postgres.outlit_data.customers``), scoring and sending with the same mapping name, so both DAGs
share one ledger and no score is sent twice.
"""

from __future__ import annotations

from _outlit_examples import example_dag_args
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.sdk import DAG, task

from outlit_provider.assets import outlit_events_asset, warehouse_table_asset
from outlit_provider.transfers.sql_to_outlit import SqlToOutlitOperator

WAREHOUSE_CONN_ID = "warehouse_postgres"
EXTRACT_DATASET = "outlit_data"

# What the extract writes (the dlt source's tables) and what the scoring and the reverse-load write.
EXTRACTED_TABLES = [
    warehouse_table_asset(WAREHOUSE_CONN_ID, EXTRACT_DATASET, t) for t in ("customers", "timeline", "facts")
]
ACCOUNT_HEALTH = warehouse_table_asset(WAREHOUSE_CONN_ID, "analytics", "account_health")

SCORES_MAPPING = {
    "name": "account_health_daily",
    "event_type": "custom",
    "event_name": "account_health_scored",
    "key": ["customer_id"],
    "customer_id": "customer_id",
    "timestamp": "scored_at",
    "properties": ["health_score", "events_30d", "open_risks"],
}
HEALTH_EVENTS = outlit_events_asset(str(SCORES_MAPPING["name"]))

SCORE_SQL = """
    CREATE SCHEMA IF NOT EXISTS analytics;
    CREATE TABLE IF NOT EXISTS analytics.account_health (
        customer_id text PRIMARY KEY, health_score integer, events_30d integer,
        open_risks integer, scored_at timestamptz);
    INSERT INTO analytics.account_health
    SELECT c.id,
           greatest(0, least(100, coalesce(t.n, 0) * 2 - coalesce(f.n, 0) * 10)),
           coalesce(t.n, 0), coalesce(f.n, 0), now()
    FROM outlit_data.customers c
    LEFT JOIN (SELECT customer_id, count(*) n FROM outlit_data.timeline
               WHERE occurred_at >= now() - interval '30 days' GROUP BY 1) t ON t.customer_id = c.id
    LEFT JOIN (SELECT customer_id, count(*) n FROM outlit_data.facts
               WHERE status = 'ACTIVE' AND fact_type = 'CHURN_RISK' GROUP BY 1) f
           ON f.customer_id = c.id
    ON CONFLICT (customer_id) DO UPDATE SET
        health_score = excluded.health_score, events_30d = excluded.events_30d,
        open_risks = excluded.open_risks,
        scored_at = CASE WHEN account_health.health_score IS DISTINCT FROM excluded.health_score
                         THEN excluded.scored_at ELSE account_health.scored_at END;
"""


def score_and_send() -> tuple[SQLExecuteQueryOperator, SqlToOutlitOperator]:
    """Score accounts in the warehouse, then send new or changed scores to Outlit (both DAGs below)."""
    score = SQLExecuteQueryOperator(
        task_id="score_accounts", conn_id=WAREHOUSE_CONN_ID, sql=SCORE_SQL, outlets=[ACCOUNT_HEALTH]
    )
    send = SqlToOutlitOperator(
        task_id="send_scores",
        conn_id=WAREHOUSE_CONN_ID,
        table="analytics.account_health",
        mapping=SCORES_MAPPING,
        bookkeeping_schema="analytics",
        outlets=[HEALTH_EVENTS],
    )
    score >> send
    return score, send


with DAG(
    dag_id="outlit_warehouse_sync",
    schedule="@daily",
    doc_md=__doc__,
    # one run at a time: the dlt pipeline and the ledger expect it
    **example_dag_args("dlt", "reverse-load", max_active_runs=1),
) as dag:
    # outlets: each task declares the Assets it writes, so other DAGs can run when they change
    # (see outlit_reverse_load_on_extract) and lineage tools see the flow.
    @task(outlets=EXTRACTED_TABLES)
    def extract() -> dict[str, int]:
        # Imported inside the task: DAG parsing must not pay for dlt.
        import dlt
        from airflow.sdk import BaseHook

        from dlt_sources.outlit.loading import load_all
        from outlit_provider.hooks.outlit import OutlitHook

        warehouse = BaseHook.get_connection(WAREHOUSE_CONN_ID)
        # Airflow writes postgres://; SQLAlchemy and dlt want postgresql://
        credentials = warehouse.get_uri().replace("postgres://", "postgresql://", 1)
        return load_all(
            **OutlitHook().get_settings().source_kwargs(),
            pipeline_name="outlit_nightly",
            destination=dlt.destinations.postgres(credentials),
            dataset_name=EXTRACT_DATASET,
        )

    score_accounts, _ = score_and_send()
    extract() >> score_accounts

with DAG(
    dag_id="outlit_reverse_load_on_extract",
    schedule=[EXTRACTED_TABLES[0]],  # the customers table the extract writes
    doc_md="Scores accounts and sends them to Outlit whenever the extract has landed (an Asset schedule).",
    **example_dag_args("assets", "reverse-load", max_active_runs=1),
) as dag:
    score_and_send()
