"""Daily export of Outlit customers and a SQL slice of the customer views to files.

Shows OutlitToolOperator (paginated to JSON Lines), OutlitQueryOperator with a templated ``.sql`` file
(written as Parquet) and a small records query returned through XCom.

Setup: an ``outlit_default`` connection (API key in the password field), e.g.
``AIRFLOW_CONN_OUTLIT_DEFAULT='outlit://:ok_...@app.outlit.ai'``. Files go under the Airflow Variable
``outlit_export_dir`` (default ``/tmp/outlit-exports``); an ``s3://...`` URL works too.
"""

from __future__ import annotations

from _outlit_examples import example_dag_args
from airflow.sdk import DAG

from outlit_provider.operators.query import OutlitQueryOperator
from outlit_provider.operators.tool import OutlitToolOperator

# run_after, not ds: a run triggered from the UI or REST API without a logical date has no ds in Airflow 3.
EXPORT_DIR = "{{ var.value.get('outlit_export_dir', '/tmp/outlit-exports') }}/{{ dag_run.run_after | ds }}"

with DAG(
    dag_id="outlit_customer_export",
    schedule="@daily",
    params={"top_n": 100},
    doc_md=__doc__,
    **example_dag_args(),
) as dag:
    export_customers = OutlitToolOperator(
        task_id="export_customers",
        tool="outlit_list_customers",
        tool_input={"billingStatus": "PAYING"},
        paginate=True,
        output_path=EXPORT_DIR + "/customers.jsonl",
    )

    top_paying = OutlitQueryOperator(
        task_id="top_paying_customers",
        sql="sql/outlit_paying_customers.sql",
        output_format="parquet",
        output_path=EXPORT_DIR + "/top_paying.parquet",
    )

    customer_count = OutlitQueryOperator(
        task_id="customer_count",
        sql="SELECT count(*) AS customers FROM customers",
    )

    export_customers >> [top_paying, customer_count]
