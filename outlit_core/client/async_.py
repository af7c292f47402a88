"""The asyncio Outlit client: the same flows as :class:`OutlitClient`, driven with awaits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from pydantic import SecretStr

from . import calls, responses
from .base import ClientBase, to_dataframe
from .config import ClientConfig
from .delivery import (
    Delivery,
    Intake,
    Settlement,
    as_prepared,
    check_concurrency,
    check_one_request,
    finish_done,
    one_batch,
)
from .events import BatchResult, DeliveryReport, IngestResult, PreparedEvent, envelope
from .exceptions import OutlitError
from .flow import Flow, Pager, Send, Sleep
from .models import ApiKeyInfo, QueryResult
from .ratelimit import TokenBucket
from .tools import get_tool
from .transport import async_transport, read_async

if TYPE_CHECKING:
    import pandas

__all__ = ["AsyncOutlitClient"]

T = TypeVar("T")


class AsyncOutlitClient(ClientBase):
    """Asyncio client for Outlit (used by the Airflow triggers); see :class:`OutlitClient` for the API."""

    def __init__(
        self,
        api_key: str | SecretStr | None = None,
        *,
        config: ClientConfig | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        ingest_limiter: TokenBucket | None = None,
        platform_limiter: TokenBucket | None = None,
        **settings: Any,
    ) -> None:
        self._setup(api_key, config, ingest_limiter, platform_limiter, settings)
        self._http = httpx.AsyncClient(transport=transport or async_transport(), **self._core.client_kwargs())

    async def aclose(self) -> None:
        await self._http.aclose()

    close = aclose

    async def __aenter__(self) -> AsyncOutlitClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _run(self, flow: Flow[T]) -> T:
        config = self.config
        try:
            step = next(flow)
            while True:
                if isinstance(step, Sleep):
                    await config.retry.async_sleep(step.seconds)
                    reply: Any = None
                else:
                    assert isinstance(step, Send)
                    reply = await read_async(self._http, step.request, step.until, config.max_response_bytes)
                step = flow.send(reply)
        except StopIteration as done:
            return done.value
        finally:
            flow.close()  # a cancelled task releases its limiter slot and records its partial batch

    async def _fetch(self, call: calls.Call) -> Any:
        return (await self._run(self._core.request(self._http, call))).data

    async def validate_api_key(self) -> ApiKeyInfo:
        call = calls.validate_key()
        return responses.api_key_info(call.label, await self._fetch(call))

    async def call_tool(
        self,
        name: str,
        input: Mapping[str, Any] | None = None,
        *,
        retry_writes: bool = False,
        validate: bool = True,
    ) -> dict[str, Any]:
        spec, call = calls.tool(name, input, retry_writes=retry_writes, validate=validate)
        return responses.tool_page(call.label, await self._fetch(call), spec.items_key, spec.paginated)

    async def iter_pages(
        self, name: str, input: Mapping[str, Any] | None = None, *, max_pages: int | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        spec = get_tool(name)
        pager = Pager(spec, calls.first_page_input(spec, input), max_pages or self.config.max_pages)
        while (payload := pager.next_input()) is not None:
            page = await self.call_tool(name, payload)
            pager.take(page)
            yield page

    async def iter_tool(
        self,
        name: str,
        input: Mapping[str, Any] | None = None,
        *,
        max_items: int | None = None,
        max_pages: int | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        spec = get_tool(name)
        if max_items is not None and max_items <= 0:
            return
        count = 0
        async for page in self.iter_pages(name, input, max_pages=max_pages):
            for item in page[spec.items_key] if spec.items_key else [page]:
                yield item
                count += 1
                if max_items is not None and count >= max_items:
                    return

    async def query(self, sql: str, limit: int | None = None) -> QueryResult:
        payload = {"sql": sql} if limit is None else {"sql": sql, "limit": limit}
        return responses.query_result("tool outlit_query", await self.call_tool("outlit_query", payload))

    async def query_df(self, sql: str, limit: int | None = None) -> pandas.DataFrame:
        return to_dataframe(await self.query(sql, limit))

    async def schema(self, table: str | None = None) -> dict[str, Any]:
        return await self.call_tool("outlit_schema", {"table": table} if table is not None else {})

    async def list_integrations(self, connected_only: bool = False) -> list[dict[str, Any]]:
        call = calls.list_integrations(connected_only)
        return responses.object_list(call.label, await self._fetch(call), "items")

    async def _object(self, call: calls.Call) -> dict[str, Any]:
        return responses.json_object(call.label, await self._fetch(call))

    async def integration_capabilities(self, provider: str | None = None) -> dict[str, Any]:
        return await self._object(calls.capabilities(provider))

    async def connect_integration(
        self, provider: str, config: Mapping[str, Any] | None = None, *, retry_writes: bool = False
    ) -> dict[str, Any]:
        return await self._object(calls.connect(provider, config, retry_writes))

    async def connection_status(self, session_id: str) -> dict[str, Any]:
        return await self._object(calls.connection_status(session_id))

    async def disconnect_integration(self, provider: str, *, retry_writes: bool = False) -> dict[str, Any]:
        return await self._object(calls.disconnect(provider, retry_writes))

    async def sync_status(self, provider: str) -> dict[str, Any]:
        return await self._object(calls.sync_status(provider))

    async def run_setup_step(
        self, provider: str, step: str, config: Mapping[str, Any] | None = None, *, retry_writes: bool = False
    ) -> dict[str, Any]:
        return await self._object(calls.setup_step(provider, step, config, retry_writes))

    async def platform_action(
        self,
        resource: str,
        action: str,
        resource_id: str | None = None,
        body: Mapping[str, Any] | None = None,
        *,
        retry_writes: bool = False,
    ) -> Any:
        call = calls.platform(resource, action, resource_id, body, retry_writes)
        return responses.platform_data(call.label, await self._fetch(call))

    async def deliver(
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
        """:meth:`OutlitClient.deliver`; up to ``concurrency`` batches in flight at once (the shared rate
        limiter still caps the request rate). On a failure the batches still in flight are cancelled and
        their unconfirmed events are ``not_sent`` in ``partial_result``."""
        check_concurrency(concurrency)
        env = envelope(source, user_identity, customer_identity)
        run = Delivery(self._core, events, env, stop=stop, on_batch=on_batch, keep_delivered=keep_delivered)
        in_flight: dict[asyncio.Task[DeliveryReport], Settlement] = {}

        async def reap(when: str) -> None:
            done, _pending = await asyncio.wait(in_flight, return_when=when)
            error = finish_done(run, in_flight, done)
            if error is not None:
                raise error

        try:
            for batch in run.batches():
                if len(in_flight) >= concurrency:
                    await reap(asyncio.FIRST_COMPLETED)
                settlement = run.start(batch)
                in_flight[asyncio.ensure_future(self._run(run.settle(self._http, settlement)))] = settlement
            while in_flight:
                await reap(asyncio.FIRST_EXCEPTION)
        finally:
            for task in in_flight:
                task.cancel()
            if in_flight:
                await asyncio.wait(in_flight)
                finish_done(run, in_flight, list(in_flight))
        return run.report

    async def send_prepared(
        self,
        events: Iterable[PreparedEvent | Mapping[str, Any]],
        *,
        source: str = "server",
        user_identity: Mapping[str, Any] | None = None,
        customer_identity: Mapping[str, Any] | None = None,
    ) -> DeliveryReport:
        prepared = as_prepared(events)
        check_one_request(envelope(source, user_identity, customer_identity), prepared, "send_prepared")
        return await self.deliver(
            prepared, source=source, user_identity=user_identity, customer_identity=customer_identity
        )

    async def send_events(
        self,
        events: Iterable[Mapping[str, Any]],
        *,
        source: str = "server",
        user_identity: Mapping[str, Any] | None = None,
        customer_identity: Mapping[str, Any] | None = None,
        concurrency: int = 1,
        stop: Any = None,
    ) -> IngestResult:
        env = envelope(source, user_identity, customer_identity)
        intake = Intake(events, env, source)
        try:
            report = await self.deliver(
                intake.prepared(),
                source=source,
                user_identity=user_identity,
                customer_identity=customer_identity,
                stop=stop,
                keep_delivered=False,
                concurrency=concurrency,
            )
        except OutlitError as exc:
            exc.partial_result = intake.result(exc.partial_result)
            raise
        return intake.result(report)

    async def send_batch(
        self,
        events: list[Mapping[str, Any]],
        *,
        source: str = "server",
        user_identity: Mapping[str, Any] | None = None,
        customer_identity: Mapping[str, Any] | None = None,
    ) -> BatchResult:
        env = envelope(source, user_identity, customer_identity)
        return await self._run(one_batch(self._core, self._http, events, env))
