"""The same incremental sync into a real PostgreSQL server on loopback."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import dlt
import pytest
from dlt_helpers import assert_matches_sandbox, assert_no_duplicate_keys, counts, run

pytestmark = pytest.mark.postgres


def _with_password(url: str) -> str:
    # dlt insists on a password; the test cluster uses trust auth, which ignores whatever is sent
    parts = urlsplit(url)
    if parts.password is not None or parts.username is None:
        return url
    netloc = f"{parts.username}:unused@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def test_postgres_matches_the_sandbox_through_an_advance(
    fresh_sandbox: Any, postgres_url: str, tmp_path: Path
) -> None:
    pipeline = dlt.pipeline(
        pipeline_name="outlit_pg",
        destination=dlt.destinations.postgres(_with_password(postgres_url)),
        dataset_name=f"outlit_{uuid.uuid4().hex[:8]}",
        pipelines_dir=str(tmp_path / "pipelines"),
    )
    run(pipeline, fresh_sandbox)
    assert_matches_sandbox(pipeline, fresh_sandbox)
    first = counts(pipeline)

    assert run(pipeline, fresh_sandbox).get("timeline", 0) == 0
    assert counts(pipeline) == first

    changes = fresh_sandbox.advance(hours=2, events_per_customer=3, facts_per_customer=1, status_changes=3)
    # fact status changes land on the full facts read (docs/dlt.md, "Facts"): make it due on this run
    run(pipeline, fresh_sandbox, facts_full_refresh_hours=0)
    added = sum(len(ids) for ids in changes["events"].values())
    assert counts(pipeline)["timeline"] == first["timeline"] + added
    assert_matches_sandbox(pipeline, fresh_sandbox)
    assert_no_duplicate_keys(pipeline)
    with pipeline.sql_client() as client:
        types = dict(
            client.execute_sql(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = 'timeline'",
                pipeline.dataset_name,
            )
        )
    assert types["occurred_at"].startswith("timestamp")
    assert types["metadata"] == "jsonb"
