"""The dlt surfaces: reverse_load() over a pipeline's dataset, and the outlit_ingest destination."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dlt
import duckdb
from rl_helpers import COLUMNS, GOOD_ROWS, MAPPING, account_rows, assert_exactly_once, good_keys, stored

from dlt_sources.outlit_ingest import outlit_ingest, reverse_load


def _rows() -> list[dict[str, Any]]:
    return [dict(zip(COLUMNS, row, strict=True)) for row in account_rows(with_bad=False)]


def test_reverse_load_from_a_pipeline_dataset(tmp_path: Path, client: Any, fresh_sandbox: Any) -> None:
    pipeline = dlt.pipeline(
        "rl_dlt",
        destination=dlt.destinations.duckdb(str(tmp_path / "rl.duckdb")),
        dataset_name="crm",
        pipelines_dir=str(tmp_path / "pipelines"),
    )
    pipeline.run(_rows(), table_name="accounts")

    first = reverse_load(pipeline, table="accounts", mapping=MAPPING, client=client)
    again = reverse_load(pipeline, table="accounts", mapping=MAPPING, client=client)

    assert (first.sent, again.sent, again.unchanged) == (GOOD_ROWS, 0, GOOD_ROWS)
    assert_exactly_once(stored(fresh_sandbox), good_keys())
    with duckdb.connect(str(tmp_path / "rl.duckdb")) as con:  # bookkeeping sits in the pipeline's dataset
        assert con.execute("SELECT count(*) FROM crm._outlit_sync_ledger").fetchone() == (GOOD_ROWS,)


def test_outlit_ingest_destination_sends_each_load(tmp_path: Path, client: Any, fresh_sandbox: Any) -> None:
    rejected: list[tuple[str, str, str]] = []
    destination = outlit_ingest(
        {"accounts": MAPPING}, client=client, on_rejected=lambda t, k, why, row: rejected.append((t, k, why))
    )
    rows = [*_rows(), {**_rows()[0], "account_id": "no_email", "email": None}]
    for name in ("first", "second"):  # each load is delivered: the destination keeps no ledger
        pipeline = dlt.pipeline(
            f"rl_dest_{name}", destination=destination, pipelines_dir=str(tmp_path / "pipelines")
        )
        pipeline.run(rows, table_name="accounts")

    events = stored(fresh_sandbox)
    assert len(events) == 2 * GOOD_ROWS and len({e["uuid"] for e in events}) == 2 * GOOD_ROWS
    assert {e["customerId"] for e in events} == good_keys()
    assert rejected[0][:2] == ("accounts", '["no_email"]') and "identity" in rejected[0][2]


def test_outlit_ingest_delivers_a_state_that_returns(tmp_path: Path, client: Any, fresh_sandbox: Any) -> None:
    """paid -> churned -> paid is three events: the third is not a duplicate of the first."""
    mapping = {
        "name": "billing",
        "event_type": "billing",
        "key": ["account_id"],
        "customer_id": "account_id",
        "fields": {"status": "status"},
    }
    destination = outlit_ingest({"accounts": mapping}, client=client)
    pipeline = dlt.pipeline("rl_dest_states", destination=destination, pipelines_dir=str(tmp_path / "p"))
    for status in ("paid", "churned", "paid"):
        pipeline.run([{"account_id": "acc_1", "status": status}], table_name="accounts")

    assert [e["status"] for e in stored(fresh_sandbox)] == ["paid", "churned", "paid"]
