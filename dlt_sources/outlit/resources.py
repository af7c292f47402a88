"""The Outlit resources, at module level; ``outlit_source`` binds them to one run (see ``__init__.py``).

Every resource yields one Arrow table per API page (``arrow.py``), or the shaped rows themselves for a
destination that would store JSON text as a string (``Run.arrow``). Every request runs on the fan-out's
worker threads (``concurrency.py``); the generators dlt drives only wait on its queue, and yield ``None``
while waiting, which dlt skips.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar

import dlt
from dlt.common import logger
from dlt.common.schema.typing import TTableSchemaColumns

from outlit_core.client import OutlitClient
from outlit_core.client.exceptions import OutlitNotFoundError

from .activity import ActivityChunk, activity_pages, chunk_plans
from .arrow import PageBatch, column_values, latest_timestamp, to_table
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
from .helpers import (
    FACTS,
    SOURCES,
    TIMELINE,
    CustomerTool,
    Rows,
    SharedClient,
    customer_pages,
    shape_customer,
)
from .settings import (
    BATCH_ROWS,
    CUSTOMERS_COLUMNS,
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
from .timestamps import format_timestamp, latest

# one planned request series: one customer's (Fetch) or many customers' at once (ActivityChunk)
P = TypeVar("P", bound=Fetch | ActivityChunk)

RESOURCE_NAMES = (
    "customers",
    "users",
    "workspace_users",
    "timeline",
    "facts",
    "sources",
    "integrations",
    "integration_syncs",
)


@dataclass
class Run:
    """What one ``outlit_source(...)`` call binds its resources to."""

    shared: SharedClient
    window: Window
    wanted: frozenset[str] | None
    max_workers: int
    skip_unchanged_customers: bool
    timeline_recheck: timedelta
    facts_full_refresh: timedelta
    bulk_timeline: bool = False
    facts_on_activity: bool = True
    arrow: bool | None = None  # None: decided per run from the pipeline's destination
    _arrow_for_run: bool | None = field(default=None, repr=False)

    def page(self, rows: Rows, columns: TTableSchemaColumns) -> Any:
        """One page as dlt gets it: an Arrow table of the declared columns, or the rows."""
        return to_table(rows, columns) if self.use_arrow() else rows

    def use_arrow(self) -> bool:
        if self.arrow is not None:
            return self.arrow
        if self._arrow_for_run is None:
            self._arrow_for_run = arrow_suits_destination()
        return self._arrow_for_run


# Destinations that store a JSON-text Arrow column as JSON (DuckDB JSON, PostgreSQL jsonb, JSON text in
# files). Snowflake would keep it as a string inside VARIANT; there, and on destinations not tried, the
# source yields rows and dlt's normalizer builds the nested values as before.
ARROW_DESTINATIONS = frozenset({"duckdb", "motherduck", "postgres", "filesystem"})


def arrow_suits_destination() -> bool:
    """Whether the running pipeline's destination takes JSON text for ``json`` columns (True if unknown)."""
    from dlt.common.configuration.container import Container
    from dlt.common.pipeline import PipelineContext

    try:
        context = Container()[PipelineContext]
        if not context.is_active():
            return True
        destination = context.pipeline().destination
    except Exception:  # no pipeline context (e.g. iterating a resource by hand)
        return True
    if destination is None:
        return True
    return str(destination.destination_type).rsplit(".", 1)[-1] in ARROW_DESTINATIONS


def _drive(
    run: Run,
    plans: Iterable[P],
    fetch: Callable[[OutlitClient, P], Iterator[Any]],
    *,
    spec: CustomerTool | None = None,
    on_done: Callable[[P, str | None], None] | None = None,
    batch_rows: int = BATCH_ROWS,
) -> Iterator[Any]:
    """Fetch every plan on the run's workers; yield pages; report each completed plan with its cursor.

    The cursor is the latest ``spec.cursor`` value among the rows received for that plan. A customer
    deleted since the listing (404) is skipped with a warning and reported nowhere, so it keeps no state.
    Pages are handed to dlt joined into items of about ``batch_rows`` rows (0: each page as it comes).
    """
    cursors: dict[P, str | None] = {}
    batch = PageBatch(batch_rows)
    run.use_arrow()  # decided here, in dlt's thread, where the running pipeline is known (not in workers)
    with run.shared.lease() as outlit:
        messages = fan_out(
            plans, lambda plan: fetch(outlit, plan), max_workers=run.max_workers, stop=run.shared.stop
        )
        try:
            for message in messages:
                if message is None:
                    yield None  # nothing yet: let dlt go on (and close this generator if it must)
                elif isinstance(message, Page):
                    if spec is not None:
                        cursors[message.task] = latest(cursors.get(message.task), _latest(message.rows, spec))
                    if (full := batch.add(message.rows)) is not None:
                        yield full
                elif isinstance(message, Failed):
                    if isinstance(message.error, OutlitNotFoundError) and spec is not None:
                        logger.warning(f"Outlit: customer {message.task.customer_id} disappeared; skipped")
                        continue
                    raise message.error
                elif isinstance(message, Done) and on_done is not None:
                    # dlt commits this state only with the whole extract, so pages still in the batch
                    # are never lost behind a cursor that moved
                    on_done(message.task, cursors.pop(message.task, None))
            if (rest := batch.take()) is not None:
                yield rest
        finally:
            messages.close()


