"""The asyncio Outlit client: the same surface as :class:`OutlitClient`, awaiting instead of blocking."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
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
    IngestResult,
    PreparedEvent,
    Settlement,
    as_prepared,
    envelope,
    iter_event_batches,
)
from .exceptions import OutlitError, OutlitValidationError
from .models import ApiKeyInfo, QueryResult
from .ratelimit import AsyncRateLimiter, TokenBucket
from .retry import RetryPolicy
from .sync import _check_one_request, _merge, _planned, _prepare_all, _to_dataframe
from .tools import get_tool

if TYPE_CHECKING:
    import pandas

__all__ = ["AsyncOutlitClient"]


class AsyncOutlitClient:
    """Asyncio client for Outlit (used by the Airflow triggers); see :class:`OutlitClient` for the API."""

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
        transport: httpx.AsyncBaseTransport | None = None,
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
        self._http = httpx.AsyncClient(transport=transport, **self._core.client_kwargs())
        self.ingest_limiter = ingest_limiter or self.config.ingest_bucket()
        self._limiter = AsyncRateLimiter(self.ingest_limiter, sleep=self.config.retry.async_sleep)
        #: the bucket every platform request (tools, integrations, actions) draws from: paced to
        #: ``platform_rps`` if set, and always closed to all threads/tasks while a 429's wait lasts
        self.platform_limiter = platform_limiter or self.config.platform_bucket()
        self._platform = AsyncRateLimiter(self.platform_limiter, sleep=self.config.retry.async_sleep)

    @classmethod
    def from_env(cls, **overrides: Any) -> AsyncOutlitClient:
        client_only = {
            k: overrides.pop(k) for k in ("transport", "ingest_limiter", "platform_limiter") if k in overrides
        }
        return cls(config=ClientConfig.from_env(**overrides), **client_only)

    async def aclose(self) -> None:
        await self._http.aclose()

    close = aclose

    async def __aenter__(self) -> AsyncOutlitClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncOutlitClient({self.config!r})"

    async def _execute(self, call: Call) -> Outcome:
        core = self._core
        limiter, bucket = (
            (self._limiter, self.ingest_limiter) if call.ingest else (self._platform, self.platform_limiter)
        )
        retries = 0
        waited_out: int | None = None
        while True:
            await limiter.acquire(waited_out)
            try:
                request = core.build(self._http, call)
                started = time.perf_counter()
                try:
                    response = await self._http.send(request)
                except httpx.TransportError as exc:
                    failure = core.transport_error(call, exc)
                    core.log_transport_error(call, failure, started, retries)
                    error: OutlitError = failure
                else:
                    await response.aread()
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
                raise error
            if cooldown and delay < cooldown:
                waited_out = None  # this call has not sat the block out, so its next acquire waits for it
            core.log_retry(call, error, delay, retries)
            await self.config.retry.async_sleep(delay)
            retries += 1

    async def validate_api_key(self) -> ApiKeyInfo:
        return self._core.api_key_info((await self._execute(self._core.validate_key_call())).data)

    async def call_tool(
        self,
        name: str,
        input: Mapping[str, Any] | None = None,
        *,
        retry_writes: bool = False,
        validate: bool = True,
    ) -> dict[str, Any]:
        _, call = self._core.tool_call(name, input, retry_writes=retry_writes, validate=validate)
        return (await self._execute(call)).data

    async def iter_pages(
        self,
        name: str,
        input: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        spec = get_tool(name)
        payload = self._core.first_page_input(spec, input)
        seen: set[str] = set()
        while True:
            page = await self.call_tool(name, payload)
            yield page
            cursor = self._core.next_cursor(spec, page, seen)
            if cursor is None:
                return
            payload = {**payload, "cursor": cursor}

    async def iter_tool(
        self,
        name: str,
        input: Mapping[str, Any] | None = None,
        *,
        max_items: int | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        spec = get_tool(name)
        if max_items is not None and max_items <= 0:
            return
        count = 0
        async for page in self.iter_pages(name, input):
            for item in self._core.page_items(spec, page):
                yield item
                count += 1
                if max_items is not None and count >= max_items:
                    return

    async def query(self, sql: str, limit: int | None = None) -> QueryResult:
        payload = self._core.query_input(sql, limit)
        return self._core.query_result(await self.call_tool("outlit_query", payload))

    async def query_df(self, sql: str, limit: int | None = None) -> pandas.DataFrame:
        return _to_dataframe(await self.query(sql, limit))

    async def schema(self, table: str | None = None) -> dict[str, Any]:
        return await self.call_tool("outlit_schema", {"table": table} if table is not None else {})

    async def list_integrations(self, connected_only: bool = False) -> list[dict[str, Any]]:
        data = (await self._execute(self._core.list_integrations_call(connected_only))).data
        return list((data or {}).get("items", []))

    async def integration_capabilities(self, provider: str | None = None) -> dict[str, Any]:
        return (await self._execute(self._core.capabilities_call(provider))).data

    async def connect_integration(
        self, provider: str, config: Mapping[str, Any] | None = None, *, retry_writes: bool = False
    ) -> dict[str, Any]:
        return (await self._execute(self._core.connect_call(provider, config, retry_writes))).data

    async def connection_status(self, session_id: str) -> dict[str, Any]:
        return (await self._execute(self._core.connection_status_call(session_id))).data

    async def disconnect_integration(self, provider: str, *, retry_writes: bool = False) -> dict[str, Any]:
        return (await self._execute(self._core.disconnect_call(provider, retry_writes))).data

    async def sync_status(self, provider: str) -> dict[str, Any]:
        return (await self._execute(self._core.sync_status_call(provider))).data

    async def run_setup_step(
        self,
        provider: str,
        step: str,
        config: Mapping[str, Any] | None = None,
        *,
        retry_writes: bool = False,
    ) -> dict[str, Any]:
        return (await self._execute(self._core.setup_step_call(provider, step, config, retry_writes))).data

    async def platform_action(
        self,
        resource: str,
        action: str,
        resource_id: str | None = None,
        body: Mapping[str, Any] | None = None,
        *,
        retry_writes: bool = False,
    ) -> Any:
        call = self._core.platform_call(resource, action, resource_id, body, retry_writes)
        return self._core.platform_data(call, (await self._execute(call)).data)

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

    async def _send_request(self, env: dict[str, Any], batch: list[PreparedEvent]) -> BatchResult:
        return self._core.batch_result(await self._execute(self._core.ingest_call(env, batch)), batch)

    async def send_batch(
        self,
        events: list[Mapping[str, Any]],
        *,
        source: str = "server",
        user_identity: Mapping[str, Any] | None = None,
        customer_identity: Mapping[str, Any] | None = None,
    ) -> BatchResult:
        env, prepared, rejected = _prepare_all(events, source, user_identity, customer_identity)
        _check_one_request(env, prepared, "send_batch")
        if not prepared:
            return BatchResult(rejected=rejected)
        result = await self._send_request(env, prepared)
        result.rejected = sorted(rejected + result.rejected, key=lambda r: r.index)
        return result

    async def send_prepared(
        self,
        events: Iterable[PreparedEvent | Mapping[str, Any]],
        *,
        source: str = "server",
        user_identity: Mapping[str, Any] | None = None,
        customer_identity: Mapping[str, Any] | None = None,
    ) -> DeliveryReport:
        """Like :meth:`OutlitClient.send_prepared`."""
        env = envelope(source, user_identity, customer_identity)
        prepared = as_prepared(events)
        _check_one_request(env, prepared, "send_prepared")
        settlement = Settlement(prepared)
        try:
            while settlement.pending:
                settlement.record(await self._send_request(env, settlement.pending))
        except OutlitError as exc:
            exc.partial_result = settlement.report
            raise
        return settlement.report

    async def send_events(
        self,
        events: Iterable[Mapping[str, Any]],
        *,
        source: str = "server",
        user_identity: Mapping[str, Any] | None = None,
        customer_identity: Mapping[str, Any] | None = None,
        concurrency: int = 1,
    ) -> IngestResult:
        """Like :meth:`OutlitClient.send_events`; ``concurrency`` batches may be in flight at once (the
        shared rate limiter still caps the request rate). A failure's ``partial_result`` counts every
        batch confirmed before the other batches in flight were cancelled."""
        if concurrency < 1:
            raise OutlitValidationError(
                f"concurrency must be >= 1, got {concurrency}",
                details=[{"path": ["concurrency"], "message": "must be >= 1"}],
            )
        env = envelope(source, user_identity, customer_identity)
        total = IngestResult()

        async def deliver(batch: list[PreparedEvent]) -> None:
            settlement = Settlement(batch)
            while settlement.pending:
                result = await self._send_request(env, settlement.pending)
                total.accepted += settlement.record(result)
                _merge(total, result)

        in_flight: set[asyncio.Task[None]] = set()
        try:
            for batch in _planned(events, env, source, total):
                if len(in_flight) >= concurrency:
                    done, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                    for task in done:
                        task.result()
                in_flight.add(asyncio.ensure_future(deliver(batch)))
            if in_flight:
                done, in_flight = await asyncio.wait(in_flight)
                for task in done:
                    task.result()
        except OutlitError as exc:
            total.rejected.sort(key=lambda r: r.index)
            exc.partial_result = total
            raise
        finally:
            for task in in_flight:
                task.cancel()
        total.rejected.sort(key=lambda r: r.index)
        return total
