"""Inspect and prepare Outlit platform configuration (agents, automations, signals, destinations).

Shows OutlitPlatformActionOperator: read actions, a draft agent created from a template, and an explicit
enable of the agent the create step returned (its id flows through XCom). Pairs that do not exist, such as
``signals``/``enable``, fail when this file is parsed, not when it runs.
"""

from __future__ import annotations

from _outlit_examples import example_dag_args
from airflow.sdk import DAG

from outlit_provider.operators.platform import OutlitPlatformActionOperator

with DAG(
    dag_id="outlit_platform_admin",
    schedule=None,
    doc_md=__doc__,
    **example_dag_args(),
) as dag:
    templates = OutlitPlatformActionOperator(
        task_id="list_agent_templates", resource="agent-templates", action="list"
    )
    automations = OutlitPlatformActionOperator(
        task_id="list_automations", resource="automations", action="list"
    )
    signals = OutlitPlatformActionOperator(task_id="list_signals", resource="signals", action="list")
    destinations = OutlitPlatformActionOperator(
        task_id="list_destinations", resource="destinations", action="list"
    )

    create_agent = OutlitPlatformActionOperator(
        task_id="create_churn_agent",
        resource="agents",
        action="create",
        body={"type": "template", "templateKey": "churn"},
    )

    enable_agent = OutlitPlatformActionOperator(
        task_id="enable_churn_agent",
        resource="agents",
        action="enable",
        resource_id="{{ ti.xcom_pull(task_ids='create_churn_agent')['agent']['id'] }}",
    )

    # Read everything first so the task logs show the state before this DAG changed it.
    [templates, automations, signals, destinations] >> create_agent >> enable_agent
