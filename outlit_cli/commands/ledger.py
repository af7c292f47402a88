"""``outlit-etl sync-status`` and ``outlit-etl sync-reset``: inspect and reset a reverse-load sync's ledger.

Both read the ``_outlit_*`` tables in the warehouse the sync reads from; neither calls Outlit.
"""

from __future__ import annotations

import argparse
from typing import Any

from outlit_cli.commands.connection import EXIT_OK, add_command, add_warehouse_arg
from outlit_cli.output import CliError, emit


def _warehouse_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "sync", help="sync name: '<table>:<event_type>' for a table sync, else the mapping's 'name'"
    )
    add_warehouse_arg(parser, "the warehouse the sync reads from: SQLAlchemy URL or DuckDB file path")
    parser.add_argument(
        "--schema", help="schema of the _outlit_* bookkeeping tables (default: the connection's)"
    )


def register(subparsers: Any) -> None:
    status = add_command(
        subparsers,
        "sync-status",
        run_status,
        connection=False,
        help="show a reverse-load sync's ledger: rows delivered and rejected, latest runs, why rows failed",
        description="Read the delivery ledger, run log and dead letters of one reverse-load sync.",
    )
    _warehouse_args(status)
    status.add_argument("--runs", type=int, default=5, metavar="N", help="latest runs to show (default 5)")
    status.add_argument(
        "--rejected", type=int, default=10, metavar="N", help="rejected rows to show (default 10)"
    )

    reset = add_command(
        subparsers,
        "sync-reset",
        run_reset,
        connection=False,
        help="forget ledger rows of a reverse-load sync so the next run examines them again",
        description="Delete ledger rows of one sync (all of them, the --rows given, or those with --status), "
        "so the next reverse-load run examines those rows again. An unchanged row keeps the uuid it was "
        "delivered under, so Outlit drops it as a duplicate: to make Outlit store rows again, run "
        "reverse-load --mode all --fresh-uuids instead. Runs and dead letters are kept. Without --yes only "
        "counts what would be reset.",
    )
    _warehouse_args(reset)
    reset.add_argument(
        "--rows",
        nargs="+",
        metavar="KEY",
        help="row keys as stored in _outlit_sync_ledger.row_key (e.g. '[\"acct_1\"]'), or the plain value of "
        "a single-column key",
    )
    reset.add_argument(
        "--status", choices=("delivered", "rejected"), help="only ledger rows with this status"
    )
    reset.add_argument("--yes", action="store_true", help="really delete (without it: count only)")


def run_status(args: argparse.Namespace) -> int:
    from outlit_core.reverse_load.admin import sync_status

    for flag, value in (("--runs", args.runs), ("--rejected", args.rejected)):
        if value < 0:
            raise CliError(f"{flag} must be 0 or more, got {value}", hint=f"e.g. {flag} 5")
    status = sync_status(args.source, args.sync, schema=args.schema, runs=args.runs, rejections=args.rejected)
    emit(args, status, lambda: _print_status(status))
    return EXIT_OK


def run_reset(args: argparse.Namespace) -> int:
    from outlit_core.reverse_load.admin import reset_sync

    outcome = reset_sync(
        args.source, args.sync, schema=args.schema, rows=args.rows, status=args.status, apply=args.yes
    )
    if outcome["not_found"]:
        raise CliError(
            f"no ledger row of {args.sync!r} has the key(s) {', '.join(outcome['not_found'])}; "
            "nothing was reset",
            hint=f"list rejected keys with: outlit-etl sync-status {args.sync!r} --from ...",
        )
    emit(args, outcome, lambda: _print_reset(outcome))
    return EXIT_OK


def _print_status(status: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    ledger = status["ledger"]
    console.print(
        f"sync {status['sync_name']}: {ledger['delivered']:,} rows delivered, "
        f"{ledger['rejected']:,} rejected "
        f"(last delivery {ledger['last_delivered_at'] or 'never'})"
    )
    columns = (
        "started_at",
        "mode",
        "status",
        "read_count",
        "sent_count",
        "unchanged_count",
        "rejected_count",
    )
    runs = Table(title="latest runs")
    for column in columns:
        runs.add_column(column.removesuffix("_count"))
    for run in status["runs"]:
        runs.add_row(*("" if run[c] is None else str(run[c]) for c in columns))
    console.print(runs)
    for row in status["rejected_rows"]:
        console.print(f"rejected {row['key']} ({row['stage']}): {row['reason']}", highlight=False)


def _print_reset(outcome: dict[str, Any]) -> None:
    if outcome["applied"]:
        print(f"reset {outcome['reset']} ledger rows of {outcome['sync_name']}; the next run examines them")
    else:
        print(f"would reset {outcome['reset']} ledger rows of {outcome['sync_name']}: add --yes to do it")
