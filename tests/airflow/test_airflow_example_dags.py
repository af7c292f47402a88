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


def _forbid_http(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make every request through httpx (the only HTTP client of the Outlit client) fail and be recorded."""
    import httpx

    urls: list[str] = []

    def refuse(self, request, *args, **kwargs):
        urls.append(str(request.url))
        raise AssertionError(f"HTTP request at DAG parse time: {request.method} {request.url}")

    async def arefuse(self, request, *args, **kwargs):
        refuse(self, request)

    monkeypatch.setattr(httpx.Client, "send", refuse)
    monkeypatch.setattr(httpx.AsyncClient, "send", arefuse)
    return urls


def test_every_example_dag_imports_without_errors_connection_lookups_or_http(monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    calls = _forbid_connection_lookups(monkeypatch)
    urls = _forbid_http(monkeypatch)
    bag = DagBag(dag_folder=str(DAGS_DIR))
    assert bag.import_errors == {}
    assert calls == []
    assert urls == []  # also catches a DAG file that swallows the error
    loaded = {Path(dag.fileloc).name for dag in bag.dags.values()}
    assert loaded == {p.name for p in DAG_FILES}
    for dag in bag.dags.values():
        assert dag.tags and "outlit" in dag.tags
        assert dag.doc_md, f"{dag.dag_id} has no doc_md"


def test_parse_time_guards_catch_an_api_call_in_a_dag_file(monkeypatch, tmp_path):
    """The integrity test above is only as good as its guards: a DAG that calls Outlit while being parsed
    must show up as an import error and a recorded request."""
    from airflow.dag_processing.dagbag import DagBag

    (tmp_path / "calls_outlit_at_parse.py").write_text(
        "from datetime import datetime\n"
        "from airflow.sdk import DAG\n"
        "from outlit_core.client import OutlitClient\n"
        "OutlitClient('ok_parse_time_key', base_url='http://127.0.0.1:9', max_retries=0).validate_api_key()\n"
        "with DAG(dag_id='bad', schedule=None, start_date=datetime(2026, 1, 1), tags=['outlit']):\n"
        "    pass\n"
    )
    _forbid_connection_lookups(monkeypatch)
    urls = _forbid_http(monkeypatch)
    bag = DagBag(dag_folder=str(tmp_path))
    assert len(urls) == 1 and "127.0.0.1:9" in urls[0], urls
    (error,) = bag.import_errors.values()
    assert "HTTP request at DAG parse time" in error


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
    from outlit_provider.sensors.integrations import OutlitIntegrationSyncSensor
    from outlit_provider.triggers.integrations import OutlitIntegrationSyncTrigger

    # Spies on both halves of the deferral: dag.test() runs the trigger in line (same process), through the
    # class it imports from the deferral's classpath, and then resumes the sensor in execute_complete.
    trigger_events: list[tuple[str, list[str] | None, dict]] = []
    resumed_with: list[object] = []
    real_run = OutlitIntegrationSyncTrigger.run
    real_complete = OutlitIntegrationSyncSensor.execute_complete

    async def spy_run(self):
        async for event in real_run(self):
            trigger_events.append((self.provider, self.models, event.payload))
            yield event

    def spy_complete(self, context, event=None):
        resumed_with.append(event)
        return real_complete(self, context, event)

    monkeypatch.setattr(OutlitIntegrationSyncTrigger, "run", spy_run)
    monkeypatch.setattr(OutlitIntegrationSyncSensor, "execute_complete", spy_complete)

    dag = example_bag.get_dag("outlit_integration_sync")
    sensor = dag.get_task("wait_for_stripe_sync")
    sensor.poke_interval, sensor.timeout = 0.01, 30
    # A data interval that ends before the sandbox clock, so the syncs the connect starts count as fresh.
    dag_run = dag.test(logical_date=datetime(2026, 1, 1, tzinfo=UTC))
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert set(states.values()) == {"success"}, states
    # The worker poke saw the sync unfinished and deferred: the trigger ran, for this provider and these
    # models, and yielded exactly one event, a success; the sensor resumed with that very event.
    assert len(trigger_events) == 1, trigger_events
    provider, models, payload = trigger_events[0]
    assert (provider, models) == ("stripe", ["StripeCustomer", "StripeSubscription"])
    assert payload["status"] == "success", payload
    assert resumed_with == [payload]
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