def _latest(page: Any, spec: CustomerTool) -> str | None:
    if isinstance(page, list):
        key = spec.cursor_key
        return _latest_of(row.get(key) for row in page)
    return latest_timestamp(page, spec.cursor)


def _latest_of(values: Iterable[Any]) -> str | None:
    cursor: str | None = None
    for value in values:
        cursor = latest(cursor, value)
    return cursor


def _listing(
    run: Run,
    tool: str,
    tool_input: dict[str, Any],
    shape: Callable[[Rows], Rows],
    columns: TTableSchemaColumns,
) -> Iterator[Any]:
    def fetch(outlit: OutlitClient, _plan: Fetch) -> Iterator[Any]:
        for page in run.shared.gated(outlit.iter_pages(tool, tool_input)):
            rows = shape(page.get("items") or [])
            if rows:
                yield run.page(rows, columns)

    # customers pages feed the per-customer transformers: handed over one by one, so those start early
    batch_rows = 0 if tool == TOOL_LIST_CUSTOMERS else BATCH_ROWS
    return _drive(run, [Fetch(tool, None)], fetch, batch_rows=batch_rows)


def _state(run: Run, resource: str, key: str) -> dict[str, Any] | None:
    # A backfill neither reads nor writes cursors. The name is explicit because parallelized resources
    # run in dlt's worker threads, where dlt cannot infer it.
    return None if run.window.backfill else dlt.current.resource_state(resource).setdefault(key, {})


def _customers_of(page: Any) -> list[dict[str, Any]]:
    """``id`` and ``lastActivityAt`` of each customer of a ``customers`` page (Arrow table or rows)."""
    if isinstance(page, list):
        return [{"id": row["id"], "lastActivityAt": row.get("lastActivityAt")} for row in page]
    ids = column_values(page, "id")
    activity = column_values(page, "last_activity_at")
    return [
        {"id": cid, "lastActivityAt": format_timestamp(at) if isinstance(at, datetime) else at}
        for cid, at in zip(ids, activity, strict=True)
    ]


def _table(
    name: str,
    columns: TTableSchemaColumns,
    *,
    primary_key: str | tuple[str, ...] = "id",
    write_disposition: Literal["merge", "replace"] = "merge",
    transformer: bool = False,
) -> Any:
    """One of the source's tables; a transformer is fed another resource's pages. Every request of every
    table runs on the fan-out's workers, so dlt may run the generators side by side (``parallelized``)."""
    make: Any = dlt.transformer if transformer else dlt.resource
    return make(
        name=name,
        primary_key=primary_key,
        write_disposition=write_disposition,
        columns=columns,
        parallelized=True,
    )


@_table("customers", CUSTOMERS_COLUMNS)
def customers(run: Run) -> Iterator[Any]:
    wanted = run.wanted
    unmatched = set(wanted or ())

    def shape(rows: Rows) -> Rows:
        if wanted is not None:
            rows = [row for row in rows if row.get("id") in wanted or row.get("domain") in wanted]
            unmatched.difference_update({row.get("id") for row in rows} | {row.get("domain") for row in rows})
        return [shape_customer(row) for row in rows]

    # first_seen_at never changes, so pages stay stable while customers are active during the run
    order = {"orderBy": "first_seen_at", "orderDirection": "asc"}
    yield from _listing(run, TOOL_LIST_CUSTOMERS, order, shape, CUSTOMERS_COLUMNS)
    if unmatched:
        logger.warning(f"Outlit: customers {sorted(unmatched)} from the `customers` setting were not found")


@_table("users", USERS_COLUMNS)
def users(run: Run) -> Iterator[Any]:
    wanted = run.wanted

    def shape(rows: Rows) -> Rows:
        if wanted is None:
            return rows
        return [r for r in rows if r.get("customerId") in wanted or r.get("customerDomain") in wanted]

    order = {"orderBy": "first_seen_at", "orderDirection": "asc"}
    yield from _listing(run, TOOL_LIST_USERS, order, shape, USERS_COLUMNS)


@_table("workspace_users", WORKSPACE_USERS_COLUMNS)
def workspace_users(run: Run) -> Iterator[Any]:
    order = {"orderBy": "email", "orderDirection": "asc"}
    yield from _listing(run, TOOL_LIST_WORKSPACE_USERS, order, lambda rows: rows, WORKSPACE_USERS_COLUMNS)


