"""Example pipelines for the Outlit dlt source, one function per use case.

Each function runs on its own (``python -m dlt_sources.outlit_pipeline <name>``); the API key comes from
``SOURCES__OUTLIT__API_KEY`` or ``.dlt/secrets.toml`` unless passed in. DuckDB is the default destination.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

import dlt
from dlt.common.pipeline import LoadInfo

from dlt_sources.outlit import outlit_query_resource, outlit_source
from dlt_sources.outlit.loading import (
    default_pipeline,
    load_all,
    run_fast,
)


def load_customer_timelines(customers: Sequence[str], **source_options: Any) -> LoadInfo:
    """Only the timelines and facts of a few customers (ids or domains), e.g. for a key-account dashboard."""
    source = outlit_source(customers=list(customers), **source_options).with_resources("timeline", "facts")
    return run_fast(default_pipeline(), source)


def backfill_window(start_date: str, end_date: str, **source_options: Any) -> LoadInfo:
    """Re-read a past window (e.g. after an outage) without touching the scheduled sync's cursors."""
    source = outlit_source(start_date=start_date, end_date=end_date, **source_options)
    return run_fast(default_pipeline(), source.with_resources("customers", "timeline", "facts"))


def load_reference_tables(**source_options: Any) -> LoadInfo:
    """The small, fully replaced tables: workspace users, integrations and their sync status."""
    source = outlit_source(**source_options).with_resources(
        "workspace_users", "integrations", "integration_syncs"
    )
    return run_fast(default_pipeline(), source)


def load_daily_activity_query(api_key: str | None = None, base_url: str | None = None) -> LoadInfo:
    """A custom ``outlit_query`` as an incremental table, paged past the 10,000-row cap."""
    activity = outlit_query_resource(
        "SELECT customer_id, event_id, occurred_at, event_channel, event_type FROM activity",
        name="activity_events",
        primary_key="event_id",
        incremental=dlt.sources.incremental("occurred_at", initial_value="2020-01-01T00:00:00Z"),
        api_key=api_key,
        base_url=base_url,
    )
    return run_fast(default_pipeline(), activity)


def load_to_postgres(credentials: str, **source_options: Any) -> dict[str, int]:
    """Everything into PostgreSQL, e.g. ``postgresql://loader:secret@localhost:5432/analytics``."""
    return load_all(destination=dlt.destinations.postgres(credentials), **source_options)


def load_to_snowflake(**source_options: Any) -> dict[str, int]:
    """Everything into Snowflake; credentials in ``[destination.snowflake.credentials]`` (docs/dlt.md)."""
    return load_all(destination="snowflake", **source_options)


USE_CASES: dict[str, Callable[..., Any]] = {
    "load_all": load_all,
    "load_reference_tables": load_reference_tables,
    "load_daily_activity_query": load_daily_activity_query,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    name = args[0] if args else "load_all"
    if name not in USE_CASES:
        print(f"unknown use case {name!r}; choose one of {sorted(USE_CASES)}", file=sys.stderr)
        return 2
    print(USE_CASES[name]())
    return 0


if __name__ == "__main__":
    sys.exit(main())
