"""The asyncio Outlit client: the same flows as :class:`OutlitClient` (:mod:`.base`), driven with awaits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any, TypeVar, Unpack

import httpx

from .base import ClientBase, DeliveryOptions, Envelope, partial_ingest_result, spelled_out
from .delivery import Settlement, check_concurrency, finish_done
from .events import DeliveryReport, IngestResult, PreparedEvent
from .flow import Feed, FeedReader, Flow, Sleep, Step
from .transport import async_transport, read_async

__all__ = ["AsyncOutlitClient"]

T = TypeVar("T")


class AsyncOutlitClient(ClientBase[httpx.AsyncBaseTransport]):
    """Asyncio client for Outlit (used by the Airflow triggers); see :class:`OutlitClient` for the API."""

    _http: httpx.AsyncClient

    def _open(
        self, transport: httpx.AsyncBaseTransport | None, settings: dict[str, Any]
    ) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=transport or async_transport(), **settings)

    async def aclose(self) -> None:
        await self._http.aclose()

    close = aclose

    async def __aenter__(self) -> AsyncOutlitClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # --- running flows ----------------------------------------------------------------------------------

    async def _step(self, step: Step) -> Any:
        if isinstance(step, Sleep):
            await self.config.retry.async_sleep(step.seconds)
            return None
        return await read_async(self._http, step.request, step.until, self.config.max_response_bytes)

    async def _feed(self, feed: Feed[T]) -> AsyncIterator[T]:
        reader = FeedReader(feed)
        try:
            while (emitted := await self._run(reader.next_items())) is not None:
                for item in emitted.items:
                    yield item
        finally:
            feed.close()

    async def _run(self, flow: Flow[T]) -> T:
        try:
            step = next(flow)
            while True:
                step = flow.send(await self._step(step))
        except StopIteration as done:
            return done.value
        finally:
            flow.close()  # a cancelled task releases its limiter slot and records its partial batch

    # --- ingest -----------------------------------------------------------------------------------------

    @spelled_out(DeliveryOptions)
    async def deliver(
        self,
        events: Iterable[PreparedEvent | Mapping[str, Any]],
        *,
        concurrency: int = 1,
        **options: Unpack[DeliveryOptions],
    ) -> DeliveryReport:
        """:meth:`OutlitClient.deliver`, with the batches in flight as tasks. On a failure the batches still
        in flight are cancelled and their unconfirmed events are ``not_sent`` in ``partial_result``."""
        check_concurrency(concurrency)
        run = self._deliver(events, options)
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

    @spelled_out(Envelope)
    async def send_prepared(
        self, events: Iterable[PreparedEvent | Mapping[str, Any]], **envelope: Unpack[Envelope]
    ) -> DeliveryReport:
        return await self.deliver(self._one_request(events, envelope), **envelope)

    @spelled_out(Envelope)
    async def send_events(
        self,
        events: Iterable[Mapping[str, Any]],
        *,
        concurrency: int = 1,
        stop: Any = None,
        **envelope: Unpack[Envelope],
    ) -> IngestResult:
        """:meth:`OutlitClient.send_events`, delivering up to ``concurrency`` batches at once."""
        intake = self._intake(events, envelope)
        with partial_ingest_result(intake):
            options: DeliveryOptions = {**envelope, "stop": stop, "keep_delivered": False}
            return intake.result(await self.deliver(intake.prepared(), concurrency=concurrency, **options))
