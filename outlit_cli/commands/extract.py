"""``outlit-etl extract``: run the dlt source into a warehouse (DuckDB by default)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from outlit_cli.commands.connection import add_command
from outlit_cli.commands.extract_run import REFRESH_MODES


class _ResourceNames(Sequence[str]):
    """The dlt source's resource names, read only when argparse needs them (a --resource value or --help):
    importing the source imports dlt, which takes seconds that every other command should not pay."""

    def _names(self) -> Sequence[str]:
        from dlt_sources.outlit.resources import RESOURCE_NAMES

        return RESOURCE_NAMES

    def __getitem__(self, index: Any) -> Any:
        return self._names()[index]

    def __len__(self) -> int:
        return len(self._names())


RESOURCES = _ResourceNames()


def register(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "extract",
        run,
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
    parser.add_argument(
        "--end-date",
        help="with --start-date: backfill [start, end] only, leaving the incremental cursors as they are "
        "(safe beside the scheduled sync)",
    )
    parser.add_argument(
        "--resource",
        action="append",
        choices=RESOURCES,
        metavar="NAME",
        help="load only this resource; repeatable (%(choices)s)",
    )
    parser.add_argument(
        "--max-workers", type=int, help="requests in flight at once (default 8; 1 = sequential)"
    )
    parser.add_argument(
        "--requests-per-second", type=float, metavar="RPS", help="pace every request of the run to this rate"
    )
    parser.add_argument(
        "--refresh",
        nargs="?",
        const="drop_resources",
        choices=REFRESH_MODES,
        help="reload from scratch: drop_resources (default; the selected resources' tables and state), "
        "drop_sources (every table and state of the source) or drop_data (rows and state, tables kept)",
    )
    parser.add_argument("--no-sources", action="store_true", help="skip the source-records table")


def run(args: argparse.Namespace) -> int:
    from outlit_cli.commands.extract_run import run_extract

    return run_extract(args)
