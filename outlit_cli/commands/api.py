"""``outlit-etl check``, ``outlit-etl tool`` and ``outlit-etl query``: the Platform API from a terminal."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from typing import Any

from outlit_cli.commands.connection import EXIT_OK, add_command, client_from_args
from outlit_cli.output import CliError, emit, progress


def register(subparsers: Any) -> None:
    add_command(
        subparsers, "check", run_check, help="validate the API key and print the organization it belongs to"
    )
    tool = add_command(
        subparsers,
        "tool",
        run_tool,
        help="call one customer-intelligence tool and print its JSON result",
        description="Call a tool of the Outlit tool gateway. Input is checked against the tool's contract "
        "before anything is sent. With --all, a list tool is paged to the end and its items are printed as "
        "JSON lines.",
    )
    tool.add_argument("name", help="tool name, e.g. outlit_list_customers")
    tool.add_argument("--input", default="{}", metavar="JSON", help="tool input as a JSON object")
    tool.add_argument("--all", action="store_true", help="follow pagination; print items as JSON lines")
    tool.add_argument("--max-items", type=int, help="with --all: stop after this many items (1 or more)")

    query = add_command(
        subparsers,
        "query",
        run_query,
        help="run a read-only SQL query over the activity, customers, users and revenue views",
        description="Run one SELECT through outlit_query. Anything but a single read-only SELECT/WITH is "
        "refused locally, before any request.",
    )
    query.add_argument("sql", help="one SELECT or WITH statement")
    query.add_argument("--limit", type=int, help="rows to return (Outlit's default 1000, max 10000)")
    query.add_argument(
        "--format",
        choices=("table", "json", "csv"),
        default="table",
        help="output format (--json is --format json)",
    )


# `check` answers a person at a terminal: a host that never answers must not keep it silent for minutes.
CHECK_DEADLINE = 30.0


def run_check(args: argparse.Namespace) -> int:
    settings = {} if os.environ.get("OUTLIT_DEADLINE", "").strip() else {"deadline": CHECK_DEADLINE}
    with progress(args, "checking the API key"), client_from_args(args, **settings) as client:
        info = client.validate_api_key()
    summary = {"valid": True, "organization_id": info.organization_id, "grants": list(info.grants)}
    grants = ", ".join(summary["grants"]) or "not reported"
    emit(
        args,
        summary,
        lambda: print(f"API key is valid for organization {info.organization_id} (grants: {grants})"),
    )
    return EXIT_OK


def run_tool(args: argparse.Namespace) -> int:
    try:
        tool_input = json.loads(args.input)
    except json.JSONDecodeError as exc:
        raise CliError(
            f"--input is not valid JSON ({exc})", hint="pass an object such as --input '{\"limit\": 10}'"
        ) from None
    if not isinstance(tool_input, dict):
        raise CliError("--input must be a JSON object", hint='e.g. --input \'{"customer": "acme.com"}\'')
    if args.max_items is not None:
        if args.max_items < 1:
            raise CliError(
                f"--max-items must be 1 or more, got {args.max_items}",
                hint="leave --max-items out to page to the end",
            )
        if not args.all:
            raise CliError(
                "--max-items only applies with --all (one call returns one page)",
                hint="add --all to page through results, or set the page size with --input '{\"limit\": N}'",
            )
    with client_from_args(args) as client:
        if not args.all:
            result = client.call_tool(args.name, tool_input)
            emit(args, result, lambda: print(json.dumps(result, indent=2, default=str)))
        elif args.json:
            with progress(args, f"{args.name}: paging") as update:
                items = []
                for item in client.iter_tool(args.name, tool_input, max_items=args.max_items):
                    items.append(item)
                    update(f"{args.name}: {len(items):,} items")
            emit(args, {"tool": args.name, "count": len(items), "items": items}, lambda: None)
        else:
            for item in client.iter_tool(args.name, tool_input, max_items=args.max_items):
                print(json.dumps(item, default=str))
    return EXIT_OK


def run_query(args: argparse.Namespace) -> int:
    with progress(args, "running the query"), client_from_args(args) as client:
        result = client.query(args.sql, limit=args.limit)
    if args.json or args.format == "json":
        print(json.dumps({"rows": result.rows, "truncated": result.truncated}, default=str))
    elif args.format == "csv":
        columns = _columns(result.rows)
        writer = csv.DictWriter(sys.stdout, fieldnames=columns)
        writer.writeheader()
        writer.writerows(result.rows)
    else:
        _print_table(result)
    if result.truncated:
        print(
            f"warning: the result was cut at {result.rows_returned} rows; raise --limit (max 10000) "
            "or narrow the query",
            file=sys.stderr,
        )
    return EXIT_OK


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    return list(columns)


def _print_table(result: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(caption=f"{result.rows_returned} rows in {result.execution_time_ms} ms")
    columns = _columns(result.rows)
    for column in columns:
        table.add_column(column)
    for row in result.rows:
        table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
    Console().print(table)
