"""dlt source for Outlit: customers, users, timelines, facts, sources and integrations, loaded incrementally.

Usage::

    import dlt
    from dlt_sources.outlit import outlit_source

    pipeline = dlt.pipeline("outlit", destination="duckdb", dataset_name="outlit_data")
    pipeline.run(outlit_source(), loader_file_format="parquet")

The API key is read from ``SOURCES__OUTLIT__API_KEY`` or ``.dlt/secrets.toml`` (``[sources.outlit]``).
See ``docs/dlt.md`` for tables, columns, settings and destinations.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

import dlt
from dlt.common import logger
from dlt.common.typing import TSecretStrValue
from dlt.sources import DltResource

from outlit_core.client import OutlitClient
from outlit_core.client.urls import check_base_url

from .concurrency import Done, Failed, Page, fan_out
from .cursors import (
    Fetch,
    Window,
    plan_facts,
    plan_sources,
    plan_timeline,
    remember_facts,
    remember_sources,
    remember_timeline,
)
from .helpers import GONE, Rows, SharedClient, fact_pages, shape_customer, source_pages, timeline_pages
from .query import outlit_query_resource
from .settings import (
    CUSTOMERS_COLUMNS,
    DEFAULT_BASE_URL,
    DEFAULT_FACTS_FULL_REFRESH,
    DEFAULT_LOOKBACK,
    DEFAULT_MAX_WORKERS,
    DEFAULT_TIMELINE_RECHECK,
    FACTS_COLUMNS,
    INTEGRATION_SYNCS_COLUMNS,
    INTEGRATIONS_COLUMNS,
    SOURCES_COLUMNS,
    TIMELINE_COLUMNS,
    TOOL_LIST_CUSTOMERS,
    TOOL_LIST_USERS,
    TOOL_LIST_WORKSPACE_USERS,
    USERS_COLUMNS,
    WORKSPACE_USERS_COLUMNS,
)
from .timestamps import format_timestamp, parse_timestamp, to_timedelta

__all__ = ["outlit_query_resource", "outlit_source"]


@dlt.source(name="outlit")
def outlit_source(
    api_key: TSecretStrValue | None = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
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
    include_sources: bool = False,
    timeout: float = 30.0,
    max_retries: int | None = None,
    allow_insecure_http: bool = False,
    client: Any = None,
) -> Sequence[DltResource]:
    """Outlit customer intelligence as dlt resources.

    Args:
        api_key: Outlit API key (``ok_...``). Keep it in secrets.toml or ``SOURCES__OUTLIT__API_KEY``.
        base_url: Outlit platform URL; point it at a sandbox for tests.
        customers: Restrict every per-customer resource to these customer ids or domains.
        start_date: Earliest activity/fact/source time for a first run; all history when omitted.
        end_date: With it, the run is a backfill of ``[start_date, end_date]`` that neither reads nor
            moves the incremental cursors, so it can run beside the scheduled sync.
        lookback_hours: Each run re-reads this much before every cursor to catch late-arriving records:
            how much older than a customer's latest event a late event may be and still be loaded.
        facts_full_refresh_hours: How often each customer's facts are re-read in full, which is what
            catches a status change on a fact older than the look-back.
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
        include_sources: Also load the ``sources`` table (source records behind facts).
        timeout, max_retries, allow_insecure_http: Passed to the Outlit client.
        client: An ``OutlitClient`` to use instead of building one (it is not closed by the source).
    """
    lookback = to_timedelta(lookback_hours, field="lookback_hours")
    facts_full_refresh = to_timedelta(facts_full_refresh_hours, field="facts_full_refresh_hours")
    timeline_recheck = to_timedelta(timeline_recheck_hours, field="timeline_recheck_hours")
    if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
        raise ValueError(f"max_workers must be a whole number >= 1 (1 = sequential), got {max_workers!r}")
    if requests_per_second is not None and (
        isinstance(requests_per_second, bool)
        or not isinstance(requests_per_second, int | float)
        or requests_per_second <= 0
    ):
        raise ValueError(
            "requests_per_second must be a positive number (or omitted for no pacing), "
            f"got {requests_per_second!r}"
        )
    wanted = _customer_filter(customers)
    start = format_timestamp(parse_timestamp(start_date, field="start_date")) if start_date else None
    end = format_timestamp(parse_timestamp(end_date, field="end_date")) if end_date else None
    if start and end and start > end:
        raise ValueError(f"start_date ({start}) is after end_date ({end}); swap them or drop end_date")
    window = Window(start, end, lookback)

    if client is not None:
        if not isinstance(client, OutlitClient):
            raise ValueError(f"client must be an OutlitClient, got {type(client).__name__}")
        if requests_per_second is not None and client.config.platform_rps != requests_per_second:
            raise ValueError(
                "requests_per_second paces the client the source builds; a client passed in keeps its own "
                f"rate: build it with OutlitClient(..., platform_rps={requests_per_second!r}) instead"
            )
        shared = SharedClient(client=client, max_in_flight=max_workers)
    else:
        if not isinstance(api_key, str) or not api_key.strip():
            raise ValueError(
                "api_key is empty: set SOURCES__OUTLIT__API_KEY, or api_key under [sources.outlit] in "
                ".dlt/secrets.toml"
            )
        key, url = api_key.strip(), check_base_url(base_url, allow_insecure_http=allow_insecure_http)

        def build() -> OutlitClient:
            return OutlitClient(
                key,
                base_url=url,
                timeout=timeout,
                max_retries=max_retries,
                allow_insecure_http=allow_insecure_http,
                # one client serves every resource and worker, so its platform limiter paces the whole run
                platform_rps=requests_per_second,
            )

        shared = SharedClient(build, max_in_flight=max_workers)

    def listing(tool: str, tool_input: dict[str, Any]) -> Iterator[Rows]:
        with shared.lease() as outlit:
            for page in shared.gated(outlit.iter_pages(tool, tool_input)):
                yield page.get("items") or []

    @dlt.resource(
        name="customers",
        primary_key="id",
        write_disposition="merge",
        columns=CUSTOMERS_COLUMNS,
        parallelized=True,
    )
    def customers_resource() -> Iterator[Rows]:
        # first_seen_at never changes, so pages stay stable while customers are active during the run
        unmatched = set(wanted or ())
        for rows in listing(TOOL_LIST_CUSTOMERS, {"orderBy": "first_seen_at", "orderDirection": "asc"}):
            if wanted is not None:
                rows = [row for row in rows if row.get("id") in wanted or row.get("domain") in wanted]
                unmatched -= {row.get("id") for row in rows} | {row.get("domain") for row in rows}
            if rows:
                yield [shape_customer(row) for row in rows]
        if unmatched:
            logger.warning(
                f"Outlit: customers {sorted(unmatched)} from the `customers` setting were not found"
            )

    @dlt.resource(
        name="users", primary_key="id", write_disposition="merge", columns=USERS_COLUMNS, parallelized=True
    )
    def users() -> Iterator[Rows]:
        for rows in listing(TOOL_LIST_USERS, {"orderBy": "first_seen_at", "orderDirection": "asc"}):
            if wanted is not None:
                rows = [
                    row
                    for row in rows
                    if row.get("customerId") in wanted or row.get("customerDomain") in wanted
                ]
            if rows:
                yield rows

    @dlt.resource(
        name="workspace_users",
        primary_key="id",
        write_disposition="merge",
        columns=WORKSPACE_USERS_COLUMNS,
        parallelized=True,
    )
    def workspace_users() -> Iterator[Rows]:
        yield from listing(TOOL_LIST_WORKSPACE_USERS, {"orderBy": "email", "orderDirection": "asc"})

    def run_per_customer(
        plans: list[Fetch],
        fetch: Callable[[OutlitClient, Fetch], Generator[Rows, None, Any]],
        state: dict[str, Any] | None,
        remember: Callable[[dict[str, Any], Fetch, Any], None],
    ) -> Iterator[Rows]:
        if not plans:
            return
        with shared.lease() as outlit:
            messages = fan_out(plans, lambda plan: fetch(outlit, plan), max_workers=max_workers)
            for message in messages:
                if isinstance(message, Page):
                    yield message.rows
                elif isinstance(message, Failed):
                    raise message.error
                elif isinstance(message, Done):
                    if message.result is GONE:
                        logger.warning(f"Outlit: customer {message.task.customer_id} disappeared; skipped")
                    elif state is not None:
                        remember(state, message.task, message.result)

    def state_of(resource: str, key: str) -> dict[str, Any] | None:
        # A backfill neither reads nor writes cursors. The name is explicit because parallelized
        # resources run in dlt's worker threads, where dlt cannot infer it.
        return None if window.backfill else dlt.current.resource_state(resource).setdefault(key, {})

    @dlt.transformer(
        name="timeline",
        data_from=customers_resource,
        primary_key="id",
        write_disposition="merge",
        columns=TIMELINE_COLUMNS,
        parallelized=True,
    )
    def timeline(customer_page: Rows) -> Iterator[Rows]:
        state = state_of("timeline", "customers")
        now = datetime.now(UTC)
        plans = plan_timeline(
            _as_rows(customer_page),
            state,
            window,
            skip_unchanged_customers,
            recheck_every=timeline_recheck,
            now=now,
        )
        yield from run_per_customer(
            plans,
            lambda outlit, p: timeline_pages(outlit, p.customer_id, p.start, p.end, shared.gated),
            state,
            lambda state, plan, cursor: remember_timeline(state, plan, cursor, now),
        )

    @dlt.transformer(
        name="facts",
        data_from=customers_resource,
        primary_key="id",
        write_disposition="merge",
        columns=FACTS_COLUMNS,
        parallelized=True,
    )
    def facts(customer_page: Rows) -> Iterator[Rows]:
        state = state_of("facts", "customers")
        now = datetime.now(UTC)
        yield from run_per_customer(
            plan_facts(_as_rows(customer_page), state, window, facts_full_refresh, now),
            lambda outlit, p: fact_pages(outlit, p.customer_id, p.start, p.end, shared.gated),
            state,
            lambda state, plan, cursor: remember_facts(state, plan, cursor, now),
        )

    @dlt.resource(
        name="sources",
        primary_key=("source_type", "source_id"),
        write_disposition="merge",
        columns=SOURCES_COLUMNS,
        selected=include_sources,
        parallelized=True,
    )
    def sources() -> Iterator[Rows]:
        # Without a customer filter one listing covers every customer (and records tied to none).
        state = state_of("sources", "scopes")
        yield from run_per_customer(
            plan_sources(sorted(wanted) if wanted is not None else ["*"], state, window),
            lambda outlit, p: source_pages(
                outlit, None if p.customer_id == "*" else p.customer_id, p.start, p.end, shared.gated
            ),
            state,
            remember_sources,
        )

    @dlt.resource(
        name="integrations",
        primary_key="id",
        write_disposition="replace",
        columns=INTEGRATIONS_COLUMNS,
        parallelized=True,
    )
    def integrations() -> Iterator[Rows]:
        with shared.lease() as outlit:
            yield shared.call(outlit.list_integrations)

    @dlt.transformer(
        name="integration_syncs",
        data_from=integrations,
        primary_key=("provider", "model"),
        write_disposition="replace",
        columns=INTEGRATION_SYNCS_COLUMNS,
    )
    def integration_syncs(integration_page: Rows) -> Iterator[Rows]:
        connected = [row["id"] for row in _as_rows(integration_page) if row.get("status") == "connected"]
        with shared.lease() as outlit:
            for provider in connected:
                status = shared.call(lambda p=provider: outlit.sync_status(p))
                yield [{"provider": provider, **sync} for sync in status.get("syncs") or []]

    return (
        customers_resource,
        users,
        workspace_users,
        timeline,
        facts,
        sources,
        integrations,
        integration_syncs,
    )


def _customer_filter(customers: Sequence[str] | str | None) -> frozenset[str] | None:
    if customers is None:
        return None
    if isinstance(customers, str):
        text = customers.strip()
        if text.startswith("["):  # a JSON list given through an environment variable
            try:
                customers = json.loads(text)
            except ValueError:
                raise ValueError(
                    f"customers looks like a JSON list but does not parse: {text!r}; "
                    'write it as ["acme.com", "globex.com"] or as acme.com, globex.com'
                ) from None
        else:
            customers = [part for part in (p.strip() for p in text.split(",")) if part]
    values = list(customers)
    bad = [value for value in values if not isinstance(value, str) or not value.strip()]
    if bad or not values:
        raise ValueError(
            "customers must be a non-empty list of customer ids or domains (e.g. ['acme.com']), "
            f"got {customers!r}"
        )
    return frozenset(value.strip() for value in values)


def _as_rows(item: Any) -> Rows:
    return item if isinstance(item, list) else [item]
