"""dlt source for Outlit: customers, users, timelines, facts, sources and integrations, loaded incrementally.

    >>> import dlt
    >>> from dlt_sources.outlit import outlit_source
    >>> pipeline = dlt.pipeline("outlit", destination="duckdb", dataset_name="outlit_data")
    >>> pipeline.run(outlit_source())

The API key is read from ``SOURCES__OUTLIT__API_KEY`` or ``.dlt/secrets.toml`` (``[sources.outlit]``).
See ``docs/dlt.md`` for tables, columns, settings and destinations.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import dlt
from dlt.common import logger
from dlt.common.typing import TSecretStrValue
from dlt.sources import DltResource

from outlit_provider.client import OutlitClient

from .concurrency import Done, Failed, Page, fan_out
from .helpers import GONE, Rows, SharedClient, fact_pages, shape_customer, source_pages, timeline_pages
from .query import outlit_query_resource
from .settings import (
    CUSTOMERS_COLUMNS,
    DEFAULT_BASE_URL,
    DEFAULT_FACTS_FULL_REFRESH,
    DEFAULT_LOOKBACK,
    DEFAULT_MAX_WORKERS,
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
from .timestamps import format_timestamp, latest, minus, parse_timestamp, to_timedelta

__all__ = ["outlit_query_resource", "outlit_source"]


@dataclass(frozen=True)
class _Fetch:
    """One per-customer request plan: what to ask for and what to remember once it succeeded."""

    customer_id: str
    start: str | None
    end: str | None
    activity: str | None = None
    full: bool = False


@dlt.source(name="outlit")
def outlit_source(
    api_key: TSecretStrValue | None = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    customers: Sequence[str] | str | None = None,
    start_date: str | date | datetime | None = None,
    end_date: str | date | datetime | None = None,
    lookback_hours: float = DEFAULT_LOOKBACK.total_seconds() / 3600,
    facts_full_refresh_hours: float = DEFAULT_FACTS_FULL_REFRESH.total_seconds() / 3600,
    max_workers: int = DEFAULT_MAX_WORKERS,
    skip_unchanged_customers: bool = True,
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
        lookback_hours: Each run re-reads this much before every cursor to catch late-arriving records.
        facts_full_refresh_hours: How often each customer's facts are re-read in full, which is what
            catches a status change on a fact older than the look-back.
        max_workers: Per-customer requests in flight at once (all share one client and its limiter).
        skip_unchanged_customers: Do not ask for the timeline of a customer whose ``lastActivityAt`` has
            not moved since the last run. Late events of an otherwise idle customer then arrive with its
            next activity (within the look-back); set False to ask every customer on every run.
        include_sources: Also load the ``sources`` table (source records behind facts).
        timeout, max_retries, allow_insecure_http: Passed to the Outlit client.
        client: An ``OutlitClient`` to use instead of building one (it is not closed by the source).
    """
    lookback = to_timedelta(lookback_hours, field="lookback_hours")
    facts_full_refresh = to_timedelta(facts_full_refresh_hours, field="facts_full_refresh_hours")
    if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
        raise ValueError(f"max_workers must be a whole number >= 1 (1 = sequential), got {max_workers!r}")
    wanted = _customer_filter(customers)
    start = format_timestamp(parse_timestamp(start_date, field="start_date")) if start_date else None
    end = format_timestamp(parse_timestamp(end_date, field="end_date")) if end_date else None
    if start and end and start > end:
        raise ValueError(f"start_date ({start}) is after end_date ({end}); swap them or drop end_date")
    backfill = end is not None

    if client is not None:
        if not isinstance(client, OutlitClient):
            raise ValueError(f"client must be an OutlitClient, got {type(client).__name__}")
        shared = SharedClient(client=client)
    else:
        if not isinstance(api_key, str) or not api_key.strip():
            raise ValueError(
                "api_key is empty: set SOURCES__OUTLIT__API_KEY, or api_key under [sources.outlit] in "
                ".dlt/secrets.toml"
            )
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http(s) URL such as {DEFAULT_BASE_URL}, got {base_url!r}")
        key, url = api_key.strip(), base_url.rstrip("/")

        def build() -> OutlitClient:
            return OutlitClient(
                key,
                base_url=url,
                timeout=timeout,
                max_retries=max_retries,
                allow_insecure_http=allow_insecure_http,
            )

        shared = SharedClient(build)

    def listing(tool: str, tool_input: dict[str, Any]) -> Iterator[Rows]:
        with shared.lease() as outlit:
            for page in outlit.iter_pages(tool, tool_input):
                yield page.get("items") or []

    @dlt.resource(name="customers", primary_key="id", write_disposition="merge", columns=CUSTOMERS_COLUMNS)
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

    @dlt.resource(name="users", primary_key="id", write_disposition="merge", columns=USERS_COLUMNS)
    def users() -> Iterator[Rows]:
        for rows in listing(TOOL_LIST_USERS, {"orderBy": "first_seen_at", "orderDirection": "asc"}):
            if wanted is not None:
                rows = [row for row in rows if row.get("customerId") in wanted]
            if rows:
                yield rows

    @dlt.resource(
        name="workspace_users", primary_key="id", write_disposition="merge", columns=WORKSPACE_USERS_COLUMNS
    )
    def workspace_users() -> Iterator[Rows]:
        yield from listing(TOOL_LIST_WORKSPACE_USERS, {"orderBy": "email", "orderDirection": "asc"})

    def run_per_customer(
        plans: list[_Fetch], fetch: Any, state: dict[str, Any] | None, remember: Any
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

    @dlt.transformer(
        name="timeline",
        data_from=customers_resource,
        primary_key="id",
        write_disposition="merge",
        columns=TIMELINE_COLUMNS,
    )
    def timeline(customer_page: Rows) -> Iterator[Rows]:
        state = None if backfill else dlt.current.resource_state().setdefault("customers", {})
        plans = []
        for customer in _as_rows(customer_page):
            cid, activity = customer["id"], customer.get("lastActivityAt")
            entry = state.get(cid) if state is not None else None
            if backfill:
                plans.append(_Fetch(cid, start, end))
            elif entry is None:
                plans.append(_Fetch(cid, start, None, activity))
            elif skip_unchanged_customers and _same_time(entry.get("activity"), activity):
                continue
            else:
                since = minus(entry["cursor"], lookback) if entry.get("cursor") else start
                plans.append(_Fetch(cid, since, None, activity))

        def remember(state: dict[str, Any], plan: _Fetch, cursor: str | None) -> None:
            previous = state.get(plan.customer_id) or {}
            state[plan.customer_id] = {
                "cursor": latest(previous.get("cursor"), cursor),
                "activity": plan.activity,
            }

        yield from run_per_customer(
            plans, lambda outlit, p: timeline_pages(outlit, p.customer_id, p.start, p.end), state, remember
        )

    @dlt.transformer(
        name="facts",
        data_from=customers_resource,
        primary_key="id",
        write_disposition="merge",
        columns=FACTS_COLUMNS,
    )
    def facts(customer_page: Rows) -> Iterator[Rows]:
        state = None if backfill else dlt.current.resource_state().setdefault("customers", {})
        now = datetime.now(UTC)
        plans = []
        for customer in _as_rows(customer_page):
            cid = customer["id"]
            entry = state.get(cid) if state is not None else None
            if backfill:
                plans.append(_Fetch(cid, start, end))
            elif (
                entry is None
                or now - parse_timestamp(entry["full_at"], field="full_at") >= facts_full_refresh
            ):
                plans.append(_Fetch(cid, start, None, full=True))
            else:
                basis = entry.get("cursor") or entry["full_at"]
                plans.append(_Fetch(cid, minus(basis, lookback), None))

        def remember(state: dict[str, Any], plan: _Fetch, cursor: str | None) -> None:
            previous = state.get(plan.customer_id) or {}
            state[plan.customer_id] = {
                "cursor": latest(previous.get("cursor"), cursor),
                "full_at": format_timestamp(now) if plan.full else previous["full_at"],
            }

        yield from run_per_customer(
            plans, lambda outlit, p: fact_pages(outlit, p.customer_id, p.start, p.end), state, remember
        )

    @dlt.resource(
        name="sources",
        primary_key=("source_type", "source_id"),
        write_disposition="merge",
        columns=SOURCES_COLUMNS,
        selected=include_sources,
    )
    def sources() -> Iterator[Rows]:
        # Without a customer filter one listing covers every customer (and records tied to none).
        state = None if backfill else dlt.current.resource_state().setdefault("scopes", {})
        scopes = sorted(wanted) if wanted is not None else ["*"]
        plans = []
        for scope in scopes:
            cursor = (state or {}).get(scope)
            since = start if backfill or cursor is None else minus(cursor, lookback)
            plans.append(_Fetch(scope, since, end if backfill else None))

        def remember(state: dict[str, Any], plan: _Fetch, cursor: str | None) -> None:
            state[plan.customer_id] = latest(state.get(plan.customer_id), cursor)

        yield from run_per_customer(
            plans,
            lambda outlit, p: source_pages(
                outlit, None if p.customer_id == "*" else p.customer_id, p.start, p.end
            ),
            state,
            remember,
        )

    @dlt.resource(
        name="integrations", primary_key="id", write_disposition="replace", columns=INTEGRATIONS_COLUMNS
    )
    def integrations() -> Iterator[Rows]:
        with shared.lease() as outlit:
            yield outlit.list_integrations()

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
                status = outlit.sync_status(provider)
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
        customers = [part for part in (p.strip() for p in customers.split(",")) if part]
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


def _same_time(seen: str | None, now: str | None) -> bool:
    if seen is None or now is None:
        return seen is now
    return parse_timestamp(now, field="lastActivityAt") <= parse_timestamp(seen, field="lastActivityAt")
