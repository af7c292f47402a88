"""``outlit-etl check``, ``outlit-etl tool`` and ``outlit-etl query``: the Platform API from a terminal."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from typing import Any

from outlit_cli.commands.connection import (
    EXIT_OK,
    EXIT_RUN_FAILED,
    add_connection_args,
    client_from_args,
    fail,
)


def register(subparsers: Any) -> None:
    check = subparsers.add_parser(
        "check", help="validate the API key and print the organization it belongs to"
    )
    check.add_argument("--json", action="store_true", help="print one JSON object")
    add_connection_args(check)
    check.set_defaults(handler=run_check)

    tool = subparsers.add_parser(
        "tool",
        help="call one customer-intelligence tool and print its JSON result",
        description="Call a tool of the Outlit tool gateway. Input is checked against the tool's contract "
        "before anything is sent. With --all, a list tool is paged to the end and its items are printed as "
        "JSON lines.",
    )
    tool.add_argument("name", help="tool name, e.g. outlit_list_customers")
    tool.add_argument("--input", default="{}", metavar="JSON", help="tool input as a JSON object")
    tool.add_argument("--all", action="store_true", help="follow pagination; print items as JSON lines")
    tool.add_argument("--max-items", type=int, help="with --all: stop after this many items")
    add_connection_args(tool)
    tool.set_defaults(handler=run_tool)

    query = subparsers.add_parser(
        "query",
        help="run a read-only SQL query over the activity, customers, users and revenue views",
        description="Run one SELECT through outlit_query. Anything but a single read-only SELECT/WITH is "
        "refused locally, before any request.",
    )
    query.add_argument("sql", help="one SELECT or WITH statement")
    query.add_argument("--limit", type=int, help="rows to return (Outlit's default 1000, max 10000)")
    query.add_argument("--format", choices=("table", "json", "csv"), default="table", help="output format")
    add_connection_args(query)
    query.set_defaults(handler=run_query)


# `check` answers a person at a terminal: a host that never answers must not keep it silent for minutes.
CHECK_DEADLINE = 30.0


def run_check(args: argparse.Namespace) -> int:
    from outlit_core.client.exceptions import OutlitError, OutlitInputError

    settings = {} if os.environ.get("OUTLIT_DEADLINE", "").strip() else {"deadline": CHECK_DEADLINE}
    try:
        with client_from_args(args, **settings) as client:
            info = client.validate_api_key()
    except (OutlitInputError, ValueError) as exc:
        return fail(exc)
    except OutlitError as exc:
        return fail(exc, EXIT_RUN_FAILED)
    summary = {"valid": True, "organization_id": info.organization_id, "grants": list(info.grants)}
    if args.json:
        print(json.dumps(summary))
    else:
        grants = ", ".join(summary["grants"]) or "not reported"
        print(f"API key is valid for organization {info.organization_id} (grants: {grants})")
    return EXIT_OK


def run_tool(args: argparse.Namespace) -> int:
    from outlit_core.client.exceptions import OutlitError, OutlitInputError, OutlitValidationError

    try:
        tool_input = json.loads(args.input)
    except json.JSONDecodeError as exc:
        return fail(f"--input is not valid JSON ({exc}); pass an object such as '{{\"limit\": 10}}'")
    if not isinstance(tool_input, dict):
        return fail('--input must be a JSON object, such as \'{"customer": "acme.com"}\'')
    try:
        with client_from_args(args) as client:
            if args.all:
                for item in client.iter_tool(args.name, tool_input, max_items=args.max_items):
                    print(json.dumps(item, default=str))
            else:
                print(json.dumps(client.call_tool(args.name, tool_input), indent=2, default=str))
    except (OutlitInputError, OutlitValidationError) as exc:  # refused locally, or a 400 from Outlit
        return fail(exc)
    except OutlitError as exc:
        return fail(exc, EXIT_RUN_FAILED)
    except ValueError as exc:
        return fail(exc)
    return EXIT_OK


def run_query(args: argparse.Namespace) -> int:
    from outlit_core.client.exceptions import OutlitError, OutlitInputError, OutlitValidationError

    try:
        with client_from_args(args) as client:
            result = client.query(args.sql, limit=args.limit)
    except (OutlitInputError, OutlitValidationError) as exc:
        return fail(exc)
    except OutlitError as exc:
        return fail(exc, EXIT_RUN_FAILED)
    except ValueError as exc:
        return fail(exc)
    if args.format == "json":
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
