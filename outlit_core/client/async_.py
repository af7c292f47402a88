"""The asyncio Outlit client: the same flows as :class:`OutlitClient` (:mod:`.base`), driven with awaits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any, TypeVar, Unpack

import httpx

from .base import ClientBase, DeliveryOptions, Envelope, partial_ingest_result
from .events import DeliveryReport, IngestResult, PreparedEvent
from .exceptions import OutlitArgumentError
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
            while (emitted := await self._run(reader.next_item())) is not None:
                yield emitted.item
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

    async def deliver(
        self,
        events: Iterable[PreparedEvent | Mapping[str, Any]],
        *,
        concurrency: int = 1,
        **options: Unpack[DeliveryOptions],
    ) -> DeliveryReport:
        """:meth:`OutlitClient.deliver`; up to ``concurrency`` batches in flight at once (the shared rate
        limiter still caps the request rate). On a failure the batches still in flight are cancelled and
        their unconfirmed events are ``not_sent`` in ``partial_result``."""
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise OutlitArgumentError(
                f"concurrency must be >= 1, got {concurrency}",
                details=[{"path": ["concurrency"], "message": "must be >= 1"}],
            )
        run = self._deliver(events, options)
        in_flight: set[asyncio.Task[DeliveryReport]] = set()
        try:
            for batch in run.batches():
                if len(in_flight) >= concurrency:
                    done, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                    for task in done:
                        task.result()
                in_flight.add(asyncio.ensure_future(self._run(run.settle(self._http, batch))))
            while in_flight:
                done, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_EXCEPTION)
                for task in done:
                    task.result()
        finally:
            for task in in_flight:
                task.cancel()
            if in_flight:
                await asyncio.wait(in_flight)
        return run.report

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
