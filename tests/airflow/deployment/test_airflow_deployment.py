"""Airflow 3 as users run it: api-server, scheduler, dag-processor and triggerer in separate processes,
LocalExecutor, Postgres metadata DB, the example DAGs, a sandbox; every run triggered through the REST API.

The tests share one deployment (module scope) and run in file order; each waits with a bound.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(1500)]

REPO_ROOT = Path(__file__).resolve().parents[3]
# every DAG id written in the example files (dags/_outlit_examples.py, their shared arguments, has none)
EXAMPLE_DAGS = {
    dag_id
    for p in (REPO_ROOT / "dags").glob("*.py")
    for dag_id in re.findall(r'dag_id="([^"]+)"', p.read_text())
}
ON_ASSET = "outlit_reverse_load_on_extract"  # scheduled on the extract's Asset
EXAMPLE_DAGS.add(ON_ASSET)
TEST_DAGS = {"deploy_sync_metadb", "deploy_ingest_outlit_default", "deploy_ingest_outlit_noretry"}
# A past logical date keeps the sensors' default synced_after (the data interval end) before the
# sandbox clock, so a sync the run starts counts as fresh.
PAST = "2026-01-01T00:00:00Z"


def _client(sb):
    from outlit_core.client import OutlitClient

    return OutlitClient(api_key=sb.api_key, base_url=sb.base_url, public_key=sb.public_key)


def test_every_example_dag_runs_green_under_scheduler_and_triggerer(airflow_deployment, deployment_sandbox):
    d, sb = airflow_deployment, deployment_sandbox
    d.wait_for_dags(EXAMPLE_DAGS | TEST_DAGS)
    # A second Outlit connection the way the UI or `airflow connections add` stores it: in the metadata DB.
    d.call(
        "POST",
        "/connections",
        json={
            "connection_id": "outlit_metadb",
            "conn_type": "outlit",
            "password": sb.api_key,
            "extra": json.dumps({"base_url": sb.base_url, "max_retries": 2}),
        },
    )
    tested = d.cli("connections", "test", "outlit_metadb")
    assert "Connection success" in tested.stdout, tested

    with _client(sb) as client:
        client.disconnect_integration("stripe")  # so the example's sensor sees PENDING and defers
        client.connect_integration("granola", {"apiKey": "gr_deploy_key_123"})
    # The sync DAGs run first: the extract DAGs read every connected provider's sync status
    # (integration_syncs), which moves the sandbox's pending first sync along; run alongside, they could
    # complete it before a sensor's first poke, and the sensor would then never defer.
    sync_dags = ("outlit_integration_sync", "deploy_sync_metadb")
    runs = {dag_id: d.trigger(dag_id, logical_date=PAST) for dag_id in sync_dags}
    states = {dag_id: d.wait_for_run(dag_id, runs[dag_id]) for dag_id in sync_dags}
    for dag_id in sorted(EXAMPLE_DAGS - {ON_ASSET} - set(sync_dags)):
        runs[dag_id] = d.trigger(dag_id)
    states.update({dag_id: d.wait_for_run(dag_id, runs[dag_id]) for dag_id in runs if dag_id not in states})
    failed = {k: d.task_instances(k, runs[k]) for k, v in states.items() if v != "success"}
    assert not failed, {k: {t: ti["state"] for t, ti in tis.items()} for k, tis in failed.items()}
    d.runs = runs  # for the tests below

    # Data-aware scheduling: the extract's outlet queued a run of the DAG scheduled on its Asset. (This
    # deployment creates no runs by itself, so the test starts it, as the scheduler would.)
    queued = d.call("GET", f"/dags/{ON_ASSET}/assets/queuedEvents")["queued_events"]
    assert [e["asset_id"] for e in queued], queued
    assets = {a["id"]: a["name"] for a in d.call("GET", "/assets", params={"limit": 100})["assets"]}
    assert {assets[e["asset_id"]] for e in queued} == {"warehouse_postgres.outlit_data.customers"}
    runs[ON_ASSET] = d.trigger(ON_ASSET)
    assert d.wait_for_run(ON_ASSET, runs[ON_ASSET]) == "success", d.task_instances(ON_ASSET, runs[ON_ASSET])


@pytest.mark.parametrize(
    ("dag_id", "task_id"),
    [
        pytest.param("outlit_integration_sync", "wait_for_stripe_sync", id="conn-from-env-var"),
        pytest.param("deploy_sync_metadb", "wait_for_granola", id="conn-from-metadata-db"),
    ],
)
def test_sensor_deferred_and_its_trigger_ran_in_the_triggerer(airflow_deployment, dag_id, task_id):
    import sqlalchemy as sa

    d = airflow_deployment
    run_id = d.runs[dag_id]
    ti = d.task_instances(dag_id, run_id)[task_id]
    assert (ti["state"], ti["try_number"]) == ("success", 1), ti
    # The triggerer writes a trigger's log beside the task's log, suffixed with its own job id.
    task_dir = d.workdir / "home" / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
    trigger_log = _trigger_log(task_dir)
    job_id = int(trigger_log.name.rsplit(".", 2)[-2])
    engine = sa.create_engine(d.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    with engine.connect() as conn:
        job_type = conn.execute(sa.text("SELECT job_type FROM job WHERE id = :id"), {"id": job_id}).scalar()
    engine.dispose()
    assert job_type == "TriggererJob"
    trigger_text = trigger_log.read_text()
    # The trigger built its client in the triggerer from the sensor's connection (outlit_default from the
    # environment; outlit_metadb, which only the metadata DB holds), polled, and fired success.
    assert "Trigger fired event" in trigger_text and "'status': 'success'" in trigger_text, trigger_text
    assert "synced successfully" in trigger_text
    worker_log = (task_dir / "attempt=1.log").read_text()
    assert "Pausing task as DEFERRED" in worker_log  # the worker's poke saw PENDING and handed over
    assert "synced successfully" in worker_log  # execute_complete logged the trigger's message on resume


def test_task_logs_never_contain_the_api_key(airflow_deployment, deployment_sandbox):
    d = airflow_deployment
    files = [*d.log_files(), *d.workdir.glob("*.log")]
    assert len(files) > 20
    leaked = [str(p) for p in files if deployment_sandbox.api_key in p.read_text(errors="replace")]
    assert leaked == []


def test_a_run_killed_mid_ingest_leaves_no_half_sent_batch(airflow_deployment, deployment_sandbox):
    d, sb = airflow_deployment, deployment_sandbox
    dag_id = "deploy_ingest_outlit_default"
    before = sb.stats()["ingest"]["stored"]
    sb.configure(fault_rate=1.0, fault_kinds=["slow"], slow_seconds=0.5)  # every request takes 0.5 s
    try:
        run_id = d.trigger(dag_id, conf={"count": 3000})
        d.wait_until(
            "the first batches to arrive", lambda: sb.stats()["ingest"]["stored"] >= before + 200, timeout=240
        )
        d.call(
            "PATCH",
            f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/send",
            json={"new_state": "failed"},
        )
        assert d.wait_for_run(dag_id, run_id) == "failed"
        d.wait_until("the killed task's process to end", lambda: _quiet(sb), timeout=60)
    finally:
        sb.configure(fault_rate=0.0)
    stored = sb.stats()["ingest"]["stored"] - before
    assert 200 <= stored < 3000
    assert stored % 100 == 0, stored  # whole batches only
    log = d.task_log(dag_id, run_id, "send")
    assert "Kill requested" in log, log[-3000:]

    # Clearing the task reruns it: the rest arrives, and what arrived before is dropped as duplicates.
    dup_before = sb.stats()["ingest"]["duplicates"]
    d.call(
        "POST",
        f"/dags/{dag_id}/clearTaskInstances",
        json={"dag_run_id": run_id, "task_ids": ["send"], "dry_run": False, "reset_dag_runs": True},
    )
    assert d.wait_for_run(dag_id, run_id) == "success"
    ingest = sb.stats()["ingest"]
    assert ingest["stored"] - before == 3000
    assert ingest["duplicates"] - dup_before == stored


def _quiet(sb) -> bool:
    first = sb.stats()["ingest"]["requests"]
    time.sleep(2)
    return sb.stats()["ingest"]["requests"] == first


def test_a_task_retried_after_5xx_stores_no_event_twice(airflow_deployment, deployment_sandbox):
    d, sb = airflow_deployment, deployment_sandbox
    dag_id = "deploy_ingest_outlit_noretry"
    before = sb.stats()["ingest"]
    # 503s before handling and dropped answers after storing: without client retries each fails the try
    sb.configure(fault_rate=0.2, fault_kinds=["503", "drop"])
    try:
        run_id = d.trigger(dag_id, conf={"count": 500})
        state = d.wait_for_run(dag_id, run_id)
    finally:
        sb.configure(fault_rate=0.0)
    ti = d.task_instances(dag_id, run_id)["send"]
    assert (state, ti["state"]) == ("success", "success"), ti
    assert ti["try_number"] > 1, "no try failed: the fault rate did not bite"
    after = sb.stats()["ingest"]
    assert after["stored"] - before["stored"] == 500
    assert after["accepted"] - before["accepted"] == 500


def _trigger_log(task_dir: Path, wait: float = 60.0) -> Path:
    """The trigger's log file; the triggerer may write it a little after the task it resumed has finished."""
    deadline = time.monotonic() + wait
    while True:
        found = sorted(task_dir.glob("attempt=1.log.trigger.*.log"))
        if len(found) == 1 or time.monotonic() > deadline:
            break
        time.sleep(1)
    listing = sorted(p.name for p in task_dir.iterdir()) if task_dir.is_dir() else "no such directory"
    assert len(found) == 1, f"expected one trigger log in {task_dir}: {listing}"
    return found[0]
