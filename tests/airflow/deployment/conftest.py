"""A real Airflow 3 deployment for the slow tests: api-server, scheduler, dag-processor and triggerer as
separate processes, LocalExecutor, a Postgres metadata database and a sandbox, all on loopback.

Everything is started by the fixture and stopped by the process-group id it started (never by name).
Nothing in here imports Airflow: the test talks to the deployment the way a user does, through the
``airflow`` command line and the REST API.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import sandbox_running

REPO_ROOT = Path(__file__).resolve().parents[3]
AIRFLOW = str(Path(sys.executable).parent / "airflow")
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
PASSWORD = "deployment-test-password"
# Every wait in the deployment is bounded; the whole module stays well under pytest's per-test timeout.
START_TIMEOUT = 420.0
RUN_TIMEOUT = 480.0
TERMINAL = {"success", "failed"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AirflowDeployment:
    """Airflow's own components as child processes, plus a REST client logged in as a user would be."""

    def __init__(self, workdir: Path, env: dict[str, str], api_port: int) -> None:
        self.workdir = workdir
        self.env = env
        self.api = f"http://127.0.0.1:{api_port}"
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.http = httpx.Client(base_url=self.api, timeout=30)

    # -- processes ---------------------------------------------------------------------------------------

    def cli(self, *args: str, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        out = subprocess.run(
            [AIRFLOW, *args], env=self.env, capture_output=True, text=True, timeout=timeout, cwd=self.workdir
        )
        if check and out.returncode != 0:
            raise RuntimeError(
                f"airflow {' '.join(args)} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
            )
        return out

    def start(self, component: str, env: dict[str, str] | None = None) -> None:
        log = open(self.workdir / f"{component}.log", "ab")  # noqa: SIM115 - closed with the process
        # Its own session, so stop() can end the component and the children it forks by their group id.
        self.procs[component] = subprocess.Popen(
            [AIRFLOW, component],
            env={**self.env, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            start_new_session=True,
        )
        log.close()

    def stop(self, component: str) -> None:
        proc = self.procs.pop(component)
        for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=wait)
                # children of the group may outlive the leader for a moment: make sure they go too
                os.killpg(proc.pid, signal.SIGKILL)
            except subprocess.TimeoutExpired:
                continue
            except ProcessLookupError:
                pass
            break
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for component in list(self.procs):
            self.stop(component)
        self.http.close()

    def log_tail(self, chars: int = 2500) -> str:
        parts = []
        for component in COMPONENTS:
            path = self.workdir / f"{component}.log"
            if path.exists():
                parts.append(f"--- {component} ---\n{path.read_text(errors='replace')[-chars:]}")
        return "\n".join(parts)

    # -- REST API ------------------------------------------------------------------------------------------

    def login(self) -> None:
        response = self.http.post("/auth/token", json={"username": "admin", "password": PASSWORD})
        response.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, "/api/v2" + path, **kwargs)
        if response.status_code >= 400:
            raise AssertionError(f"{method} {path} -> {response.status_code}: {response.text[:2000]}")
        return response.json() if response.content else None

    def wait_until(self, what: str, check: Any, timeout: float = START_TIMEOUT, every: float = 1.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = check()
            except (httpx.HTTPError, AssertionError):
                value = None
            if value:
                return value
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"airflow {name} exited ({proc.returncode})\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {timeout:.0f}s for {what}\n{self.log_tail()}")
            time.sleep(every)

    def healthy(self) -> bool:
        health = self.http.get("/api/v2/monitor/health").json()
        return all(
            health.get(part, {}).get("status") == "healthy"
            for part in ("metadatabase", "scheduler", "triggerer", "dag_processor")
        )

    def wait_for_dags(self, dag_ids: set[str]) -> None:
        def parsed() -> bool:
            dags = self.call("GET", "/dags", params={"limit": 100})["dags"]
            errors = self.call("GET", "/importErrors")["import_errors"]
            if errors:
                raise RuntimeError(f"DAG import errors in the deployment: {errors}")
            return dag_ids <= {d["dag_id"] for d in dags}

        self.wait_until(f"the DAGs {sorted(dag_ids)}", parsed)

    def trigger(self, dag_id: str, *, logical_date: str | None = None, conf: dict | None = None) -> str:
        body: dict[str, Any] = {"logical_date": logical_date, "conf": conf or {}}
        return self.call("POST", f"/dags/{dag_id}/dagRuns", json=body)["dag_run_id"]

    def run_state(self, dag_id: str, run_id: str) -> str:
        return self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = RUN_TIMEOUT) -> str:
        return self.wait_until(
            f"run {dag_id}/{run_id} to finish",
            lambda: (s := self.run_state(dag_id, run_id)) in TERMINAL and s,
            timeout=timeout,
        )

    def task_instances(self, dag_id: str, run_id: str) -> dict[str, dict[str, Any]]:
        items = self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 100})
        return {
            ti["task_id"] + ("" if ti["map_index"] < 0 else f"[{ti['map_index']}]"): ti
            for ti in items["task_instances"]
        }

    def task_log(
        self, dag_id: str, run_id: str, task_id: str, try_number: int = 1, map_index: int = -1
    ) -> str:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}"
        response = self.http.get(
            "/api/v2" + path, params={"map_index": map_index}, headers={"Accept": "application/json"}
        )
        response.raise_for_status()
        return json.dumps(response.json())

    def log_files(self) -> list[Path]:
        return sorted(p for p in (self.workdir / "home" / "logs").rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def deployment_sandbox() -> Iterator[Any]:
    """The sandbox in a process of its own, as the real API would be."""
    yield from sandbox_running(
        seed=11, customers=6, events_per_customer=30, facts_per_customer=4, subprocess=True
    )


@pytest.fixture(scope="module")
def airflow_deployment(make_database: Any, deployment_sandbox: Any) -> Iterator[AirflowDeployment]:
    pytest.importorskip("airflow")
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="outlit-airflow-deploy-"))
    home = workdir / "home"
    dags = workdir / "dags"
    home.mkdir()
    dags.mkdir()
    # The example DAGs as shipped, plus the test's own DAGs beside them (same folder, as users deploy).
    for item in (REPO_ROOT / "dags").iterdir():
        if item.name != "__pycache__":
            (dags / item.name).symlink_to(item)
    for item in (Path(__file__).parent / "dags").glob("*.py"):
        (dags / item.name).symlink_to(item)
    (home / "passwords.json").write_text(json.dumps({"admin": PASSWORD}))

    metadata_url = make_database("airflow_meta")
    warehouse_url = make_database("outlit_warehouse")
    api_port = free_port()
    sb = deployment_sandbox
    # The Outlit connection as users define it: an environment variable, in every component.
    outlit_env_conn = {
        "conn_type": "outlit",
        "password": sb.api_key,
        "extra": {"base_url": sb.base_url, "public_key": sb.public_key, "max_retries": 2},
    }
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "OUTLIT_"))}
    env = {
        **base,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url.replace(
            "postgresql://", "postgresql+psycopg2://"
        ),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(16),
        # Only the runs the test triggers: no surprise scheduled runs of the example DAGs.
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": str(workdir / "openlineage.jsonl"), "append": True}
        ),
        "AIRFLOW_CONN_OUTLIT_DEFAULT": json.dumps(outlit_env_conn),
        # the same API without client retries: a 5xx fails the task, and Airflow's task retry takes over
        "AIRFLOW_CONN_OUTLIT_NORETRY": json.dumps(
            {**outlit_env_conn, "extra": {**outlit_env_conn["extra"], "max_retries": 0}}
        ),
        "AIRFLOW_CONN_STRIPE_FOR_OUTLIT": json.dumps({"conn_type": "generic", "password": "rk_deploy_1"}),
        "AIRFLOW_CONN_WAREHOUSE_POSTGRES": warehouse_url.replace(
            "postgresql://postgres@", "postgres://postgres:trust@"
        ),
        "AIRFLOW_VAR_OUTLIT_EXPORT_DIR": str(workdir / "exports"),
        "DLT_DATA_DIR": str(workdir / "dlt"),
        "PYTHONPATH": str(REPO_ROOT),
    }
    deployment = AirflowDeployment(workdir, env, api_port)
    try:
        deployment.cli("db", "migrate", timeout=300)
        for component in COMPONENTS:
            deployment.start(component)
        deployment.wait_until("the api-server", lambda: deployment.http.get("/api/v2/version").is_success)
        deployment.login()
        deployment.wait_until("every component to report healthy", deployment.healthy)
        deployment.startup_seconds = time.monotonic() - started  # type: ignore[attr-defined]
        yield deployment
    finally:
        deployment.stop_all()
        if os.environ.get("OUTLIT_KEEP_DEPLOYMENT"):
            print(f"deployment left in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
