"""Airflow test setup: an isolated AIRFLOW_HOME with a sqlite metadata DB, and an ``outlit_default``
connection pointed at a sandbox through ``AIRFLOW_CONN_OUTLIT_DEFAULT``.

The Airflow environment itself (AIRFLOW_HOME, sqlite DB, no examples) is set by the root conftest, before
any test area imports Airflow.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """Create the metadata tables once per session (about 2 s on sqlite); needed by ``dag.test()``."""
    from airflow.utils import db

    db.initdb()


@pytest.fixture(scope="session")
def make_database(postgres_url: str):
    """Create (or recreate) a database of its own on the test cluster; returns its URL."""

    def make(name: str) -> str:
        import sqlalchemy as sa

        engine = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return postgres_url.rsplit("/", 1)[0] + "/" + name

    return make


def outlit_conn_json(sb: object, **extra: object) -> str:
    """The JSON form of an ``outlit`` connection for a sandbox."""
    extras = {"base_url": sb.base_url, "public_key": sb.public_key, "max_retries": 2, **extra}
    return json.dumps({"conn_type": "outlit", "password": sb.api_key, "extra": extras})


@pytest.fixture
def outlit_conn(sandbox: object, monkeypatch: pytest.MonkeyPatch) -> object:
    """``outlit_default`` pointing at the shared, read-only sandbox."""
    monkeypatch.setenv("AIRFLOW_CONN_OUTLIT_DEFAULT", outlit_conn_json(sandbox))
    return sandbox


@pytest.fixture
def fresh_conn(fresh_sandbox: object, monkeypatch: pytest.MonkeyPatch) -> object:
    """``outlit_default`` pointing at a sandbox of the test's own (it may change state)."""
    monkeypatch.setenv("AIRFLOW_CONN_OUTLIT_DEFAULT", outlit_conn_json(fresh_sandbox))
    return fresh_sandbox


class FakeTI:
    """The slice of a task instance the operators touch: ids and xcom_push."""

    def __init__(self, task_id: str = "t") -> None:
        self.dag_id = "test_dag"
        self.task_id = task_id
        self.run_id = "manual__2026-01-01"
        self.map_index = -1
        self.pushed: dict[str, object] = {}

    def get_first_reschedule_date(self, context: object) -> None:
        return None

    def xcom_push(self, key: str, value: object) -> None:
        json.dumps(value)  # XCom must be JSON-able; fail the test like the real backend would
        self.pushed[key] = value


@pytest.fixture
def context() -> Iterator[dict[str, object]]:
    """A minimal execution context for calling ``execute`` directly."""
    yield {"ti": FakeTI(), "data_interval_end": None, "dag_run": None}


@pytest.fixture(autouse=True)
def _keep_dlt_dirs() -> Iterator[None]:
    """dlt's ``PipelineTasksGroup`` (dags/outlit_dlt_airflow_helper.py) sets DLT_DATA_DIR / DLT_PROJECT_DIR in
    the process that parses the DAG file; undo that so later tests find their own ``.dlt`` settings."""
    saved = {name: os.environ.get(name) for name in ("DLT_DATA_DIR", "DLT_PROJECT_DIR")}
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
