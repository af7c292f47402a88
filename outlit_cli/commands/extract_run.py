"""What ``outlit-etl extract`` runs: the dlt source, narrowed and paced by the flags, and what it loaded."""

from __future__ import annotations

import argparse
import os
from typing import Any

from outlit_cli.commands.connection import EXIT_OK, client_options
from outlit_cli.output import CliError, emit, progress

REFRESH_MODES = ("drop_sources", "drop_resources", "drop_data")


def _source_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {"include_sources": not args.no_sources, **client_options(args)}
    for name in ("base_url", "api_key"):
        value = getattr(args, name) or os.environ.get(f"OUTLIT_{name.upper()}")
        if value:
            options[name] = value
    if args.customer:
        options["customers"] = args.customer
    for name in ("start_date", "end_date", "max_workers", "requests_per_second"):
        if getattr(args, name) is not None:
            options[name] = getattr(args, name)
    if args.end_date and not args.start_date:
        raise CliError(
            "--end-date needs --start-date: a backfill loads one closed window",
            hint="e.g. --start-date 2026-01-01 --end-date 2026-01-31",
        )
    if args.max_workers is not None and args.max_workers < 1:
        raise CliError(f"--max-workers must be 1 or more, got {args.max_workers}", hint="1 runs sequentially")
    if args.requests_per_second is not None and args.requests_per_second <= 0:
        raise CliError(
            f"--requests-per-second must be greater than 0, got {args.requests_per_second}",
            hint="leave it out for no pacing (429s still pause every worker)",
        )
    return options


def run_extract(args: argparse.Namespace) -> int:
    # dlt would otherwise look every setting up in Airflow Variables when Airflow is installed.
    os.environ.setdefault("PROVIDERS__ENABLE_AIRFLOW_SECRETS", "false")
    if args.duckdb_file and args.destination != "duckdb":
        raise CliError("--duckdb-file goes with --destination duckdb", hint="drop one of the two")
    if args.refresh == "drop_sources" and args.resource:
        raise CliError(
            "--refresh drop_sources drops every table of the source, not only the --resource ones",
            hint="use --refresh drop_resources (the default) to reload just the selected resources",
        )
    options = _source_options(args)
    import dlt

    from dlt_sources.outlit import outlit_source
    from dlt_sources.outlit.loading import default_pipeline, run_fast, table_counts

    destination: Any = dlt.destinations.duckdb(args.duckdb_file) if args.duckdb_file else args.destination
    source = outlit_source(**options)
    if args.resource:
        source = source.with_resources(*dict.fromkeys(args.resource))
    pipeline = default_pipeline(args.pipeline, destination, args.dataset, args.pipelines_dir)
    with progress(args, f"extracting {', '.join(source.selected_resources)} into {args.dataset}"):
        run_fast(pipeline, source, refresh=args.refresh)
        totals = table_counts(pipeline)
    normalized = pipeline.last_trace.last_normalize_info if pipeline.last_trace else None
    loaded = {
        table: count
        for table, count in sorted((normalized.row_counts if normalized else {}).items())
        if not table.startswith("_dlt")
    }
    summary = {
        "pipeline": args.pipeline,
        "destination": pipeline.destination.destination_name if pipeline.destination else args.destination,
        "dataset": args.dataset,
        "resources": sorted(source.selected_resources),
        "backfill": bool(args.end_date),
        "refresh": args.refresh,
        "loaded": loaded,
        "tables": totals,
    }
    emit(args, summary, lambda: _print(summary))
    return EXIT_OK


def _print(summary: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{summary['dataset']}: rows loaded by this run, and in the table now")
    table.add_column("table")
    table.add_column("loaded", justify="right")
    table.add_column("in table", justify="right")
    for name in sorted(set(summary["tables"]) | set(summary["loaded"])):
        table.add_row(name, f"{summary['loaded'].get(name, 0):,}", f"{summary['tables'].get(name, 0):,}")
    Console().print(table)
