"""mode="all" re-sends under the old uuids, which Outlit drops; fresh_uuids makes a real full re-send."""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from rl_helpers import (
    GOOD_ROWS,
    MAPPING,
    Source,
    StopAfter,
    account_rows,
    duplicates,
    good_keys,
    sqlite_warehouse,
    stored,
)

from outlit_cli.main import build_parser
from outlit_core.client import OutlitClient
from outlit_core.reverse_load import run_reverse_load


def _per_key(sb: Any) -> Counter[str]:
    return Counter(e["customerId"] for e in stored(sb))


def test_fresh_uuids_stores_every_row_again_and_the_ledger_moves_on(
    tmp_path: Path, client: OutlitClient, fresh_sandbox: Any
) -> None:
    source = Source.load("duckdb", account_rows(with_bad=False), tmp_path=tmp_path)
    first = run_reverse_load(source.source, MAPPING, table="accounts", client=client)
    # Plain mode="all": the same uuids, so Outlit keeps what it has and stores nothing again.
    plain = run_reverse_load(source.source, MAPPING, table="accounts", client=client, mode="all")
    assert (first.sent, plain.sent, duplicates(fresh_sandbox)) == (GOOD_ROWS, GOOD_ROWS, GOOD_ROWS)
    assert len(stored(fresh_sandbox)) == GOOD_ROWS

    fresh = run_reverse_load(
        source.source, MAPPING, table="accounts", client=client, mode="all", fresh_uuids=True
    )
    assert fresh.sent == GOOD_ROWS and duplicates(fresh_sandbox) == GOOD_ROWS  # no new repeats
    assert _per_key(fresh_sandbox) == Counter(dict.fromkeys(good_keys(), 2))  # every row stored again
    ledger = {u for (u,) in source.query("SELECT event_uuid FROM _outlit_sync_ledger")}
    assert ledger == {e["uuid"] for e in stored(fresh_sandbox)[GOOD_ROWS:]}  # the re-sent uuids
    # a second fresh re-send is a new run id, so new uuids again; then nothing is "changed"
    again = run_reverse_load(
        source.source, MAPPING, table="accounts", client=client, mode="all", fresh_uuids=True
    )
    assert again.sent == GOOD_ROWS and len(stored(fresh_sandbox)) == 3 * GOOD_ROWS
    assert run_reverse_load(source.source, MAPPING, table="accounts", client=client).sent == 0


def test_a_labelled_fresh_resend_resumes_after_a_stop_without_storing_twice(
    tmp_path: Path, client: OutlitClient, fresh_sandbox: Any
) -> None:
    source = Source.load("duckdb", account_rows(with_bad=False), tmp_path=tmp_path)
    run_reverse_load(source.source, MAPPING, table="accounts", client=client)
    stop = threading.Event()
    sb = fresh_sandbox
    with OutlitClient(
        api_key=sb.api_key, public_key=sb.public_key, base_url=sb.base_url, transport=StopAfter(1, stop.set)
    ) as stopping:
        cut = run_reverse_load(
            source.source,
            MAPPING,
            table="accounts",
            client=stopping,
            mode="all",
            fresh_uuids="restore-1",
            max_in_flight=1,
            stop=stop,
        )
    assert (cut.status, cut.sent) == ("stopped", 100)
    resumed = run_reverse_load(
        source.source, MAPPING, table="accounts", client=client, mode="all", fresh_uuids="restore-1"
    )
    assert resumed.sent == GOOD_ROWS
    assert duplicates(fresh_sandbox) == 100  # the rows the cut run delivered were repeats this time
    assert _per_key(fresh_sandbox) == Counter(dict.fromkeys(good_keys(), 2))


def test_fresh_uuids_needs_mode_all(tmp_path: Path, client: OutlitClient, fresh_sandbox: Any) -> None:
    source = Source.load("duckdb", account_rows(with_bad=False), tmp_path=tmp_path)
    with pytest.raises(ValueError, match=r"fresh_uuids .* needs mode='all' \(got mode='changed'\)"):
        run_reverse_load(source.source, MAPPING, table="accounts", client=client, fresh_uuids=True)
    with pytest.raises(ValueError, match="non-empty label"):
        run_reverse_load(source.source, MAPPING, table="accounts", client=client, mode="all", fresh_uuids=" ")
    assert stored(fresh_sandbox) == []


def test_cli_help_and_flag(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    base = ["reverse-load", "--from", "w.duckdb", "--table", "t", "--mapping", "m.yaml"]
    assert parser.parse_args(base).fresh_uuids is False
    assert parser.parse_args([*base, "--mode", "all", "--fresh-uuids"]).fresh_uuids is True
    assert parser.parse_args([*base, "--fresh-uuids", "restore-1"]).fresh_uuids == "restore-1"
    with pytest.raises(SystemExit):
        parser.parse_args(["reverse-load", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "Outlit drops them as duplicates" in text and "cannot restore events lost" in text
    assert "--fresh-uuids [LABEL]" in text


def test_operator_fresh_uuids_label_resends_everything_once(
    tmp_path: Path, fresh_sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from outlit_provider.transfers.sql_to_outlit import SqlToOutlitOperator

    sqlite_warehouse(tmp_path, monkeypatch, with_bad=False)
    sb = fresh_sandbox
    outlit = {"base_url": sb.base_url, "public_key": sb.public_key}
    conn = {"conn_type": "outlit", "password": sb.api_key, "extra": outlit}
    monkeypatch.setenv("AIRFLOW_CONN_OUTLIT_DEFAULT", json.dumps(conn))
    assert "fresh_uuids" in SqlToOutlitOperator.template_fields  # e.g. fresh_uuids="{{ run_id }}"

    def op(**kwargs: Any) -> SqlToOutlitOperator:
        return SqlToOutlitOperator(
            task_id="t", conn_id="warehouse", table="accounts", mapping=MAPPING, **kwargs
        )

    op().execute(context={})
    resend = op(mode="all", fresh_uuids="restore-1")
    assert resend.execute(context={})["sent"] == GOOD_ROWS
    assert resend.execute(context={})["sent"] == GOOD_ROWS  # a task retry under the same label ...
    assert duplicates(fresh_sandbox) == GOOD_ROWS  # ... is deduplicated
    assert _per_key(fresh_sandbox) == Counter(dict.fromkeys(good_keys(), 2))
