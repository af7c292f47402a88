"""The Outlit dlt source run the way dlt documents deploying to Airflow: ``PipelineTasksGroup``.

``dlt.helpers.airflow_helper.PipelineTasksGroup`` gives each task a fresh dlt working directory, sends dlt's
logs to the task log, retries failed load steps and keeps the load info. The pipeline loads into a DuckDB
file (``outlit_helper.duckdb`` in ``$AIRFLOW_HOME``, or the path in ``OUTLIT_DUCKDB_PATH``); its dlt state
lives in that database too, so every run is incremental even though the working directory is new.

The source is handed to the group as a function: it is built when the task runs, so the Outlit connection
(``outlit_default``) is looked up on the worker, never while the scheduler parses this file. dlt documents
``decompose="serialize"`` too; that needs the source object at parse time (and so the API key), so this
example runs the whole source as one task. For parallel extraction see ``outlit_sharded_extract``.

Unlike the other examples this file imports dlt at parse time: ``PipelineTasksGroup`` builds its tasks from
a ``dlt.pipeline`` object. It also sets ``DLT_DATA_DIR``/``DLT_PROJECT_DIR`` in the parsing process.
"""

from __future__ import annotations

import os
from pathlib import Path

import dlt
from _outlit_examples import example_dag_args
from airflow.sdk import DAG
from dlt.helpers.airflow_helper import PipelineTasksGroup

DUCKDB_PATH = os.environ.get("OUTLIT_DUCKDB_PATH") or str(
    Path(os.environ.get("AIRFLOW_HOME") or Path.home() / "airflow") / "outlit_helper.duckdb"
)


def outlit_from_connection() -> dlt.sources.DltSource:
    """The Outlit source with the API key and URL of ``outlit_default``, built on the worker."""
    from dlt_sources.outlit import outlit_source
    from outlit_provider.hooks.outlit import OutlitHook

    return outlit_source(**OutlitHook().get_settings().source_kwargs())


with DAG(
    dag_id="outlit_dlt_airflow_helper",
    schedule="@daily",
    doc_md=__doc__,
    # one dlt state, one run at a time
    **example_dag_args("dlt", max_active_runs=1),
) as dag:
    # dlt's defaults: task logger, retry the load step, wipe the working directory afterwards
    tasks = PipelineTasksGroup("outlit_helper", use_data_folder=False, wipe_local_data=True)
    # created after the group: it puts the pipeline in the group's fresh working directory
    pipeline = dlt.pipeline(
        pipeline_name="outlit_helper",
        destination=dlt.destinations.duckdb(DUCKDB_PATH),
        dataset_name="outlit_data",
    )
    # retries=0: the group already retries the load step inside the task, as dlt documents
    tasks.add_run(pipeline, outlit_from_connection, decompose="none", retries=0)
