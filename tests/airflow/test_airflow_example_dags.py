"""The example DAGs: they import cleanly without any connection lookup, and run under ``dag.test()``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
DAG_FILES = sorted(p for p in DAGS_DIR.glob("*.py") if not p.name.startswith("_"))


def _forbid_connection_lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    from airflow.sdk import BaseHook
    from airflow.sdk.definitions.connection import Connection

    calls: list[str] = []

    def refuse(*args, **kwargs):
        calls.append(repr(args))
        raise AssertionError(f"connection looked up at DAG parse time: {args!r}")

    monkeypatch.setattr(Connection, "get", classmethod(lambda cls, *a, **k: refuse(*a, **k)))
    monkeypatch.setattr(BaseHook, "get_connection", classmethod(lambda cls, *a, **k: refuse(*a, **k)))
    monkeypatch.delenv("AIRFLOW_CONN_OUTLIT_DEFAULT", raising=False)
    return calls


def test_every_example_dag_imports_without_errors_or_connection_lookups(monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    calls = _forbid_connection_lookups(monkeypatch)
    bag = DagBag(dag_folder=str(DAGS_DIR))
    assert bag.import_errors == {}
    assert calls == []
    loaded = {Path(dag.fileloc).name for dag in bag.dags.values()}
    assert loaded == {p.name for p in DAG_FILES}
    for dag in bag.dags.values():
        assert dag.tags and "outlit" in dag.tags
        assert dag.doc_md, f"{dag.dag_id} has no doc_md"


@pytest.fixture
def example_bag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR))


def test_dag_test_customer_export_against_sandbox(
    airflow_db, outlit_conn, example_bag, monkeypatch, tmp_path
):
    monkeypatch.setenv("AIRFLOW_VAR_OUTLIT_EXPORT_DIR", str(tmp_path))
    dag = example_bag.get_dag("outlit_customer_export")
    dag_run = dag.test()
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert set(states.values()) == {"success"}, states
    (day_dir,) = tmp_path.iterdir()
    customers = [json.loads(line) for line in (day_dir / "customers.jsonl").read_text().splitlines()]
    assert customers and all(c["billingStatus"] == "PAYING" for c in customers)
    assert (day_dir / "top_paying.parquet").stat().st_size > 0


def test_dag_test_integration_sync_with_deferral(airflow_db, fresh_conn, example_bag, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_STRIPE_FOR_OUTLIT", json.dumps({"conn_type": "generic", "password": "rk_test_stripe_1"})
    )
    from outlit_provider.hooks.outlit import OutlitHook

    # Start disconnected so the DAG really connects and the sensor sees PENDING first and defers.
    with OutlitHook().get_client() as client:
        client.disconnect_integration("stripe")
    dag = example_bag.get_dag("outlit_integration_sync")
    sensor = dag.get_task("wait_for_stripe_sync")
    sensor.poke_interval, sensor.timeout = 0.01, 30
    # A data interval that ends before the sandbox clock, so the syncs the connect starts count as fresh.
    dag_run = dag.test(logical_date=datetime(2026, 1, 1, tzinfo=UTC))
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert set(states.values()) == {"success"}, states
    # Worker poke saw PENDING and deferred; the trigger's poll saw SUCCESS.
    requests = fresh_conn.stats()["requests"]
    assert sum(n for route, n in requests.items() if "sync-status" in route) >= 2, requests


def test_dag_test_ingest_events_against_sandbox(airflow_db, fresh_conn, example_bag):
    dag_run = example_bag.get_dag("outlit_ingest_events").test()
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert set(states.values()) == {"success"}, states
    assert fresh_conn.stats()["ingest"]["accepted"] == 4


def test_dag_test_platform_admin_against_sandbox(airflow_db, fresh_conn, example_bag):
    dag_run = example_bag.get_dag("outlit_platform_admin").test()
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert set(states.values()) == {"success"}, states


@pytest.mark.postgres
def test_dag_test_warehouse_round_trip_against_sandbox_and_postgres(
    airflow_db, fresh_conn, example_bag, postgres_url, monkeypatch, tmp_path
):
    """extract (dlt -> Postgres) >> score (SQL) >> send (SqlToOutlitOperator), twice: the rerun sends 0."""
    import sqlalchemy as sa

    # dlt insists on a password; the test cluster trusts loopback, so any will do.
    airflow_uri = postgres_url.replace("postgresql://postgres@", "postgres://postgres:trust@")
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_POSTGRES", airflow_uri)
    monkeypatch.setenv("PROVIDERS__ENABLE_AIRFLOW_SECRETS", "false")
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt"))  # keep the user's ~/.dlt out of it
    dag = example_bag.get_dag("outlit_warehouse_sync")
    customers = len(fresh_conn.dataset()["customers"])

    for day in (1, 2):  # the second night: nothing new upstream, nothing changed, nothing sent
        run = dag.test(logical_date=datetime(2026, 3, day, tzinfo=UTC))
        states = {ti.task_id: ti.state for ti in run.get_task_instances()}
        assert set(states.values()) == {"success"}, states
    assert fresh_conn.stats()["ingest"]["accepted"] == customers

    engine = sa.create_engine(postgres_url)
    with engine.connect() as conn:
        ledger = conn.execute(sa.text("SELECT count(*) FROM analytics._outlit_sync_ledger")).scalar()
        sent = conn.execute(
            sa.text("SELECT sent_count FROM analytics._outlit_sync_runs ORDER BY started_at")
        ).scalars()
        sent = list(sent)
        loaded = conn.execute(sa.text("SELECT count(*) FROM outlit_data.customers")).scalar()
    engine.dispose()
    assert loaded == customers
    assert ledger == customers
    assert sent == [customers, 0]
