"""dlt on Airflow (issue 12.3): the sharded extraction DAG loads exactly what one full run loads, one shard
can be rerun alone, and the ``PipelineTasksGroup`` example runs the source the way dlt documents."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
DLT_COLUMNS = {"_dlt_load_id", "_dlt_id"}


def _dag_module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", DAGS_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _dag(name: str):
    # this file alone: parsing the PipelineTasksGroup example would point dlt at other directories
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(DAGS_DIR / f"{name}.py")).get_dag(name)
    assert dag is not None
    return dag


def _rows(engine, schema: str, table: str, key: tuple[str, ...]) -> dict[tuple, dict]:
    import sqlalchemy as sa

    with engine.connect() as conn:
        result = conn.execute(sa.text(f'SELECT * FROM "{schema}"."{table}"'))
        rows = [dict(r._mapping) for r in result]
    out: dict[tuple, dict] = {}
    for row in rows:
        pk = tuple(row[k] for k in key)
        assert pk not in out, f"{schema}.{table}: primary key {pk} loaded twice"
        out[pk] = {k: v for k, v in row.items() if k not in DLT_COLUMNS}
    return out


def _data_tables(engine, schema: str) -> set[str]:
    import sqlalchemy as sa

    return {t for t in sa.inspect(engine).get_table_names(schema=schema) if not t.startswith("_dlt")}


@pytest.mark.postgres
def test_sharded_extract_equals_one_full_run_and_a_shard_reruns_alone(
    airflow_db, outlit_conn, make_database, monkeypatch, tmp_path
):
    import dlt
    import sqlalchemy as sa

    from dlt_sources.outlit import outlit_source
    from dlt_sources.outlit.loading import run_fast

    sb = outlit_conn
    # the test cluster trusts loopback; dlt insists on a password, any will do
    url = make_database("outlit_sharding").replace("postgresql://postgres@", "postgresql://postgres:trust@")
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_POSTGRES", url.replace("postgresql://", "postgres://", 1))
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "worker-1"))
    module = _dag_module("outlit_sharded_extract")

    dag = _dag("outlit_sharded_extract")
    dag_run = dag.test()
    tis = dag_run.get_task_instances()
    assert {ti.state for ti in tis} == {"success"}, {(ti.task_id, ti.map_index): ti.state for ti in tis}
    shard_tis = [ti for ti in tis if ti.task_id == "extract_shard"]
    assert len(shard_tis) > 1  # really fanned out

    # One full run of the same source, into a dataset of its own in the same database
    full = dlt.pipeline(
        "outlit_full",
        destination=dlt.destinations.postgres(url),
        dataset_name="outlit_full",
        pipelines_dir=str(tmp_path / "full"),
    )
    run_fast(full, outlit_source(api_key=sb.api_key, base_url=sb.base_url))
    schema = full.default_schema
    keys = {
        table: tuple(c["name"] for c in schema.get_table_columns(table).values() if c.get("primary_key"))
        for table in _data_tables(sa.create_engine(url), "outlit_full")
    }
    engine = sa.create_engine(url)

    def assert_union_equals_full_run() -> None:
        assert _data_tables(engine, "outlit_data") == set(keys)
        for table, key in keys.items():
            assert key, f"{table} has no primary key"
            sharded, single = (
                _rows(engine, "outlit_data", table, key),
                _rows(engine, "outlit_full", table, key),
            )
            assert sharded.keys() == single.keys(), table
            assert sharded == single, table

    assert {"customers", "users", "timeline", "facts"} <= set(keys)
    assert_union_equals_full_run()

    # Rerun one shard alone, as a fresh worker would after its work was lost: its rows and its dlt state
    # are gone; the other shards' rows must not even be rewritten.
    with engine.connect() as conn:
        ids = [r[0] for r in conn.execute(sa.text("SELECT id FROM outlit_full.customers"))]
    shards = module.split_into_shards(ids)
    assert sorted(c for s in shards for c in s["customers"]) == sorted(ids)
    shard = shards[0]
    name = f"outlit_shard_{shard['shard']}_of_{shard['of']}"
    in_shard = sa.bindparam("ids", expanding=True)
    # xmin: the transaction that last wrote the row; a merge that rewrote it would change it
    others_sql = "SELECT id, xmin::text FROM outlit_data.{table} WHERE customer_id NOT IN :ids"
    loads_before = {}
    with engine.begin() as conn:
        for table in module.SHARD_TABLES:
            loads_before[table] = {
                r[0]: r[1]
                for r in conn.execute(
                    sa.text(others_sql.format(table=table)).bindparams(in_shard),
                    {"ids": shard["customers"]},
                )
            }
            deleted = conn.execute(
                sa.text(f"DELETE FROM outlit_data.{table} WHERE customer_id IN :ids").bindparams(in_shard),
                {"ids": shard["customers"]},
            )
            assert deleted.rowcount > 0 or table == "facts"
        conn.execute(
            sa.text("DELETE FROM outlit_data._dlt_pipeline_state WHERE pipeline_name = :n"), {"n": name}
        )
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "worker-2"))  # no local state on this worker

    loaded = module.extract_one_shard(shard)  # what the cleared mapped task instance runs

    assert set(loaded) <= set(module.SHARD_TABLES), loaded  # customer-level tables stay with the shared task
    assert loaded.get("timeline", 0) > 0
    assert_union_equals_full_run()
    with engine.connect() as conn:
        for table, before in loads_before.items():
            after = {
                r[0]: r[1]
                for r in conn.execute(
                    sa.text(others_sql.format(table=table)).bindparams(in_shard),
                    {"ids": shard["customers"]},
                )
            }
            assert after == before, f"rerunning {name} touched other shards' {table} rows"
    engine.dispose()


def test_pipeline_tasks_group_example_loads_the_source_into_duckdb(
    airflow_db, outlit_conn, monkeypatch, tmp_path
):
    import duckdb

    db_path = tmp_path / "helper.duckdb"
    monkeypatch.setenv("OUTLIT_DUCKDB_PATH", str(db_path))
    # PipelineTasksGroup points dlt at fresh directories through os.environ: monkeypatch undoes it after
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt"))
    monkeypatch.delenv("DLT_PROJECT_DIR", raising=False)
    monkeypatch.delenv("DLT_LOCAL_DIR", raising=False)
    dag = _dag("outlit_dlt_airflow_helper")
    assert dag is not None
    dag_run = dag.test()
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert states and set(states.values()) == {"success"}, states

    with duckdb.connect(str(db_path), read_only=True) as conn:
        customers = conn.execute("SELECT count(*) FROM outlit_data.customers").fetchone()[0]
        timeline = conn.execute("SELECT count(*) FROM outlit_data.timeline").fetchone()[0]
        state_rows = conn.execute(
            "SELECT count(*) FROM outlit_data._dlt_pipeline_state WHERE pipeline_name = 'outlit_helper'"
        ).fetchone()[0]
    assert customers == 12 and timeline > 0
    assert state_rows >= 1  # the state lives in the warehouse: the next run on a fresh worker is incremental
