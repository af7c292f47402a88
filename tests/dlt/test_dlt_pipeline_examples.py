"""The example pipelines in dlt_sources/outlit_pipeline.py, as the demo and users call them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dlt_sources import outlit_pipeline
from dlt_sources.outlit.loading import table_counts


def test_load_all_returns_the_warehouse_row_counts(sandbox: Any, tmp_path: Path) -> None:
    counts = outlit_pipeline.load_all(
        base_url=sandbox.base_url,
        api_key=sandbox.api_key,
        pipeline_name="demo",
        destination="duckdb",
        dataset_name="demo_data",
        pipelines_dir=str(tmp_path / "pipelines"),
        max_workers=2,
    )
    ds = sandbox.dataset()
    assert counts["customers"] == len(ds["customers"])
    assert counts["users"] == len(ds["users"])
    assert counts["timeline"] == sum(len(ids) for ids in ds["timeline"].values())
    assert counts["facts"] == sum(len(facts) for facts in ds["facts"].values())
    assert counts["sources"] == len(ds["sources"])
    assert counts["integrations"] == len(ds["integrations"])
    assert not any(name.startswith("_dlt") for name in counts)

    again = outlit_pipeline.load_all(
        base_url=sandbox.base_url,
        api_key=sandbox.api_key,
        pipeline_name="demo",
        dataset_name="demo_data",
        pipelines_dir=str(tmp_path / "pipelines"),
    )
    assert again == counts


def test_command_line_rejects_an_unknown_use_case(capsys: pytest.CaptureFixture[str]) -> None:
    assert outlit_pipeline.main(["load_everything"]) == 2
    assert "choose one of" in capsys.readouterr().err


def test_every_example_runs_against_the_sandbox(
    fresh_sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # configured the way users configure it: env vars; pipelines land in DLT_DATA_DIR (a temp dir here)
    monkeypatch.setenv("SOURCES__OUTLIT__API_KEY", fresh_sandbox.api_key)
    monkeypatch.setenv("SOURCES__OUTLIT__BASE_URL", fresh_sandbox.base_url)
    ds = fresh_sandbox.dataset()
    first = ds["customers"][0]

    for info in (
        outlit_pipeline.load_reference_tables(),
        outlit_pipeline.load_daily_activity_query(),
        outlit_pipeline.load_customer_timelines([first["domain"]]),
        outlit_pipeline.backfill_window("2000-01-01", ds["now"]),
    ):
        assert not info.has_failed_jobs
    pipeline = outlit_pipeline.default_pipeline()
    counts = table_counts(pipeline)
    assert counts["activity_events"] >= sum(len(ids) for ids in ds["timeline"].values())
    assert counts["workspace_users"] == len(ds["workspace_users"])
    assert counts["timeline"] == sum(len(ids) for ids in ds["timeline"].values())
