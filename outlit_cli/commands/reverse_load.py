"""``outlit-etl reverse-load``: send warehouse rows to Outlit as ingest events, exactly once."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from outlit_cli.commands.connection import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    EXIT_RUN_FAILED,
    add_connection_args,
    client_from_args,
)
from outlit_cli.commands.connection import fail as _fail_input

SUMMARY_KEYS = ("read", "sent", "unchanged", "rejected", "duplicate_keys", "retries")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "reverse-load",
        help="send warehouse rows to Outlit as ingest events (only new or changed rows by default)",
        description=(
            "Read rows from a warehouse table or query, map each to an Outlit ingest event with a mapping "
            "file, and send the ones that are new or changed since the last delivery. Progress is kept in "
            "_outlit_sync_ledger in the same warehouse, so reruns never resend what was delivered."
        ),
    )
    parser.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="URL_OR_FILE",
        help="SQLAlchemy URL (postgresql://..., snowflake://..., sqlite:///f.db) or a DuckDB file path",
    )
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--table", help="table to read, optionally schema-qualified")
    what.add_argument("--sql", help="SELECT query whose rows to send (the mapping then needs a 'name')")
    parser.add_argument(
        "--mapping", required=True, metavar="FILE", help="mapping file (.json, .yaml or .yml)"
    )
    parser.add_argument(
        "--mode",
        choices=("changed", "all"),
        default="changed",
        help=(
            "'changed' (default) sends new and changed rows; 'all' sends every row, but rows already "
            "delivered keep their uuids, so Outlit drops them as duplicates: 'all' cannot restore events "
            "lost on Outlit's side (add --fresh-uuids for that)"
        ),
    )
    parser.add_argument(
        "--fresh-uuids",
        nargs="?",
        const=True,
        default=False,
        metavar="LABEL",
        help=(
            "with --mode all: give every event a new uuid so Outlit stores every row again (a deliberate "
            "full re-send). New uuids come from the run id, or from LABEL if given: rerun with the same "
            "LABEL after an interrupted re-send and the rows that already arrived are deduplicated"
        ),
    )
    parser.add_argument(
        "--schema", help="schema for the _outlit_* bookkeeping tables (default: the connection's)"
    )
    parser.add_argument(
        "--chunk-size", type=int, default=5_000, help="rows read per round trip (default 5000)"
    )
    parser.add_argument(
        "--max-in-flight",
        type=int,
        default=16,
        help="ingest requests in flight at once (default 16; the rate limit applies either way)",
    )
    parser.add_argument(
        "--retry-rejected",
        action="store_true",
        help="try again rows an earlier run dead-lettered, even if they have not changed",
    )
    parser.add_argument(
        "--uuid-namespace",
        metavar="NAME",
        help=(
            "namespace of the event uuids (default: the mapping's uuid_namespace, else the sync name); "
            "give each warehouse its own to keep identical rows from several apart"
        ),
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    add_connection_args(parser, public_key=True)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from outlit_core.client.exceptions import OutlitError
    from outlit_core.reverse_load import MappingError, ReverseLoadError, load_mapping, run_reverse_load

    try:
        mapping = load_mapping(args.mapping)
        client = client_from_args(args)
    except (MappingError, OutlitError, ValueError) as exc:
        return _fail_input(exc)
    try:
        with client:
            result = run_reverse_load(
                args.source,
                mapping,
                table=args.table,
                sql=args.sql,
                mode=args.mode,
                client=client,
                schema=args.schema,
                chunk_size=args.chunk_size,
                max_in_flight=args.max_in_flight,
                retry_rejected=args.retry_rejected,
                fresh_uuids=args.fresh_uuids,
                uuid_namespace=args.uuid_namespace,
            )
    except ReverseLoadError as exc:
        _print_summary(exc.result.as_dict(), as_json=args.json)
        print(f"error: {exc}", file=sys.stderr)
        # A mapping that does not fit the source is bad input, not a failed delivery.
        return EXIT_BAD_INPUT if isinstance(exc.__cause__, MappingError) else EXIT_RUN_FAILED
    except (MappingError, ValueError, TypeError, FileNotFoundError) as exc:
        return _fail_input(exc)  # incl. unsafe --sql and a warehouse that cannot be opened as given
    except OutlitError as exc:  # another run of this sync holds the warehouse: nothing was sent
        return _fail_input(exc, EXIT_RUN_FAILED)
    _print_summary(result.as_dict(), as_json=args.json)
    return EXIT_OK


def _print_summary(result: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, default=str))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"reverse load {result['sync_name']} ({result['mode']}): {result['status']}")
    for key in (*SUMMARY_KEYS, "batches"):
        table.add_column(key, justify="right")
    table.add_row(*(str(result[k]) for k in (*SUMMARY_KEYS, "batches")))
    Console().print(table)
    Console(stderr=True).print(f"run {result['run_id']} took {result['duration_s']:.2f}s")
