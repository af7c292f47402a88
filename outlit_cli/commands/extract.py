"""``outlit-etl extract``: run the dlt source into a warehouse (DuckDB by default)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from outlit_cli.commands.connection import EXIT_OK, EXIT_RUN_FAILED, add_connection_args, fail


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "extract",
        help="load customers, users, timelines, facts and integrations into a warehouse (incremental)",
        description="Run the Outlit dlt source. Each run asks only for what is new since the last one; "
        "state lives in the pipeline and in the destination, so a rerun on another machine resumes too.",
    )
    parser.add_argument(
        "--destination",
        default="duckdb",
        help="dlt destination name: duckdb (default), postgres, snowflake, ...; credentials come from "
        "dlt config (DESTINATION__<NAME>__CREDENTIALS or .dlt/secrets.toml)",
    )
    parser.add_argument("--duckdb-file", help="with --destination duckdb: the database file to write")
    parser.add_argument("--dataset", default="outlit_data", help="dataset name (default outlit_data)")
    parser.add_argument("--pipeline", default="outlit", help="dlt pipeline name (default outlit)")
    parser.add_argument("--pipelines-dir", help="where dlt keeps pipeline state (default ~/.dlt/pipelines)")
    parser.add_argument("--customer", action="append", help="only this customer (id or domain); repeatable")
    parser.add_argument("--start-date", help="first run: load history from this ISO date-time on")
    parser.add_argument("--no-sources", action="store_true", help="skip the source-records table")
    parser.add_argument("--json", action="store_true", help="print the row counts as one JSON object")
    add_connection_args(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import os

    from outlit_core.client.exceptions import OutlitError

    # dlt would otherwise look every setting up in Airflow Variables when Airflow is installed.
    os.environ.setdefault("PROVIDERS__ENABLE_AIRFLOW_SECRETS", "false")
    import dlt

    from dlt_sources.outlit.loading import load_all

    destination: Any = args.destination
    if args.duckdb_file:
        if args.destination != "duckdb":
            return fail("--duckdb-file goes with --destination duckdb")
        destination = dlt.destinations.duckdb(args.duckdb_file)
    options: dict[str, Any] = {
        "base_url": args.base_url or os.environ.get("OUTLIT_BASE_URL"),
        "api_key": args.api_key or os.environ.get("OUTLIT_API_KEY"),
        "pipeline_name": args.pipeline,
        "destination": destination,
        "dataset_name": args.dataset,
        "pipelines_dir": args.pipelines_dir,
        "include_sources": not args.no_sources,
    }
    if args.customer:
        options["customers"] = args.customer
    if args.start_date:
        options["start_date"] = args.start_date
    try:
        counts = load_all(**options)
    except (OutlitError, ValueError) as exc:
        return fail(exc)
    except Exception as exc:  # dlt wraps step failures: report the error behind them, in one line
        return fail(_root_cause(exc), EXIT_RUN_FAILED)
    if args.json:
        print(json.dumps(counts))
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"{args.dataset} rows after this run")
        table.add_column("table")
        table.add_column("rows", justify="right")
        for name, rows in counts.items():
            table.add_row(name, f"{rows:,}")
        Console().print(table)
    return EXIT_OK


def _root_cause(exc: BaseException) -> BaseException:
    """The Outlit error behind dlt's step / extraction wrappers, else the last error of the chain."""
    from outlit_core.client.exceptions import OutlitError

    seen: set[int] = set()
    current: BaseException | None = exc
    last = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, OutlitError):
            return current
        seen.add(id(current))
        last = current
        current = getattr(current, "exception", None) or current.__cause__ or current.__context__
    return last
