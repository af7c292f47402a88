"""The shared client of a source run, the one page fetcher of the per-customer tools, and row shaping."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from dlt.common import logger

from outlit_core.client import OutlitClient
from outlit_core.client.exceptions import OutlitTransportError

from .concurrency import Stopped
from .settings import TOOL_GET_TIMELINE, TOOL_LIST_FACTS, TOOL_LIST_SOURCES

Rows = list[dict[str, Any]]
T = TypeVar("T")


def _close_all(clients: list[OutlitClient]) -> None:
    for client in clients:
        client.close()


class SharedClient:
    """One client, one in-flight bound and one stop flag for every resource of a source run.

    Resources run side by side in dlt's threads, so the client is opened by the first resource that needs
    it and closed when the source is released. A client passed in by the caller is never closed here. The
    rate is the client's business: its platform limiter (``platform_rps``, and the cooldown after a 429)
    covers every thread that uses it. ``stop`` is set when any resource of the run fails: every other
    resource's workers then stop before their next request instead of finishing a run that has failed.
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
        # An owned client lives as long as this object (the source's run), not as long as one lease: dlt
        # may finish one resource before the next leases, and a client per resource would split the one
        # platform limiter that paces the run. It is closed when the source is released.
        self._holder: list[OutlitClient] = []
        if self._owned:
            weakref.finalize(self, _close_all, self._holder)
        self._users = 0
        self._lock = threading.Lock()
        # Resources and their worker pools run side by side; this bounds the requests they have open.
        self._gate = threading.BoundedSemaphore(max_in_flight) if max_in_flight else None
        self.stop = threading.Event()

    @contextmanager
    def lease(self) -> Iterator[OutlitClient]:
        """The run's client, for one resource; any error but a close stops every other resource too."""
        with self._lock:
            if self._users == 0:
                self.stop.clear()  # a new run of the same source object starts afresh
            if self._client is None:
                assert self._factory is not None
                self._client = self._factory()
                self._holder.append(self._client)
            self._users += 1
            client = self._client
        try:
            yield client
        except GeneratorExit:
            raise
        except BaseException as error:
            self.stop.set()
            if isinstance(error, OutlitTransportError):
                raise name_host(error, client) from None
            raise
        finally:
            with self._lock:
                self._users -= 1

    def call(self, request: Callable[[], T]) -> T:
        """One request, counted against ``max_in_flight`` (the client paces it); refused once stopped."""
        with self._gate or nullcontext():
            if self.stop.is_set():
                raise Stopped
            return request()

    def gated(self, pages: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """Tool pages, each request (a ``next`` of the client's page iterator) made through :meth:`call`.

        A page without ``pagination.nextCursor`` is the last, so no slot is taken for the ``next`` that
        only finds the iterator exhausted.
        """
        more = True
        while more:
            try:
                page = self.call(lambda: next(pages))
            except StopIteration:
                return
            yield page
            more = bool(isinstance(page, dict) and (page.get("pagination") or {}).get("nextCursor"))

    def __repr__(self) -> str:  # never show the client (and so nothing of its configuration)
        return f"SharedClient(open={self._client is not None}, users={self._users})"


def name_host(error: OutlitTransportError, client: OutlitClient) -> OutlitTransportError:
    """The same error with the host it could not reach in its one-line message (if not there yet)."""
    host = urlsplit(str(client.config.base_url)).netloc
    if not host or host in error.message:
        return error
    error.message = f"cannot reach {host}: {error.message}"
    error.args = (error.message,)
    return error


@dataclass(frozen=True)
class CustomerTool:
    """How one per-customer list tool is asked for a window and where its records are in a page."""

    tool: str
    items: str  # the key holding the records in a page
    lower: str  # the input names of the window's bounds
    upper: str
    cursor: str  # the column whose latest value is the customer's cursor
    shape: Callable[[dict[str, Any], str | None], dict[str, Any]]
    needs_id: bool = True  # records without an id cannot be merged
    cursor_key: str = "occurredAt"  # the cursor column's name in the API's records

    def tool_input(self, scope: str | None, start: str | None, end: str | None) -> dict[str, Any]:
        tool_input: dict[str, Any] = {} if scope is None else {"customer": scope}
        if self.tool == TOOL_GET_TIMELINE and start is None:
            if end is None:
                tool_input["timeframe"] = "all"  # without it the tool answers only the last 30 days
                return tool_input
            start = "1970-01-01T00:00:00.000Z"  # the timeline takes no end without a start
        if start is not None:
            tool_input[self.lower] = start
        if end is not None:
            tool_input[self.upper] = end
        return tool_input


def customer_pages(
    shared: SharedClient,
    client: OutlitClient,
    spec: CustomerTool,
    scope: str | None,
    start: str | None,
    end: str | None,
) -> Iterator[Rows]:
    """Every page of one customer's (or, with ``scope=None``, everyone's) records in ``[start, end]``.

    Shaped rows, one list per page; the one fetcher behind ``timeline``, ``facts`` and ``sources``.
    A customer deleted since the listing raises ``OutlitNotFoundError``, which the caller skips.
    """
    for page in shared.gated(client.iter_pages(spec.tool, spec.tool_input(scope, start, end))):
        records = page.get(spec.items) or []
        if spec.needs_id:
            records = with_key(records, spec.tool, scope)
        yield [spec.shape(record, scope) for record in records]


def with_key(rows: Rows, tool: str, scope: str | None) -> Rows:
    """Rows that have an ``id``; a row without one cannot be merged, so it is dropped with a warning."""
    kept = [row for row in rows if isinstance(row, dict) and row.get("id")]
    if len(kept) != len(rows):
        logger.warning(f"Outlit: dropped {len(rows) - len(kept)} {tool} record(s) of {scope} that have no id")
    return kept


def shape_event(row: dict[str, Any], customer_id: str | None) -> dict[str, Any]:
    """Adds ``customer_id``; drops ``sourceRef``, which repeats ``sourceType`` / ``sourceId`` exactly."""
    row.pop("sourceRef", None)
    row["customer_id"] = customer_id
    return row


def shape_fact(row: dict[str, Any], customer_id: str | None) -> dict[str, Any]:
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


def shape_source(row: dict[str, Any], _scope: str | None = None) -> dict[str, Any]:
    customer = row.pop("customer", None) or {}
    row["customer_id"] = customer.get("id")
    return row


def shape_customer(row: dict[str, Any]) -> dict[str, Any]:
    """Flattens the optional ``owner`` object into ``owner_id`` / ``owner_email`` / ``owner_name``."""
    owner = row.pop("owner", None) or {}
    row["owner_id"] = owner.get("id")
    row["owner_email"] = owner.get("email")
    row["owner_name"] = owner.get("name")
    return row


TIMELINE = CustomerTool(TOOL_GET_TIMELINE, "events", "startDate", "endDate", "occurred_at", shape_event)
FACTS = CustomerTool(TOOL_LIST_FACTS, "facts", "after", "before", "occurred_at", shape_fact)
SOURCES = CustomerTool(
    TOOL_LIST_SOURCES, "items", "after", "before", "occurred_at", shape_source, needs_id=False
)
