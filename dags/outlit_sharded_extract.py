"""Sharded extraction: Outlit -> Postgres with one dlt pipeline per shard of customers, in parallel.

1. ``list_shards`` lists every customer id (one paged ``outlit_list_customers`` walk) and puts each into
   one of ``SHARDS`` shards by a stable hash of its id, so a customer stays in its shard from run to run
   and the shard's incremental cursors keep matching it.
2. ``load_shared_tables`` loads the tables that are not per customer (customers, users, workspace_users,
   integrations, integration_syncs) once, with a pipeline of its own.
3. ``extract_shard`` is mapped over the shards (``.expand``): each mapped task runs
   ``outlit_source(customers=<its ids>).with_resources("timeline", "facts")`` with a pipeline named after
   its shard (``outlit_shard_<i>_of_<N>``), so each shard has its own dlt state, can run on another worker
   at the same time, and can be cleared and rerun alone. All write into the same ``outlit_data`` tables
   (merge on primary key), so the union of the shards is what one full run loads.

Rate limit: every shard (and the shared task) calls the same Outlit API, so they share one budget.
``TOTAL_REQUESTS_PER_SECOND`` is that budget; each running task gets an equal part of it (see
docs/airflow.md, "Sharded extraction"). ``MAX_ACTIVE_SHARDS`` bounds how many shards run at once.

Setup: ``outlit_default`` and a Postgres connection ``warehouse_postgres`` (as ``outlit_warehouse_sync``).
Nothing here calls an API or looks a connection up when the file is parsed; dlt is imported inside tasks.
"""

from __future__ import annotations

import zlib
from typing import Any

from _outlit_examples import example_dag_args
from airflow.sdk import DAG, task

WAREHOUSE_CONN_ID = "warehouse_postgres"
DATASET = "outlit_data"
SHARDS = 4
MAX_ACTIVE_SHARDS = 4  # shards running at once in one DAG run (use a pool to bound them across DAGs)
TOTAL_REQUESTS_PER_SECOND = 20.0  # what all tasks of a run may send together: below your plan's limit
MAX_WORKERS_PER_SHARD = 4  # requests in flight at once within one shard
SHARED_TABLES = ("customers", "users", "workspace_users", "integrations", "integration_syncs")
SHARD_TABLES = ("timeline", "facts")


def shard_of(customer_id: str, shards: int = SHARDS) -> int:
    """The shard a customer belongs to: stable across runs, processes and Python versions (unlike hash())."""
    return zlib.crc32(customer_id.encode()) % shards


def split_into_shards(customer_ids: list[str], shards: int = SHARDS) -> list[dict[str, Any]]:
    """``{"shard": i, "of": N, "customers": [...]}`` for every shard that has customers."""
    buckets: list[list[str]] = [[] for _ in range(shards)]
    for customer_id in sorted(set(customer_ids)):
        buckets[shard_of(customer_id, shards)].append(customer_id)
    return [{"shard": i, "of": shards, "customers": ids} for i, ids in enumerate(buckets) if ids]


def per_task_requests_per_second() -> float:
    """Each running task's part of the shared budget: the shards that may run at once split it."""
    return TOTAL_REQUESTS_PER_SECOND / min(SHARDS, MAX_ACTIVE_SHARDS)


def _run_pipeline(
    pipeline_name: str, staging_suffix: str, requests_per_second: float, **source_options: Any
) -> dict[str, int]:
    # Imported here: DAG parsing must not pay for dlt.
    import dlt
    from airflow.sdk import BaseHook

    from dlt_sources.outlit import outlit_source
    from dlt_sources.outlit.loading import run_fast
    from outlit_provider.hooks.outlit import OutlitHook

    tables = source_options.pop("tables")
    source = outlit_source(
        **OutlitHook().get_settings().source_kwargs(),
        requests_per_second=requests_per_second,
        max_workers=MAX_WORKERS_PER_SHARD,
        **source_options,
    ).with_resources(*tables)
    warehouse = BaseHook.get_connection(WAREHOUSE_CONN_ID)
    credentials = warehouse.get_uri().replace("postgres://", "postgresql://", 1)
    # dlt stages merges in "<dataset>_staging" by default: shards loading at the same time need their own
    destination = dlt.destinations.postgres(
        credentials, staging_dataset_name_layout=f"%s_staging_{staging_suffix}"
    )
    pipeline = dlt.pipeline(pipeline_name=pipeline_name, destination=destination, dataset_name=DATASET)
    run_fast(pipeline, source)
    # a small XCom value: rows this run loaded per table
    trace = pipeline.last_trace
    counts = trace.last_normalize_info.row_counts if trace and trace.last_normalize_info else {}
    return {t: n for t, n in counts.items() if not t.startswith("_dlt")}


def extract_one_shard(shard: dict[str, Any]) -> dict[str, int]:
    """Load one shard's timeline and facts with the shard's own pipeline (own dlt state)."""
    name = f"shard_{shard['shard']}_of_{shard['of']}"
    return _run_pipeline(
        f"outlit_{name}",
        name,
        per_task_requests_per_second(),
        customers=shard["customers"],
        tables=SHARD_TABLES,
    )


with DAG(
    dag_id="outlit_sharded_extract",
    schedule="@daily",
    doc_md=__doc__,
    # each shard's dlt state expects one run at a time
    **example_dag_args("dlt", "sharding", max_active_runs=1),
) as dag:

    @task
    def list_shards() -> list[dict[str, Any]]:
        from outlit_provider.hooks.outlit import OutlitHook

        with OutlitHook().get_client() as client:
            ids = [c["id"] for c in client.iter_tool("outlit_list_customers")]
        return split_into_shards(ids)

    @task(retries=2)
    def load_shared_tables() -> dict[str, int]:
        # it runs before the shards, alone: the whole budget is its own
        return _run_pipeline("outlit_shared", "shared", TOTAL_REQUESTS_PER_SECOND, tables=SHARED_TABLES)

    # retries: the first run of several shards may race to create the same tables; a retry finds them made
    @task(retries=2, max_active_tis_per_dagrun=MAX_ACTIVE_SHARDS)
    def extract_shard(shard: dict[str, Any]) -> dict[str, int]:
        return extract_one_shard(shard)

    shards = list_shards()
    load_shared_tables() >> shards
    extract_shard.expand(shard=shards)
