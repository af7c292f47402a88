"""dlt source for Outlit: customers, users, timelines, facts, sources and integrations, loaded incrementally.

Usage::

    import dlt
    from dlt_sources.outlit import outlit_source

    pipeline = dlt.pipeline("outlit", destination="duckdb", dataset_name="outlit_data")
    pipeline.run(outlit_source())

The API key is read from ``SOURCES__OUTLIT__API_KEY``, ``.dlt/secrets.toml`` (``[sources.outlit]``) or
``OUTLIT_API_KEY``: one order for every Outlit piece, in ``credentials.py`` and docs/dlt.md.
Resources yield one Arrow table per page, so dlt writes Parquet directly wherever the destination takes
it. The resource functions live in ``resources.py``; this function only checks the settings and binds them.
See ``docs/dlt.md`` for tables, columns, settings and destinations.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import dlt
from dlt.common.typing import TSecretStrValue
from dlt.sources import DltResource

from . import resources
from .arrow import quiet_json_hint_notice
from .options import make_run
from .query import outlit_query_resource
from .settings import (
    DEFAULT_FACTS_FULL_REFRESH,
    DEFAULT_LOOKBACK,
    DEFAULT_MAX_WORKERS,
    DEFAULT_TIMELINE_RECHECK,
)

__all__ = ["outlit_query_resource", "outlit_source"]

quiet_json_hint_notice(resources.RESOURCE_NAMES)


@dlt.source(name="outlit")
def outlit_source(
    api_key: TSecretStrValue | None = dlt.secrets.value,
    base_url: str | None = None,
    # str first: dlt then takes a plain env/TOML string as is (a list type would refuse it).
    customers: str | Sequence[str] | None = None,
    start_date: str | date | datetime | None = None,
    end_date: str | date | datetime | None = None,
    lookback_hours: float = DEFAULT_LOOKBACK.total_seconds() / 3600,
    facts_full_refresh_hours: float = DEFAULT_FACTS_FULL_REFRESH.total_seconds() / 3600,
    max_workers: int = DEFAULT_MAX_WORKERS,
    requests_per_second: float | None = None,
    skip_unchanged_customers: bool = True,
    timeline_recheck_hours: float = DEFAULT_TIMELINE_RECHECK.total_seconds() / 3600,
    bulk_timeline: bool = False,
    facts_on_activity: bool = True,
    include_sources: bool = False,
    timeout: float = 30.0,
    max_retries: int | None = None,
    allow_insecure_http: bool = False,
    client: Any = None,
    arrow: bool | None = None,
) -> Sequence[DltResource]:
    """Outlit customer intelligence as dlt resources.

    Args:
        api_key: Outlit API key (``ok_...``). Keep it in secrets.toml or ``SOURCES__OUTLIT__API_KEY``.
        base_url: Outlit platform URL (default: looked up like the key, then the public API); point it at
            a sandbox for tests.
        customers: Restrict every per-customer resource to these customer ids or domains.
        start_date: Earliest activity/fact/source time for a first run; all history when omitted.
        end_date: With it, the run is a backfill of ``[start_date, end_date]`` that neither reads nor
            moves the incremental cursors, so it can run beside the scheduled sync.
        lookback_hours: Each run re-reads this much before every cursor to catch late-arriving records:
            how much older than a customer's latest event a late event may be and still be loaded.
        facts_full_refresh_hours: How often each customer's facts are read in full. Outlit filters facts
            by occurrence time, so only a full read loads a fact detected now about something old, or a
            status change: both land within this many hours (plus one run interval).
        max_workers: Requests in flight at once across the whole run (per-customer fetches and the
            listings running beside them, all through one client); 1 makes the run sequential.
        requests_per_second: Pace every request of the run (all resources and workers together) to
            this rate, e.g. your plan's limit; unpaced when omitted. It is the shared client's
            ``platform_rps``; a 429 pauses every worker whatever this is set to.
        skip_unchanged_customers: Do not ask for the timeline of a customer whose ``lastActivityAt`` has
            not moved since the last run, except once per ``timeline_recheck_hours``. Set False to ask
            every customer on every run.
        timeline_recheck_hours: With ``skip_unchanged_customers``, how often every customer's timeline
            is asked again anyway (from its cursor minus the look-back). A late event does not move
            ``lastActivityAt``, so this is what loads it: at most this many hours after it arrived.
        bulk_timeline: On incremental runs, read the new events of every customer that has a cursor
            from the analytics ``activity`` view (``outlit_query``, keyset pages of 10,000 rows, each
            customer from its own cursor minus the look-back) instead of one timeline request per
            customer; whole histories still come from the timeline tool. See docs/dlt.md for when.
        facts_on_activity: Between full reads, also read the recent facts of every customer whose
            ``lastActivityAt`` moved (one request per such customer). False: facts only by the full
            reads, so a new fact lands within ``facts_full_refresh_hours`` plus one run.
        include_sources: Also load the ``sources`` table (source records behind facts).
        timeout, max_retries, allow_insecure_http: Passed to the Outlit client.
        client: An ``OutlitClient`` to use instead of building one (it is not closed by the source).
        arrow: Yield Arrow tables (True) or rows (False). By default Arrow, except on a destination that
            would keep JSON text as a string (Snowflake) or that was not tried with it (see docs/dlt.md).
    """
    settings = dict(locals())  # every argument as given (first statement: nothing else is local yet)
    settings.pop("include_sources")
    run = make_run(**settings)
    customer_pages = resources.customers(run)
    integration_list = resources.integrations(run)
    source_records = resources.sources(run)
    source_records.selected = include_sources
    return (
        customer_pages,
        resources.users(run),
        resources.workspace_users(run),
        customer_pages | resources.timeline(run),
        customer_pages | resources.facts(run),
        source_records,
        integration_list,
        integration_list | resources.integration_syncs(run),
    )
