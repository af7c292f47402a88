"""The blocking Outlit client: runs the shared request flow (:mod:`.flow`) with blocking I/O."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from pydantic import SecretStr

from . import calls, responses
from .base import ClientBase, to_dataframe
from .config import ClientConfig
from .delivery import (
    Delivery,
    Intake,
    as_prepared,
    check_concurrency,
    check_one_request,
    drive_threads,
    one_batch,
)
from .events import BatchResult, DeliveryReport, IngestResult, PreparedEvent, envelope
from .events import prepare_event as prepare_event
from .exceptions import OutlitError
from .flow import Flow, Pager, Send, Sleep
from .models import ApiKeyInfo, QueryResult
from .ratelimit import TokenBucket
from .tools import get_tool
from .transport import read_sync, sync_transport

if TYPE_CHECKING:
    import pandas

__all__ = ["OutlitClient"]

T = TypeVar("T")


class OutlitClient(ClientBase):
    """Blocking client for Outlit's platform, tool and ingest APIs.

    Build it from keyword settings (``api_key``, ``public_key``, ``base_url``, ``timeout``, ``deadline``,
    ``max_retries``, ``retry``, ``allow_insecure_http``, ``ingest_rps``, ``platform_rps``,
    ``max_response_bytes``, ``max_pages``; see :meth:`ClientConfig.create`) or from one
    ``config=ClientConfig(...)``.

    >>> with OutlitClient.from_env() as outlit:              # doctest: +SKIP
    ...     for customer in outlit.iter_tool("outlit_list_customers", {"billingStatus": "PAYING"}):
    ...         print(customer["name"])
    """

    def __init__(
        self,
        api_key: str | SecretStr | None = None,
        *,
        config: ClientConfig | None = None,
        transport: httpx.BaseTransport | None = None,
        ingest_limiter: TokenBucket | None = None,
        platform_limiter: TokenBucket | None = None,
        **settings: Any,
    ) -> None:
        self._setup(api_key, config, ingest_limiter, platform_limiter, settings)
        self._http = httpx.Client(transport=transport or sync_transport(), **self._core.client_kwargs())

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OutlitClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- running flows ----------------------------------------------------------------------------------

    def _run(self, flow: Flow[T]) -> T:
        """Drive a flow: send what it asks to send, sleep what it asks to sleep, return what it returns."""
        config = self.config
        try:
            step = next(flow)
            while True:
                if isinstance(step, Sleep):
                    config.retry.sleep(step.seconds)
                    reply: Any = None
                else:
                    assert isinstance(step, Send)
                    reply = read_sync(self._http, step.request, step.until, config.max_response_bytes)
                step = flow.send(reply)
        except StopIteration as done:
            return done.value
        finally:
            flow.close()

    def _fetch(self, call: calls.Call) -> Any:
        return self._run(self._core.request(self._http, call)).data

    # --- platform ---------------------------------------------------------------------------------------

    def validate_api_key(self) -> ApiKeyInfo:
        """Check the API key; returns the organization it belongs to and its grants."""
        call = calls.validate_key()
        return responses.api_key_info(call.label, self._fetch(call))

    # --- tools ------------------------------------------------------------------------------------------

    def call_tool(
        self,
        name: str,
        input: Mapping[str, Any] | None = None,
        *,
        retry_writes: bool = False,
        validate: bool = True,
    ) -> dict[str, Any]:
        """Call one public tool and return its JSON result.

        The input is checked against the tool's contract first (``validate=False`` skips that, e.g. for a
        field newer than this package; the read-only SQL guard of ``outlit_query`` always runs). Writes are
        not retried after an ambiguous failure unless ``retry_writes=True``.
        """
        spec, call = calls.tool(name, input, retry_writes=retry_writes, validate=validate)
        return responses.tool_page(call.label, self._fetch(call), spec.items_key, spec.paginated)

    def iter_pages(
        self, name: str, input: Mapping[str, Any] | None = None, *, max_pages: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every response page of a tool, following ``pagination.nextCursor`` to the end.

        Uses the largest page size the tool allows unless ``input`` sets one. A repeated cursor, or more
        than ``max_pages`` pages (the config's, 10,000 by default), raises :class:`OutlitResponseError`.
        """
        spec = get_tool(name)
        pager = Pager(spec, calls.first_page_input(spec, input), max_pages or self.config.max_pages)
        while (payload := pager.next_input()) is not None:
            page = self.call_tool(name, payload)
            pager.take(page)
            yield page

    def iter_tool(
        self,
        name: str,
        input: Mapping[str, Any] | None = None,
        *,
        max_items: int | None = None,
        max_pages: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """The items of a list tool (``items``, ``events``, ``facts``, ``results``...) across all pages."""
        spec = get_tool(name)
        if max_items is not None and max_items <= 0:
            return
        count = 0
        for page in self.iter_pages(name, input, max_pages=max_pages):
            for item in page[spec.items_key] if spec.items_key else [page]:
                yield item
                count += 1
                if max_items is not None and count >= max_items:
                    return

    def query(self, sql: str, limit: int | None = None) -> QueryResult:
        """Run a read-only SQL query (ClickHouse) over Outlit's analytics views; refused client-side unless
        it is one SELECT over the views with allowed functions."""
        payload = {"sql": sql} if limit is None else {"sql": sql, "limit": limit}
        return responses.query_result("tool outlit_query", self.call_tool("outlit_query", payload))

    def query_df(self, sql: str, limit: int | None = None) -> pandas.DataFrame:
        """:meth:`query` as a pandas DataFrame (needs the ``pandas`` extra)."""
        return to_dataframe(self.query(sql, limit))

    def schema(self, table: str | None = None) -> dict[str, Any]:
        """Describe the analytics views, or one of them."""
        return self.call_tool("outlit_schema", {"table": table} if table is not None else {})

    # --- integrations -----------------------------------------------------------------------------------

    def list_integrations(self, connected_only: bool = False) -> list[dict[str, Any]]:
        call = calls.list_integrations(connected_only)
        return responses.object_list(call.label, self._fetch(call), "items")

    def _object(self, call: calls.Call) -> dict[str, Any]:
        return responses.json_object(call.label, self._fetch(call))

    def integration_capabilities(self, provider: str | None = None) -> dict[str, Any]:
        return self._object(calls.capabilities(provider))

    def connect_integration(
        self, provider: str, config: Mapping[str, Any] | None = None, *, retry_writes: bool = False
    ) -> dict[str, Any]:
        """Connect with credentials (``config``), or open a browser session (no config)."""
        return self._object(calls.connect(provider, config, retry_writes))

    def connection_status(self, session_id: str) -> dict[str, Any]:
        return self._object(calls.connection_status(session_id))

    def disconnect_integration(self, provider: str, *, retry_writes: bool = False) -> dict[str, Any]:
        return self._object(calls.disconnect(provider, retry_writes))

    def sync_status(self, provider: str) -> dict[str, Any]:
        return self._object(calls.sync_status(provider))

    def run_setup_step(
        self, provider: str, step: str, config: Mapping[str, Any] | None = None, *, retry_writes: bool = False
    ) -> dict[str, Any]:
        return self._object(calls.setup_step(provider, step, config, retry_writes))

    def platform_action(
        self,
        resource: str,
        action: str,
        resource_id: str | None = None,
        body: Mapping[str, Any] | None = None,
        *,
        retry_writes: bool = False,
    ) -> Any:
        """Run a platform action (e.g. ``("agents", "enable", id)``) and return ``result.data``."""
        call = calls.platform(resource, action, resource_id, body, retry_writes)
        return responses.platform_data(call.label, self._fetch(call))

    # --- ingest -----------------------------------------------------------------------------------------

    def deliver(
        self,
        events: Iterable[PreparedEvent | Mapping[str, Any]],
        *,
        source: str = "server",
        user_identity: Mapping[str, Any] | None = None,
        customer_identity: Mapping[str, Any] | None = None,
        stop: Any = None,
        on_batch: Callable[[DeliveryReport], None] | None = None,
        keep_delivered: bool = True,
        concurrency: int = 1,
    ) -> DeliveryReport:
        """Deliver prepared events (each with a ``uuid``, not checked again), any number of them.

        Packs requests of at most 100 events / 1 MB, settles each through Outlit's drop-the-rejected-and-
        resend rounds, and checks ``stop`` (a ``threading.Event`` or a callable) between batches. Each
        event's outcome is in the report (``delivered``, ``duplicate``, ``rejected`` with path and message,
        ``not_sent``); ``on_batch`` gets each settled batch's report. If a request fails for good, the
        exception's ``partial_result`` is the report so far.

        Up to ``concurrency`` batches are in flight at once, on worker threads (the shared rate limiter
        still caps the request rate); events are read and ``on_batch`` is called on the calling thread.
        After a failure nothing new is sent, the batches in flight finish, and the first failure is raised.
        """
        check_concurrency(concurrency)
        env = envelope(source, user_identity, customer_identity)
        run = Delivery(self._core, events, env, stop=stop, on_batch=on_batch, keep_delivered=keep_delivered)
        return drive_threads(
            run, lambda settlement: self._run(run.settle(self._http, settlement)), concurrency
        )

    def send_prepared(
        self,
        events: Iterable[PreparedEvent | Mapping[str, Any]],
        *,
        source: str = "server",
        user_identity: Mapping[str, Any] | None = None,
        customer_identity: Mapping[str, Any] | None = None,
    ) -> DeliveryReport:
        """:meth:`deliver` for one request's worth of events (100 events, 1 MB); ``index`` in each outcome
        is the position in ``events``."""
        prepared = as_prepared(events)
        check_one_request(envelope(source, user_identity, customer_identity), prepared, "send_prepared")
        return self.deliver(
            prepared, source=source, user_identity=user_identity, customer_identity=customer_identity
        )

    def send_events(
        self,
        events: Iterable[Mapping[str, Any]],
        *,
        source: str = "server",
        user_identity: Mapping[str, Any] | None = None,
        customer_identity: Mapping[str, Any] | None = None,
        stop: Any = None,
    ) -> IngestResult:
        """Check and send any number of events (streamed: memory stays flat) through :meth:`deliver`.

        Invalid events are reported in ``rejected`` (with their index in ``events``) and the rest are
        delivered. If a request fails for good, the exception's ``partial_result`` is the ``IngestResult``
        of everything delivered before it.
        """
        env = envelope(source, user_identity, customer_identity)
        intake = Intake(events, env, source)
        try:
            report = self.deliver(
                intake.prepared(),
                source=source,
                user_identity=user_identity,
                customer_identity=customer_identity,
                stop=stop,
                keep_delivered=False,
            )
        except OutlitError as exc:
            exc.partial_result = intake.result(exc.partial_result)
            raise
        return intake.result(report)

    def send_batch(
        self,
        events: list[Mapping[str, Any]],
        *,
        source: str = "server",
        user_identity: Mapping[str, Any] | None = None,
        customer_identity: Mapping[str, Any] | None = None,
    ) -> BatchResult:
        """Send up to 100 events (1 MB) in ONE request, retried on 429/5xx/timeouts, with no resend round.

        Events Outlit (or the pre-send check) refuses come back in ``rejected``; after a 400 nothing was
        stored and ``resend`` lists the indexes to send again.
        """
        env = envelope(source, user_identity, customer_identity)
        return self._run(one_batch(self._core, self._http, events, env))
