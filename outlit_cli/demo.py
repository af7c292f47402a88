"""``make demo``: Outlit -> DuckDB extract -> reverse-load, end to end on one laptop.

With no ``OUTLIT_API_KEY`` in the environment it starts the local sandbox and runs against it; with one it
runs against the real API (``OUTLIT_BASE_URL`` optional). The reverse-load step needs a public key
(``OUTLIT_PUBLIC_KEY``) and, against the real API, an explicit ``OUTLIT_DEMO_SEND_EVENTS=1`` so that a
demo never writes to a production workspace by surprise.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console()

# A health score per user, computed in the warehouse from what was just extracted: the kind of table a
# team keeps in its warehouse and wants to see in Outlit next to the customer.
SCORES_TABLE = "user_health_scores"
SCORES_SQL = f"""
CREATE OR REPLACE TABLE {SCORES_TABLE} AS
SELECT u.id AS user_id,
       u.email AS email,
       u.customer_id AS customer_id,
       coalesce(t.events_30d, 0) AS events_30d,
       least(100, coalesce(t.events_30d, 0) * 5) AS health_score,
       current_timestamp AS scored_at
FROM {{dataset}}.users AS u
LEFT JOIN (
    SELECT customer_id, count(*) AS events_30d
    FROM {{dataset}}.timeline
    WHERE occurred_at >= current_timestamp - INTERVAL 30 DAY
    GROUP BY customer_id
) AS t ON t.customer_id = u.customer_id
WHERE u.email IS NOT NULL
"""

SCORES_MAPPING: dict[str, Any] = {
    "name": "demo_user_health_scores",
    "event_type": "custom",
    "event_name": "health_score_computed",
    "key": ["user_id"],
    "email": "email",
    "user_id": "user_id",
    "customer_id": "customer_id",
    "properties": ["health_score", "events_30d"],
}


@dataclass(frozen=True)
class Target:
    base_url: str
    api_key: str
    public_key: str | None
    is_sandbox: bool


@contextlib.contextmanager
def _target(customers: int) -> Iterator[Target]:
    api_key = os.environ.get("OUTLIT_API_KEY")
    if api_key:
        base_url = os.environ.get("OUTLIT_BASE_URL", "https://app.outlit.ai")
        yield Target(base_url, api_key, os.environ.get("OUTLIT_PUBLIC_KEY"), is_sandbox=False)
        return
    import outlit_sandbox

    with outlit_sandbox.running(customers=customers) as sb:
        yield Target(sb.base_url, sb.api_key, sb.public_key, is_sandbox=True)


def _client(target: Target) -> Any:
    from outlit_core.client import OutlitClient

    return OutlitClient(api_key=target.api_key, public_key=target.public_key, base_url=target.base_url)


def _counts_table(title: str, counts: dict[str, int]) -> Table:
    table = Table(title=title)
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in counts.items():
        table.add_row(name, f"{rows:,}")
    return table


def run(workdir: Path, customers: int) -> int:
    # Outside Airflow, stop dlt from looking every setting up in Airflow Variables (Airflow is installed).
    os.environ.setdefault("PROVIDERS__ENABLE_AIRFLOW_SECRETS", "false")
    import dlt

    from dlt_sources.outlit.loading import DATASET_NAME, load_all

    with _target(customers) as target:
        if target.is_sandbox and workdir.exists():
            # A new sandbox has none of the earlier run's events: start the warehouse afresh too, or the
            # ledger would (rightly) say everything was already delivered.
            shutil.rmtree(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        db_path = workdir / "outlit.duckdb"
        where = "the local sandbox" if target.is_sandbox else target.base_url
        console.rule(f"[bold]Outlit demo against {where}")

        with _client(target) as c:
            info = c.validate_api_key()
            console.print(f"API key is valid for organization [bold]{info.organization_id}[/]")
            top = c.query(
                "SELECT name, domain, mrr_cents FROM customers ORDER BY mrr_cents DESC NULLS LAST", limit=5
            )
            console.print(
                f"Read-only SQL: top {top.rows_returned} customers by MRR in {top.execution_time_ms} ms"
            )

        console.print("\n[bold]1. Extract[/] Outlit -> DuckDB with the dlt source (incremental)")
        destination = dlt.destinations.duckdb(str(db_path))
        common: dict[str, Any] = {
            "base_url": target.base_url,
            "api_key": target.api_key,
            "pipeline_name": "outlit_demo",
            "destination": destination,
            "pipelines_dir": str(workdir / "pipelines"),
        }
        counts = load_all(**common)
        console.print(_counts_table(f"{db_path} / {DATASET_NAME}", counts))
        again = load_all(**common)
        new_rows = sum(again.values()) - sum(counts.values())
        console.print(f"Second run, nothing new upstream: {new_rows} rows added (merge on primary keys)")

        console.print("\n[bold]2. Reverse-load[/] warehouse rows -> Outlit ingest events (exactly once)")
        if not target.public_key:
            console.print("[yellow]Skipped: set OUTLIT_PUBLIC_KEY to send events to the ingest API.")
            return 0
        if not target.is_sandbox and os.environ.get("OUTLIT_DEMO_SEND_EVENTS") != "1":
            console.print(
                "[yellow]Skipped against the real API: set OUTLIT_DEMO_SEND_EVENTS=1 to send events."
            )
            return 0
        import duckdb

        from outlit_core.reverse_load import run_reverse_load

        with duckdb.connect(str(db_path)) as con:
            con.execute(SCORES_SQL.format(dataset=DATASET_NAME))
            (scored,) = con.execute(f"SELECT count(*) FROM {SCORES_TABLE}").fetchone() or (0,)
        console.print(f"Computed {scored} rows in {SCORES_TABLE}")
        with _client(target) as c:
            first = run_reverse_load(str(db_path), SCORES_MAPPING, table=SCORES_TABLE, client=c)
            second = run_reverse_load(str(db_path), SCORES_MAPPING, table=SCORES_TABLE, client=c)
        runs = Table(title=f"reverse-load of {SCORES_TABLE}")
        runs.add_column("")
        runs.add_column("first run", justify="right")
        runs.add_column("second run, nothing changed", justify="right")
        for name, value in first.counts().items():
            runs.add_row(name, f"{value:,}", f"{second.counts()[name]:,}")
        console.print(runs)
        console.print(
            f"Ledger, dead letters and run log are in {db_path}: "
            "_outlit_sync_ledger, _outlit_rejected, _outlit_sync_runs"
        )
    console.rule("[bold green]demo finished")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m outlit_cli.demo", description=__doc__)
    parser.add_argument("--workdir", type=Path, default=Path("out/demo"), help="where the DuckDB file goes")
    parser.add_argument("--customers", type=int, default=25, help="sandbox dataset size")
    args = parser.parse_args(argv)
    return run(args.workdir, args.customers)


if __name__ == "__main__":
    sys.exit(main())
