"""Every example DAG as users try it first: ``airflow dags test <dag_id>`` with default dates, in a fresh
process, against a fresh sandbox, with the connections defined the way the docs show (issue 12.2)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

REPO_ROOT = Path(__file__).resolve().parents[2]
AIRFLOW = str(Path(sys.executable).parent / "airflow")
DAG_IDS = sorted(
    dag_id
    for path in (REPO_ROOT / "dags").glob("*.py")
    for dag_id in re.findall(r'dag_id="([^"]+)"', path.read_text())
)
# the asset-scheduled DAG reads what the extract wrote: its test runs the extract's DAG first, as users would
NEEDS_POSTGRES = ("outlit_warehouse_sync", "outlit_reverse_load_on_extract", "outlit_sharded_extract")


@pytest.fixture(scope="module")
def airflow_cli_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("airflow-cli-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "OUTLIT_"))}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(REPO_ROOT / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        AIRFLOW_VAR_OUTLIT_EXPORT_DIR=str(home / "exports"),
        AIRFLOW_CONN_STRIPE_FOR_OUTLIT=json.dumps({"conn_type": "generic", "password": "rk_test_cli_1"}),
        DLT_DATA_DIR=str(home / "dlt"),
        PROVIDERS__ENABLE_AIRFLOW_SECRETS="false",
    )
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
    return env


def _dags_test(
    dag_id: str, env: dict[str, str], sb: object, timeout: float
) -> subprocess.CompletedProcess[str]:
    host = sb.base_url.removeprefix("http://")  # the URI form from docs/airflow.md
    conn = f"outlit://:{sb.api_key}@{host}?public_key={sb.public_key}"
    return subprocess.run(
        [AIRFLOW, "dags", "test", dag_id],
        env={**env, "AIRFLOW_CONN_OUTLIT_DEFAULT": conn},
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=env["AIRFLOW_HOME"],
    )


def _params() -> list:
    out = []
    for dag_id in DAG_IDS:
        marks = [pytest.mark.postgres] if dag_id in NEEDS_POSTGRES else []
        out.append(pytest.param(dag_id, marks=marks, id=dag_id))
    return out


@pytest.mark.parametrize("dag_id", _params())
def test_airflow_dags_test_with_default_dates(dag_id, airflow_cli_env, request):
    import outlit_sandbox

    env = dict(airflow_cli_env)
    if dag_id in NEEDS_POSTGRES:
        # a database of its own: other tests load the same schemas into the shared test database
        url = request.getfixturevalue("make_database")("outlit_cli_" + dag_id)
        env["AIRFLOW_CONN_WAREHOUSE_POSTGRES"] = url.replace(
            "postgresql://postgres@", "postgres://postgres:trust@"
        )
    with outlit_sandbox.running(seed=5, customers=5, events_per_customer=20, facts_per_customer=4) as sb:
        if dag_id == "outlit_integration_sync":
            from outlit_core.client import OutlitClient

            with OutlitClient(api_key=sb.api_key, base_url=sb.base_url) as client:
                client.disconnect_integration("stripe")  # a new user's Stripe is not connected yet
        if dag_id == "outlit_reverse_load_on_extract":  # the extract it is scheduled on lands first
            first = _dags_test("outlit_warehouse_sync", env, sb, timeout=480)
            assert first.returncode == 0, (first.stdout + first.stderr)[-4000:]
        # the sandbox clock moves with wall time: a sync lands within a minute, the sensor pokes every 60 s
        out = _dags_test(dag_id, env, sb, timeout=480)
    tail = (out.stdout + out.stderr)[-4000:]
    assert out.returncode == 0, tail  # `airflow dags test` exits with "DagRun failed" otherwise
    assert sb.api_key not in out.stdout + out.stderr
