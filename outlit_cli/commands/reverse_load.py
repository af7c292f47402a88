"""``outlit-etl reverse-load``: send warehouse rows to Outlit as ingest events, exactly once."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from outlit_cli.commands.connection import (
    EXIT_OK,
    EXIT_RUN_FAILED,
    add_command,
    add_warehouse_arg,
    client_from_args,
)
from outlit_cli.output import CliError, classify, emit, progress, report_error

SUMMARY_KEYS = ("read", "sent", "unchanged", "rejected", "duplicate_keys", "retries")


def register(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "reverse-load",
        run,
        public_key=True,
        help="send warehouse rows to Outlit as ingest events (only new or changed rows by default)",
        description=(
            "Read rows from a warehouse table or query, map each to an Outlit ingest event with a mapping "
            "file, and send the ones that are new or changed since the last delivery. Progress is kept in "
            "_outlit_sync_ledger in the same warehouse, so reruns never resend what was delivered."
        ),
    )
    add_warehouse_arg(
        parser, "SQLAlchemy URL (postgresql://..., snowflake://..., sqlite:///f.db) or a DuckDB file path"
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
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="show what would be sent (counts and the first events) without sending or recording anything",
    )
    parser.add_argument(
        "--limit",
        type=int,
        metavar="N",
        help="send at most N events this run; the next run goes on from there",
    )
    parser.add_argument(
        "--max-rejected",
        type=int,
        metavar="N",
        help="exit 1 when more than N rows are rejected in this run (they are dead-lettered either way)",
    )
    parser.add_argument(
        "--fail-on-rejected", action="store_true", help="exit 1 if any row is rejected (--max-rejected 0)"
    )


def _check_flags(args: argparse.Namespace) -> int | None:
    """The rejection budget from --max-rejected / --fail-on-rejected; refuses bad flag values (exit 2)."""
    for flag, value, low in (("--limit", args.limit, 1), ("--max-rejected", args.max_rejected, 0)):
        if value is not None and value < low:
            raise CliError(f"{flag} must be {low} or more, got {value}", hint=f"e.g. {flag} 100")
    if args.fail_on_rejected and args.max_rejected not in (None, 0):
        raise CliError(
            "--fail-on-rejected means --max-rejected 0; it cannot go with --max-rejected "
            f"{args.max_rejected}",
            hint="keep one of the two",
        )
    return 0 if args.fail_on_rejected else args.max_rejected


def run(args: argparse.Namespace) -> int:
    from outlit_core.reverse_load import ReverseLoadError, load_mapping, run_reverse_load

    max_rejected = _check_flags(args)
    mapping = load_mapping(args.mapping)
    if args.dry_run:
        return _dry_run(args, mapping)
    client = client_from_args(args)
    try:
        with client, progress(args, "reverse load running"):
            result = run_reverse_load(
                args.source,
                mapping,
                client=client,
                max_in_flight=args.max_in_flight,
                uuid_namespace=args.uuid_namespace,
                **_read_options(args),
            )
    except ReverseLoadError as exc:
        if not args.json:
            _print_summary(exc.result.as_dict(), as_json=False)
        return report_error(args, classify(exc), extra=exc.result.as_dict())
    summary = result.as_dict()
    if max_rejected is not None and result.rejected > max_rejected:
        if not args.json:
            _print_summary(summary, as_json=False)
        error = CliError(
            f"{result.rejected} rows were rejected, more than the {max_rejected} allowed by "
            f"{'--fail-on-rejected' if args.fail_on_rejected else '--max-rejected'}; "
            "everything else was sent",
            hint=f"see why with: outlit-etl sync-status {result.sync_name!r} --from ... "
            "(fix the rows or the mapping, then rerun: only those rows are sent)",
            code="rejected_rows",
            exit_code=EXIT_RUN_FAILED,
        )
        return report_error(args, error, extra=summary)
    _print_summary(summary, as_json=args.json)
    return EXIT_OK


def _read_options(args: argparse.Namespace) -> dict[str, Any]:
    """What a run and a dry run both take from the flags: which rows are read and which are sent."""
    names = ("table", "sql", "mode", "schema", "chunk_size", "retry_rejected", "fresh_uuids", "limit")
    return {name: getattr(args, name) for name in names}


def _dry_run(args: argparse.Namespace, mapping: Any) -> int:
    from outlit_core.reverse_load.admin import preview_reverse_load

    with progress(args, "reverse load dry run"):
        preview = preview_reverse_load(args.source, mapping, **_read_options(args))
    emit(args, preview, lambda: _print_preview(preview))
    return EXIT_OK


def _print_preview(preview: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    keys = ("read", "would_send", "unchanged", "rejected", "batches")
    table = Table(title=f"dry run of {preview['sync_name']} ({preview['mode']}): nothing sent or recorded")
    for key in keys:
        table.add_column(key, justify="right")
    table.add_row(*(str(preview[k]) for k in keys))
    console = Console()
    console.print(table)
    if preview["events"]:
        console.print(f"first {len(preview['events'])} events that would be sent:")
        for event in preview["events"]:
            print(json.dumps(event, default=str))
    for rejection in preview["rejections"]:
        print(f"would reject {rejection['key']}: {rejection['reason']}", file=sys.stderr)


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
