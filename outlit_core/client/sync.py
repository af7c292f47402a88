"""The blocking Outlit client."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import SecretStr

from ._core import Call, Core, Outcome
from .config import ClientConfig
from .events import (
    MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
    BatchResult,
    DeliveryReport,
    EventRejection,
    IngestResult,
    PreparedEvent,
    Settlement,
    as_prepared,
    encode_body,
    envelope,
    iter_event_batches,
    plan_batches,
    prepare_event,
)
from .exceptions import OutlitError, OutlitValidationError
from .models import ApiKeyInfo, QueryResult
from .ratelimit import RateLimiter, TokenBucket
from .retry import RetryPolicy
from .tools import get_tool

if TYPE_CHECKING:
    import pandas

__all__ = ["OutlitClient"]


class OutlitClient:
    """Blocking client for Outlit's platform, tool and ingest APIs.

    >>> with OutlitClient.from_env() as outlit:              # doctest: +SKIP
    ...     for customer in outlit.iter_tool("outlit_list_customers", {"billingStatus": "PAYING"}):
    ...         print(customer["name"])
    """

    def __init__(
        self,
        api_key: str | SecretStr | None = None,
        *,
        public_key: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = 30.0,
        retry: RetryPolicy | None = None,
        max_retries: int | None = None,
        allow_insecure_http: bool = False,
        ingest_rps: float = 100.0,
        transport: httpx.BaseTransport | None = None,
        ingest_limiter: TokenBucket | None = None,
        platform_rps: float | None = None,
        platform_limiter: TokenBucket | None = None,
        config: ClientConfig | None = None,
    ) -> None:
        self.config = config or ClientConfig.create(
            api_key,
            public_key=public_key,
            base_url=base_url,
            timeout=timeout,
            retry=retry,
            max_retries=max_retries,
            allow_insecure_http=allow_insecure_http,
            ingest_rps=ingest_rps,
            platform_rps=platform_rps,
        )
        self._core = Core(self.config)
        self._http = httpx.Client(transport=transport, **self._core.client_kwargs())
        #: the token bucket every ingest request draws from; pass it to other clients to share the budget
        self.ingest_limiter = ingest_limiter or self.config.ingest_bucket()
        self._limiter = RateLimiter(self.ingest_limiter, sleep=self.config.retry.sleep)
        #: the bucket every platform request (tools, integrations, actions) draws from: paced to
        #: ``platform_rps`` if set, and always closed to all threads/tasks while a 429's wait lasts
        self.platform_limiter = platform_limiter or self.config.platform_bucket()
        self._platform = RateLimiter(self.platform_limiter, sleep=self.config.retry.sleep)

    @classmethod
    def from_env(cls, **overrides: Any) -> OutlitClient:
        """Build a client from OUTLIT_API_KEY, OUTLIT_PUBLIC_KEY and OUTLIT_BASE_URL (arguments win)."""
        client_only = {
            k: overrides.pop(k) for k in ("transport", "ingest_limiter", "platform_limiter") if k in overrides
        }
        return cls(config=ClientConfig.from_env(**overrides), **client_only)

    # --- lifecycle ----------------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OutlitClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"OutlitClient({self.config!r})"

    # --- the request loop ---------------------------------------------------------------------------

    def _execute(self, call: Call) -> Outcome:
        core = self._core
        limiter, bucket = (
            (self._limiter, self.ingest_limiter) if call.ingest else (self._platform, self.platform_limiter)
        )
        retries = 0
        waited_out: int | None = None
        while True:
            limiter.acquire(waited_out)
            try:
                request = core.build(self._http, call)
                started = time.perf_counter()
                try:
                    response = self._http.send(request)
                except httpx.TransportError as exc:
                    failure = core.transport_error(call, exc)
                    core.log_transport_error(call, failure, started, retries)
                    error: OutlitError = failure
                else:
                    response.read()
                    core.log_response(call, response, started, retries)
                    bucket.observe(response.headers)
                    result = core.finish(call, response, retries)
                    if isinstance(result, Outcome):
                        return result
                    error = result
            finally:
                limiter.release()
            delay = core.retry_delay(call, error, retries)
            cooldown = core.cooldown(error)
            if cooldown:
                # Set even when this call gives up: the others sharing the bucket must still hold back.
                # A block this call sleeps out below stays skipped until a newer one is set.
                waited_out = bucket.block_for(cooldown)
            if delay is None:
                error.attempts = retries + 1
                raise error
            if cooldown and delay < cooldown:
                waited_out = None  # this call has not sat the block out, so its next acquire waits for it
            core.log_retry(call, error, delay, retries)
            self.config.retry.sleep(delay)
            retries += 1

    # --- platform -----------------------------------------------------------------------------------

    def validate_api_key(self) -> ApiKeyInfo:
        """Check the API key; returns the organization it belongs to and its grants."""
        return self._core.api_key_info(self._execute(self._core.validate_key_call()).data)

    # --- tools --------------------------------------------------------------------------------------

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
        field newer than this package). Writes are not retried after an ambiguous failure unless
        ``retry_writes=True``.
        """
        _, call = self._core.tool_call(name, input, retry_writes=retry_writes, validate=validate)
        return self._execute(call).data

    def iter_pages(self, name: str, input: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every response page of a tool, following ``pagination.nextCursor`` to the end.

        Uses the largest page size the tool allows unless ``input`` sets one.
        """
        spec = get_tool(name)
        payload = self._core.first_page_input(spec, input)
        seen: set[str] = set()
        while True:
            page = self.call_tool(name, payload)
            yield page
            cursor = self._core.next_cursor(spec, page, seen)
            if cursor is None:
                return
            payload = {**payload, "cursor": cursor}

    def iter_tool(
        self,
        name: str,
        input: Mapping[str, Any] | None = None,
        *,
        max_items: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """The items of a list tool (``items``, ``events``, ``facts``, ``results``...) across all pages."""
        spec = get_tool(name)
        if max_items is not None and max_items <= 0:
            return
        count = 0
        for page in self.iter_pages(name, input):
            for item in self._core.page_items(spec, page):
                yield item
                count += 1
                if max_items is not None and count >= max_items:
                    return

    def query(self, sql: str, limit: int | None = None) -> QueryResult:
        """Run a read-only SQL query over Outlit's analytics views (refused client-side if not read-only)."""
        return self._core.query_result(self.call_tool("outlit_query", self._core.query_input(sql, limit)))

    def query_df(self, sql: str, limit: int | None = None) -> pandas.DataFrame:
        """:meth:`query` as a pandas DataFrame (needs the ``pandas`` extra)."""
        return _to_dataframe(self.query(sql, limit))

    def schema(self, table: str | None = None) -> dict[str, Any]:
        """Describe the analytics views, or one of them."""
        return self.call_tool("outlit_schema", {"table": table} if table is not None else {})

    # --- integrations -------------------------------------------------------------------------------

    def list_integrations(self, connected_only: bool = False) -> list[dict[str, Any]]:
        data = self._execute(self._core.list_integrations_call(connected_only)).data
        return list((data or {}).get("items", []))

    def integration_capabilities(self, provider: str | None = None) -> dict[str, Any]:
        return self._execute(self._core.capabilities_call(provider)).data

    def connect_integration(
        self, provider: str, config: Mapping[str, Any] | None = None, *, retry_writes: bool = False
    ) -> dict[str, Any]:
        """Connect with credentials (``config``), or open a browser session (no config)."""
        return self._execute(self._core.connect_call(provider, config, retry_writes)).data

    def connection_status(self, session_id: str) -> dict[str, Any]:
        return self._execute(self._core.connection_status_call(session_id)).data

    def disconnect_integration(self, provider: str, *, retry_writes: bool = False) -> dict[str, Any]:
        return self._execute(self._core.disconnect_call(provider, retry_writes)).data

    def sync_status(self, provider: str) -> dict[str, Any]:
        return self._execute(self._core.sync_status_call(provider)).data

    def run_setup_step(
        self,
        provider: str,
        step: str,
        config: Mapping[str, Any] | None = None,
        *,
        retry_writes: bool = False,
    ) -> dict[str, Any]:
        return self._execute(self._core.setup_step_call(provider, step, config, retry_writes)).data

    # --- platform actions ---------------------------------------------------------------------------

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
        call = self._core.platform_call(resource, action, resource_id, body, retry_writes)
        return self._core.platform_data(call, self._execute(call).data)

    # --- ingest -------------------------------------------------------------------------------------

    def iter_event_batches(
        self,
        events: Iterable[Mapping[str, Any]],
        *,
        source: str = "server",
        user_identity: Mapping[str, Any] | None = None,
        customer_identity: Mapping[str, Any] | None = None,
        max_events: int = MAX_BATCH_EVENTS,
        max_bytes: int = MAX_BATCH_BYTES,
    ) -> Iterator[list[dict[str, Any]]]:
        return iter_event_batches(
            events,
            source=source,
            user_identity=user_identity,
            customer_identity=customer_identity,
            max_events=max_events,
            max_bytes=max_bytes,
        )

    def _send_request(self, env: dict[str, Any], batch: list[PreparedEvent]) -> BatchResult:
        return self._core.batch_result(self._execute(self._core.ingest_call(env, batch)), batch)

    def send_batch(
        self,
        events: list[Mapping[str, Any]],
        *,
        source: str = "server",
        user_identity: Mapping[str, Any] | None = None,
        customer_identity: Mapping[str, Any] | None = None,
    ) -> BatchResult:
        """Send up to 100 events (1 MB) in ONE request, retried on 429/5xx/timeouts.

        Events Outlit (or the pre-send check) refuses come back in ``rejected``; after a 400 nothing was
        stored and ``resend`` lists the indexes to send again.
        """
        env, prepared, rejected = _prepare_all(events, source, user_identity, customer_identity)
        _check_one_request(env, prepared, "send_batch")
        if not prepared:
            return BatchResult(rejected=rejected)
        result = self._send_request(env, prepared)
        result.rejected = sorted(rejected + result.rejected, key=lambda r: r.index)
        return result

    def send_prepared(
        self,
        events: Iterable[PreparedEvent | Mapping[str, Any]],
        *,
        source: str = "server",
        user_identity: Mapping[str, Any] | None = None,
        customer_identity: Mapping[str, Any] | None = None,
    ) -> DeliveryReport:
        """Send events that are already checked (each with a ``uuid``) and say what became of each one.

        ``events`` must fit one request (100 events, 1 MB), e.g. a list from ``iter_event_batches``; they
        are not checked again. After a 400 naming events the rest are resent until every event is
        delivered or rejected; the report gives each uuid's outcome. If a request fails for good, the
        exception's ``partial_result`` is the report so far (events not confirmed are ``not_sent``).
        """
        env = envelope(source, user_identity, customer_identity)
        prepared = as_prepared(events)
        _check_one_request(env, prepared, "send_prepared")
        settlement = Settlement(prepared)
        try:
            while settlement.pending:
                settlement.record(self._send_request(env, settlement.pending))
        except OutlitError as exc:
            exc.partial_result = settlement.report
            raise
        return settlement.report

    def send_events(
        self,
        events: Iterable[Mapping[str, Any]],
        *,
        source: str = "server",
        user_identity: Mapping[str, Any] | None = None,
        customer_identity: Mapping[str, Any] | None = None,
    ) -> IngestResult:
        """Send any number of events in batches within Outlit's limits, under the ingest rate limit.

        Invalid events are reported in ``rejected`` (with their index in ``events``) and the rest are
        delivered: after a 400 the named events are dropped and the others resent. If a request fails for
        good (retries used up), the exception's ``partial_result`` is the ``IngestResult`` of everything
        delivered before it.
        """
        env = envelope(source, user_identity, customer_identity)
        total = IngestResult()
        try:
            for batch in _planned(events, env, source, total):
                settlement = Settlement(batch)
                while settlement.pending:
                    result = self._send_request(env, settlement.pending)
                    total.accepted += settlement.record(result)
                    _merge(total, result)
        except OutlitError as exc:
            total.rejected.sort(key=lambda r: r.index)
            exc.partial_result = total
            raise
        total.rejected.sort(key=lambda r: r.index)
        return total


# --- helpers shared with the async client ----------------------------------------------------------------


def _prepare_all(
    events: Iterable[Mapping[str, Any]],
    source: str,
    user_identity: Mapping[str, Any] | None,
    customer_identity: Mapping[str, Any] | None,
) -> tuple[dict[str, Any], list[PreparedEvent], list[EventRejection]]:
    env = envelope(source, user_identity, customer_identity)
    has_identity = user_identity is not None or customer_identity is not None
    prepared: list[PreparedEvent] = []
    rejected: list[EventRejection] = []
    for index, event in enumerate(events):
        item = prepare_event(event, index, source=source, batch_identity=has_identity)
        (rejected if isinstance(item, EventRejection) else prepared).append(item)  # type: ignore[arg-type]
    return env, prepared, rejected


def _planned(
    events: Iterable[Mapping[str, Any]], env: dict[str, Any], source: str, total: IngestResult
) -> Iterator[list[PreparedEvent]]:
    """Batches of checked events; events refused before sending go straight into ``total.rejected``."""
    has_identity = "userIdentity" in env or "customerIdentity" in env

    def checked() -> Iterator[PreparedEvent]:
        for index, event in enumerate(events):
            item = prepare_event(event, index, source=source, batch_identity=has_identity)
            if isinstance(item, EventRejection):
                total.rejected.append(item)
            else:
                yield item

    for batch in plan_batches(checked(), env):
        if isinstance(batch, EventRejection):
            total.rejected.append(batch)
        else:
            total.batches += 1
            yield batch


def _merge(total: IngestResult, result: BatchResult) -> None:
    # ``accepted`` is counted from the settlement (events confirmed once each), not from ``processed``,
    # which a resend of already-stored events could count twice.
    total.rejected.extend(result.rejected)
    total.retries += result.retries
    total.requests += 1 + result.retries


def _check_one_request(env: dict[str, Any], prepared: list[PreparedEvent], method: str) -> None:
    if len(prepared) > MAX_BATCH_EVENTS or len(encode_body(env, prepared)) > MAX_BATCH_BYTES:
        raise OutlitValidationError(
            f"{method} takes at most {MAX_BATCH_EVENTS} events and {MAX_BATCH_BYTES} bytes; "
            "use send_events() or iter_event_batches() to split larger inputs",
            details=[{"path": ["events"], "message": "batch too large"}],
        )


def _to_dataframe(result: QueryResult) -> pandas.DataFrame:
    try:
        import pandas
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise ImportError("query_df() needs pandas: pip install 'outlit-connector[pandas]'") from exc
    return pandas.DataFrame.from_records(result.rows, columns=result.columns or None)
