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


def test_outlit_ingest_destination_dedupes_a_resent_load(
    tmp_path: Path, client: Any, fresh_sandbox: Any
) -> None:
    rejected: list[tuple[str, str, str]] = []
    destination = outlit_ingest(
        {"accounts": MAPPING}, client=client, on_rejected=lambda t, k, why, row: rejected.append((t, k, why))
    )
    rows = [*_rows(), {**_rows()[0], "account_id": "no_email", "email": None}]
    for name in ("first", "second"):  # the second pipeline re-sends everything, as after a lost state
        pipeline = dlt.pipeline(
            f"rl_dest_{name}", destination=destination, pipelines_dir=str(tmp_path / "pipelines")
        )
        pipeline.run(rows, table_name="accounts")

    assert_exactly_once(stored(fresh_sandbox), good_keys())
    assert fresh_sandbox.stats()["ingest"]["duplicates"] == GOOD_ROWS
    assert rejected[0][:2] == ("accounts", '["no_email"]') and "identity" in rejected[0][2]
