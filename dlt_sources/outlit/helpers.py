"""The shared client, per-customer fetchers and row shaping used by the Outlit source's resources."""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any, TypeVar

from dlt.common import logger

from outlit_core.client import OutlitClient
from outlit_core.client.exceptions import OutlitNotFoundError

from .settings import TOOL_GET_TIMELINE, TOOL_LIST_FACTS, TOOL_LIST_SOURCES
from .timestamps import latest

Rows = list[dict[str, Any]]
T = TypeVar("T")

# Wraps a page iterator so each request holds one of `max_workers` slots; rate limits are the client's.
PageGate = Callable[[Iterator[dict[str, Any]]], Iterator[dict[str, Any]]]

# Returned by a per-customer fetcher whose customer disappeared between the listing and the fetch.
GONE = object()


class SharedClient:
    """One client and one in-flight bound for every resource of a source run.

    Resources run side by side in dlt's threads, so the client is opened by the first resource that needs
    it and closed when the last one lets go. A client passed in by the caller is never closed here. The
    rate is the client's business: its platform limiter (``platform_rps``, and the cooldown after a 429)
    covers every thread that uses it.
    """

    def __init__(
        self,
        factory: Callable[[], OutlitClient] | None = None,
        *,
        client: OutlitClient | None = None,
        max_in_flight: int | None = None,
    ):
        if factory is None and client is None:
            raise ValueError("SharedClient needs a client factory or a client")
        self._factory = factory
        self._client = client
        self._owned = client is None
        self._users = 0
        self._lock = threading.Lock()
        # Resources and their worker pools run side by side; this bounds the requests they have open.
        self._gate = threading.BoundedSemaphore(max_in_flight) if max_in_flight else None

    @contextmanager
    def lease(self) -> Iterator[OutlitClient]:
        with self._lock:
            if self._client is None:
                assert self._factory is not None
                self._client = self._factory()
            self._users += 1
            client = self._client
        try:
            yield client
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0 and self._owned and self._client is not None:
                    self._client.close()
                    self._client = None

    def call(self, request: Callable[[], T]) -> T:
        """One request, counted against ``max_in_flight`` (the client paces it)."""
        with self._gate or nullcontext():
            return request()

    def gated(self, pages: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """Tool pages, each request (a ``next`` of the client's page iterator) made through :meth:`call`.

        A page without ``pagination.nextCursor`` is the last, so no slot is taken for the ``next`` that
        only finds the iterator exhausted.
        """
        if self._gate is None:
            yield from pages
            return
        more = True
        while more:
            try:
                page = self.call(lambda: next(pages))
            except StopIteration:
                return
            yield page
            more = bool(isinstance(page, dict) and (page.get("pagination") or {}).get("nextCursor"))
        yield from pages  # normally empty: the client stops where the cursor ends

    def __repr__(self) -> str:  # never show the client (and so nothing of its configuration)
        return f"SharedClient(open={self._client is not None}, users={self._users})"


def timeline_pages(
    client: OutlitClient, customer_id: str, start: str | None, end: str | None, gate: PageGate
) -> Generator[Rows, None, Any]:
    """Pages of one customer's events in ``[start, end]``; returns the latest ``occurredAt`` (or GONE)."""
    tool_input: dict[str, Any] = {"customer": customer_id}
    if start is None and end is None:
        tool_input["timeframe"] = "all"  # without it the tool answers only the last 30 days
    else:
        tool_input["startDate"] = start or "1970-01-01T00:00:00.000Z"
        if end is not None:
            tool_input["endDate"] = end
    cursor: str | None = None
    try:
        for page in gate(client.iter_pages(TOOL_GET_TIMELINE, tool_input)):
            rows = with_key(page.get("events") or [], "timeline", customer_id)
            for row in rows:
                row["customer_id"] = customer_id
                cursor = latest(cursor, row.get("occurredAt"))
            yield rows
    except OutlitNotFoundError:
        return GONE
    return cursor


def fact_pages(
    client: OutlitClient, customer_id: str, after: str | None, before: str | None, gate: PageGate
) -> Generator[Rows, None, Any]:
    """Pages of one customer's facts; returns the latest detection time seen (or GONE)."""
    tool_input: dict[str, Any] = {"customer": customer_id}
    if after is not None:
        tool_input["after"] = after
    if before is not None:
        tool_input["before"] = before
    cursor: str | None = None
    try:
        for page in gate(client.iter_pages(TOOL_LIST_FACTS, tool_input)):
            rows = [
                shape_fact(row, customer_id)
                for row in with_key(page.get("facts") or [], "facts", customer_id)
            ]
            for row in rows:
                cursor = latest(latest(cursor, row.get("detectedAt")), row.get("lastDetectedAt"))
            yield rows
    except OutlitNotFoundError:
        return GONE
    return cursor


def source_pages(
    client: OutlitClient, customer: str | None, after: str | None, before: str | None, gate: PageGate
) -> Generator[Rows, None, Any]:
    """Pages of source records (all, or one customer's); returns the latest ``occurredAt`` seen (or GONE)."""
    tool_input: dict[str, Any] = {}
    if customer is not None:
        tool_input["customer"] = customer
    if after is not None:
        tool_input["after"] = after
    if before is not None:
        tool_input["before"] = before
    cursor: str | None = None
    try:
        for page in gate(client.iter_pages(TOOL_LIST_SOURCES, tool_input)):
            rows = [shape_source(row) for row in page.get("items") or []]
            for row in rows:
                cursor = latest(cursor, row.get("occurredAt"))
            yield rows
    except OutlitNotFoundError:
        return GONE
    return cursor


def with_key(rows: Rows, table: str, customer_id: str) -> Rows:
    """Rows that have an ``id``; a row without one cannot be merged, so it is dropped with a warning."""
    kept = [row for row in rows if isinstance(row, dict) and row.get("id")]
    if len(kept) != len(rows):
        logger.warning(
            f"Outlit: dropped {len(rows) - len(kept)} {table} record(s) of {customer_id} that have no id"
        )
    return kept


def shape_fact(row: dict[str, Any], customer_id: str) -> dict[str, Any]:
    """Adds ``customer_id`` and lifts provenance out of ``sourceMetadata`` / ``linkedSourceRef``."""
    meta = row.pop("sourceMetadata", None) or {}
    linked = row.pop("linkedSourceRef", None) or {}
    row["customer_id"] = customer_id
    row["source_type"] = meta.get("sourceType") or linked.get("sourceType")
    row["source_id"] = meta.get("sourceId") or linked.get("sourceId")
    row["source_occurred_at"] = meta.get("sourceOccurredAt") or linked.get("occurredAt")
    row["source_quote"] = meta.get("sourceQuote")
    row["permalink"] = meta.get("permalink") or linked.get("permalink")
    return row


def shape_customer(row: dict[str, Any]) -> dict[str, Any]:
    """Flattens the optional ``owner`` object into ``owner_id`` / ``owner_email`` / ``owner_name``."""
    owner = row.pop("owner", None) or {}
    row["owner_id"] = owner.get("id")
    row["owner_email"] = owner.get("email")
    row["owner_name"] = owner.get("name")
    return row


def shape_source(row: dict[str, Any]) -> dict[str, Any]:
    customer = row.pop("customer", None) or {}
    row["customer_id"] = customer.get("id")
    return row