def _per_customer(run: Run, spec: CustomerTool, columns: TTableSchemaColumns) -> Callable[..., Iterator[Any]]:
    def fetch(outlit: OutlitClient, plan: Fetch) -> Iterator[Any]:
        scope = None if plan.customer_id == "*" else plan.customer_id
        for rows in customer_pages(run.shared, outlit, spec, scope, plan.start, plan.end):
            if rows:
                yield run.page(rows, columns)

    return fetch


@_table("timeline", TIMELINE_COLUMNS, transformer=True)
def timeline(customer_page: Any, run: Run) -> Iterator[Any]:
    state = _state(run, "timeline", "customers")
    now = datetime.now(UTC)
    plans = plan_timeline(
        _customers_of(customer_page),
        state,
        run.window,
        run.skip_unchanged_customers,
        recheck_every=run.timeline_recheck,
        now=now,
    )

    per_customer = _per_customer(run, TIMELINE, TIMELINE_COLUMNS)
    tasks: list[Fetch | ActivityChunk] = list(plans)
    if run.bulk_timeline and state is not None:
        # customers with a cursor are read from the activity view, new ones (whole histories) one by one
        tasks = [p for p in plans if p.customer_id not in state]
        tasks += chunk_plans([p for p in plans if p.customer_id in state])
    # a customer's cursor from its rows in a chunk; each chunk is written by the one worker reading it
    chunk_cursors: dict[str, str | None] = {}

    def fetch(outlit: OutlitClient, plan: Fetch | ActivityChunk) -> Iterator[Any]:
        if not isinstance(plan, ActivityChunk):
            yield from per_customer(outlit, plan)
            return
        for rows in activity_pages(run.shared, outlit, plan):
            for row in rows:
                cid = row["customer_id"]
                chunk_cursors[cid] = latest(chunk_cursors.get(cid), row["occurredAt"])
            if rows:
                yield run.page(rows, TIMELINE_COLUMNS)

    def done(plan: Fetch | ActivityChunk, cursor: str | None) -> None:
        if state is None:
            return
        if isinstance(plan, ActivityChunk):
            for member in plan.members:
                remember_timeline(state, member, chunk_cursors.get(member.customer_id), now)
        else:
            remember_timeline(state, plan, cursor, now)

    yield from _drive(run, tasks, fetch, spec=TIMELINE, on_done=done)


@_table("facts", FACTS_COLUMNS, transformer=True)
def facts(customer_page: Any, run: Run) -> Iterator[Any]:
    state = _state(run, "facts", "customers")
    now = datetime.now(UTC)
    customers, window = _customers_of(customer_page), run.window
    plans = plan_facts(
        customers, state, window, run.facts_full_refresh, now, on_activity=run.facts_on_activity
    )

    def done(plan: Fetch, _cursor: str | None) -> None:
        if state is not None:
            remember_facts(state, plan, now)

    yield from _drive(run, plans, _per_customer(run, FACTS, FACTS_COLUMNS), spec=FACTS, on_done=done)


@_table("sources", SOURCES_COLUMNS, primary_key=("source_type", "source_id"))
def sources(run: Run) -> Iterator[Any]:
    # Without a customer filter one listing covers every customer (and records tied to none).
    state = _state(run, "sources", "scopes")
    scopes = sorted(run.wanted) if run.wanted is not None else ["*"]

    def done(plan: Fetch, cursor: str | None) -> None:
        if state is not None:
            remember_sources(state, plan, cursor)

    plans = plan_sources(scopes, state, run.window)
    yield from _drive(run, plans, _per_customer(run, SOURCES, SOURCES_COLUMNS), spec=SOURCES, on_done=done)


@_table("integrations", INTEGRATIONS_COLUMNS, write_disposition="replace")
def integrations(run: Run) -> Iterator[Any]:
    def fetch(outlit: OutlitClient, _plan: Fetch) -> Iterator[Any]:
        rows = run.shared.call(outlit.list_integrations)
        if rows:
            yield run.page(rows, INTEGRATIONS_COLUMNS)

    yield from _drive(run, [Fetch("integrations", None)], fetch)


@_table(
    "integration_syncs",
    INTEGRATION_SYNCS_COLUMNS,
    primary_key=("provider", "model"),
    write_disposition="replace",
    transformer=True,
)
def integration_syncs(integration_page: Any, run: Run) -> Iterator[Any]:
    ids = column_values(integration_page, "id")
    statuses = column_values(integration_page, "status")
    connected = [Fetch(pid, None) for pid, status in zip(ids, statuses, strict=True) if status == "connected"]

    def fetch(outlit: OutlitClient, plan: Fetch) -> Iterator[Any]:
        status = run.shared.call(lambda: outlit.sync_status(plan.customer_id))
        rows = [{"provider": plan.customer_id, **sync} for sync in status.get("syncs") or []]
        if rows:
            yield run.page(rows, INTEGRATION_SYNCS_COLUMNS)

    yield from _drive(run, connected, fetch)
