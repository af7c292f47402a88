"""The blocking Outlit client: runs the shared flows (:mod:`.flow`, :mod:`.base`) with blocking I/O."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeVar, Unpack

import httpx

from .base import ClientBase, DeliveryOptions, Envelope, partial_ingest_result, spelled_out
from .delivery import check_concurrency, drive_threads
from .events import DeliveryReport, IngestResult, PreparedEvent
from .events import prepare_event as prepare_event
from .flow import Feed, FeedReader, Flow, Sleep, Step
from .transport import read_sync, sync_transport

__all__ = ["OutlitClient"]

T = TypeVar("T")


class OutlitClient(ClientBase[httpx.BaseTransport]):
    """Blocking client for Outlit's platform, tool and ingest APIs (construction: :class:`.base.ClientBase`).

    >>> with OutlitClient.from_env() as outlit:              # doctest: +SKIP
    ...     for customer in outlit.iter_tool("outlit_list_customers", {"billingStatus": "PAYING"}):
    ...         print(customer["name"])
    """

    _http: httpx.Client

    def _open(self, transport: httpx.BaseTransport | None, settings: dict[str, Any]) -> httpx.Client:
        return httpx.Client(transport=transport or sync_transport(), **settings)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OutlitClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- running flows ----------------------------------------------------------------------------------

    def _step(self, step: Step) -> Any:
        """Do what a flow asked: sleep (answer None) or send a request (answer the reply or its error)."""
        if isinstance(step, Sleep):
            self.config.retry.sleep(step.seconds)
            return None
        return read_sync(self._http, step.request, step.until, self.config.max_response_bytes)

    def _feed(self, feed: Feed[T]) -> Iterator[T]:
        """Drive a feed, handing out its items as they come."""
        reader = FeedReader(feed)
        try:
            while (emitted := self._run(reader.next_items())) is not None:
                yield from emitted.items
        finally:
            feed.close()

    def _run(self, flow: Flow[T]) -> T:
        """Drive a flow: send what it asks to send, sleep what it asks to sleep, return what it returns."""
        try:
            step = next(flow)
            while True:
                step = flow.send(self._step(step))
        except StopIteration as done:
            return done.value
        finally:
            flow.close()

    # --- ingest -----------------------------------------------------------------------------------------

    @spelled_out(DeliveryOptions)
    def deliver(
        self,
        events: Iterable[PreparedEvent | Mapping[str, Any]],
        *,
        concurrency: int = 1,
        **options: Unpack[DeliveryOptions],
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
        run = self._deliver(events, options)
        return drive_threads(
            run, lambda settlement: self._run(run.settle(self._http, settlement)), concurrency
        )

    @spelled_out(Envelope)
    def send_prepared(
        self, events: Iterable[PreparedEvent | Mapping[str, Any]], **envelope: Unpack[Envelope]
    ) -> DeliveryReport:
        """:meth:`deliver` for one request's worth of events (100 events, 1 MB); ``index`` in each outcome
        is the position in ``events``."""
        return self.deliver(self._one_request(events, envelope), **envelope)

    @spelled_out(Envelope)
    def send_events(
        self, events: Iterable[Mapping[str, Any]], *, stop: Any = None, **envelope: Unpack[Envelope]
    ) -> IngestResult:
        """Check and send any number of events (streamed: memory stays flat) through :meth:`deliver`.

        Invalid events are reported in ``rejected`` (with their index in ``events``) and the rest are
        delivered. If a request fails for good, the exception's ``partial_result`` is the ``IngestResult``
        of everything delivered before it.
        """
        intake = self._intake(events, envelope)
        with partial_ingest_result(intake):
            return intake.result(self.deliver(intake.prepared(), stop=stop, keep_delivered=False, **envelope))
