"""Delivering prepared events: the one primitive (``deliver``) behind ``send_events`` and ``send_prepared``.

It batches (<= 100 events, <= 1 MB a request), settles each batch through Outlit's drop-the-rejected-and-
resend rounds, checks a stop signal between batches and reports each event's outcome; a failure carries the
report so far as ``partial_result``. No I/O here: each batch is a flow (see :mod:`.flow`) the client runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

import httpx

from . import calls
from .events import (
    MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
    WIRE_JSON,
    BatchResult,
    DeliveryReport,
    EventOutcome,
    EventRejection,
    IngestResult,
    PreparedEvent,
    encode_body,
    plan_batches,
    prepare_event,
)
from .exceptions import OutlitArgumentError, OutlitError, OutlitEventError, OutlitValidationError
from .flow import Core, Flow
from .redact import Redactor
from .responses import Outcome, event_position, request_id

__all__ = [
    "Delivery",
    "Intake",
    "as_prepared",
    "batch_result",
    "check_concurrency",
    "check_one_request",
    "drive_threads",
    "finish_done",
    "reap_threads",
]

StopSignal = Any  # threading.Event, asyncio.Event, or a callable returning True to stop


def _stopped(stop: StopSignal) -> bool:
    if stop is None:
        return False
    return bool(stop.is_set() if hasattr(stop, "is_set") else stop())


class Settlement:
    """One batch through the drop-and-resend rounds.

    After a 400 that names events Outlit stored nothing: the named events are rejected and the rest go out
    again (same uuids). After a 207 that names events but confirms fewer of the others than were sent, the
    unconfirmed ones also go out again: Outlit deduplicates by uuid, so a resend is safe and a loss is not.
    Every round removes at least one named event, so the rounds end.
    """

    def __init__(self, batch: list[PreparedEvent]) -> None:
        self.batch = batch
        self.pending = batch
        # Outcomes as they are learnt; the events never confirmed become ``not_sent`` in ``completed()``.
        self.report = DeliveryReport()
        if len({item.uuid for item in batch}) != len(batch):
            raise OutlitEventError(
                "a batch repeats an event uuid; send each event once",
                details=[{"path": ["events"], "message": "duplicate uuid"}],
            )

    def record(self, result: BatchResult) -> int:
        """Take one request's result; returns how many events it newly confirmed."""
        sent, report = self.pending, self.report
        if report.requests:
            report.resends += 1
        report.requests += 1 + result.retries
        report.retries += result.retries
        outcomes = report.outcomes
        if not (result.rejected or result.duplicates or result.resend):  # all stored: the common answer
            for done in sent:
                outcomes[done.uuid] = EventOutcome(done.uuid, done.index, "delivered")
            report.accepted += len(sent)
            self.pending = []
            return len(sent)
        by_uuid = {item.uuid: item for item in sent}
        named: set[str] = set()
        for rejection in result.rejected:
            item = by_uuid.get(str(rejection.uuid))
            if item is None or item.uuid in named:
                continue
            named.add(item.uuid)
            report.outcomes[item.uuid] = EventOutcome(
                item.uuid, item.index, "rejected", list(rejection.path), rejection.message
            )
        duplicates = {u for u in result.duplicates if u in by_uuid and u not in named}
        for uuid in duplicates:
            report.outcomes[uuid] = EventOutcome(uuid, by_uuid[uuid].index, "duplicate")
        others = [item for item in sent if item.uuid not in named and item.uuid not in duplicates]
        if result.resend:
            keep = set(result.resend)
            again = [item for item in others if item.index in keep]
        elif named and result.accepted < len(others):
            again = others
        else:
            again = []
        resent = {item.uuid for item in again}
        confirmed = [item for item in others if item.uuid not in resent]
        for item in confirmed:
            report.outcomes[item.uuid] = EventOutcome(item.uuid, item.index, "delivered")
        report.accepted += len(confirmed) + len(duplicates)
        self.pending = again
        return len(confirmed) + len(duplicates)

    def completed(self) -> DeliveryReport:
        """The report with an outcome for every event of the batch, in batch order (``not_sent`` for the
        ones never confirmed nor refused: their request failed for good, or was never made)."""
        known = self.report.outcomes
        self.report.outcomes = {
            item.uuid: known.get(item.uuid) or EventOutcome(item.uuid, item.index, "not_sent")
            for item in self.batch
        }
        return self.report

    def gave_up(self, error: OutlitError) -> None:
        """Count the request that failed for good (it is in no result): its attempts and their retries."""
        attempts = max(1, int(getattr(error, "attempts", 1)))
        self.report.requests += attempts
        self.report.retries += attempts - 1


class Delivery:
    """One ``deliver()`` run: batches, the running report, the stop signal and the per-batch callback."""

    def __init__(
        self,
        core: Core,
        events: Iterable[PreparedEvent | Mapping[str, Any]],
        env: dict[str, Any],
        *,
        stop: StopSignal = None,
        on_batch: Callable[[DeliveryReport], None] | None = None,
        keep_delivered: bool = True,
        max_events: int = MAX_BATCH_EVENTS,
        max_bytes: int = MAX_BATCH_BYTES,
    ) -> None:
        self.core = core
        self.env = env
        self.report = DeliveryReport()
        self._events = events
        self._stop = stop
        self._on_batch = on_batch
        self._keep_delivered = keep_delivered
        self._max_events = max_events
        self._max_bytes = max_bytes

    def batches(self) -> Iterator[list[PreparedEvent]]:
        """Request-sized batches; an event too large for any request becomes a client-side rejection."""
        items = (_prepared(event, index) for index, event in enumerate(self._events))
        for batch in plan_batches(items, self.env, max_events=self._max_events, max_bytes=self._max_bytes):
            if isinstance(batch, EventRejection):  # reported like a batch of one that was refused unsent
                outcome = EventOutcome(
                    str(batch.uuid), batch.index, "rejected", [], batch.message, client_side=True
                )
                self._take(DeliveryReport(outcomes={outcome.uuid: outcome}))
                continue
            if _stopped(self._stop):
                self.report.stopped = True
                return
            self.report.batches += 1
            yield batch

    def start(self, batch: list[PreparedEvent]) -> Settlement:
        """A batch about to be sent; every started batch must be handed to :meth:`finish` once."""
        return Settlement(batch)

    def settle(self, http: httpx.Client | httpx.AsyncClient, settlement: Settlement) -> Flow[DeliveryReport]:
        """Send one batch until each of its events is delivered or rejected (a flow for the client to run)."""
        public_key = self.core.config.require_public_key()
        try:
            while settlement.pending:
                body = encode_body(self.env, settlement.pending)
                call = calls.ingest(public_key, body, len(settlement.pending))
                outcome = yield from self.core.request(http, call)
                settlement.record(batch_result(self.core.redactor, outcome, settlement.pending))
        except OutlitError as exc:
            settlement.gave_up(exc)
            exc.partial_result = self.report  # complete once the driver has finished every batch
            raise
        return settlement.completed()

    def finish(self, settlement: Settlement) -> None:
        """Take a batch that is settled, failed or cancelled into the report; its events not confirmed
        stay ``not_sent``. Drivers call this on their own thread, so ``on_batch`` needs no lock."""
        self._take(settlement.completed())

    def _take(self, part: DeliveryReport) -> None:
        self._absorb(part)
        if self._on_batch is not None:
            self._on_batch(part)

    def _absorb(self, part: DeliveryReport) -> None:
        total = self.report
        total.requests += part.requests
        total.retries += part.retries
        total.resends += part.resends
        total.accepted += part.accepted
        for uuid, outcome in part.outcomes.items():
            if self._keep_delivered or outcome.status != "delivered":
                total.outcomes[uuid] = outcome


def check_concurrency(concurrency: int) -> int:
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise OutlitArgumentError(
            f"concurrency must be >= 1, got {concurrency}",
            details=[{"path": ["concurrency"], "message": "must be >= 1"}],
        )
    return concurrency


def finish_done(run: Delivery, window: dict[Any, Settlement], done: Iterable[Any]) -> BaseException | None:
    """Finish the batches whose futures (threads) or tasks (asyncio) are done; return the first failure."""
    error: BaseException | None = None
    for future in done:
        run.finish(window.pop(future))
        if not future.cancelled() and error is None:
            error = future.exception()
    return error


def reap_threads(run: Delivery, window: dict[Future[DeliveryReport], Settlement], *, block: bool) -> None:
    """Finish the batches done now (after waiting for one, if ``block``); raise the first failure.

    One scan decides: a future that completes after it stays in ``window`` for the next call, so every
    batch is finished exactly once (two scans could drop one finishing in between).
    """
    if block:
        wait(window, return_when=FIRST_COMPLETED)
    error = finish_done(run, window, [future for future in window if future.done()])
    if error is not None:
        raise error


def drive_threads(
    run: Delivery, settle: Callable[[Settlement], DeliveryReport], concurrency: int
) -> DeliveryReport:
    """The sync client's driver: up to ``concurrency`` batches settling on worker threads at once.

    Batches are read, and finished (``on_batch``), on the calling thread. After a failure nothing new is
    sent; the batches in flight finish (a request cannot be taken back) and the first failure is raised.
    """
    if concurrency == 1:
        for batch in run.batches():
            settlement = run.start(batch)
            try:
                settle(settlement)
            finally:
                run.finish(settlement)
        return run.report
    window: dict[Future[DeliveryReport], Settlement] = {}
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="outlit-deliver") as pool:
        try:
            for batch in run.batches():
                settlement = run.start(batch)
                window[pool.submit(settle, settlement)] = settlement
                reap_threads(run, window, block=len(window) >= concurrency)
            while window:
                reap_threads(run, window, block=True)
        except BaseException:
            for future in window:
                future.cancel()
            wait(window)
            finish_done(run, window, list(window))  # recorded; the first failure is the one raised
            raise
    return run.report


def _prepared(event: PreparedEvent | Mapping[str, Any], index: int) -> PreparedEvent:
    if isinstance(event, PreparedEvent):
        return event
    return _encode(event, index)


def _encode(event: Any, index: int) -> PreparedEvent:
    """A checked event dict as a :class:`PreparedEvent`, without checking it again (it needs a uuid)."""
    if not isinstance(event, Mapping):
        raise OutlitEventError(
            f"event {index} must be a dict, got {type(event).__name__}",
            details=[{"path": ["events", index], "message": "not an object"}],
        )
    event_uuid = event.get("uuid")
    if not isinstance(event_uuid, str) or not event_uuid:
        raise OutlitEventError(
            f"event {index} has no uuid; prepare events with prepare_event() or iter_event_batches(), "
            "which give every event one",
            details=[{"path": ["events", index, "uuid"], "message": "missing"}],
        )
    try:
        encoded = WIRE_JSON.encode(event).encode()
    except (TypeError, ValueError) as exc:
        raise OutlitEventError(
            f"event {index} is not JSON-serialisable ({exc}); check it with prepare_event() first",
            details=[{"path": ["events", index], "message": "not JSON-serialisable"}],
        ) from None
    return PreparedEvent(index=index, event=dict(event), encoded=encoded)


def as_prepared(events: Iterable[PreparedEvent | Mapping[str, Any]]) -> list[PreparedEvent]:
    """``send_prepared``'s input: ``index`` becomes the position in ``events``; a repeated uuid is refused."""
    out: list[PreparedEvent] = []
    seen: set[str] = set()
    for index, event in enumerate(events):
        if isinstance(event, PreparedEvent):
            item = PreparedEvent(index=index, event=event.event, encoded=event.encoded)
        else:
            item = _encode(event, index)
        if item.uuid in seen:
            raise OutlitEventError(
                f"send_prepared: event {index} repeats uuid {item.uuid}; send each event once",
                details=[{"path": ["events", index, "uuid"], "message": "duplicate"}],
            )
        seen.add(item.uuid)
        out.append(item)
    return out


def check_one_request(env: dict[str, Any], prepared: list[PreparedEvent], method: str) -> None:
    if len(prepared) > MAX_BATCH_EVENTS or len(encode_body(env, prepared)) > MAX_BATCH_BYTES:
        raise OutlitEventError(
            f"{method} takes at most {MAX_BATCH_EVENTS} events and {MAX_BATCH_BYTES} bytes; "
            "use deliver() or send_events() to send larger inputs",
            details=[{"path": ["events"], "message": "batch too large"}],
        )


class Intake:
    """``send_events``' side of delivery: checks raw events, keeps the refusals, builds the IngestResult."""

    def __init__(self, events: Iterable[Mapping[str, Any]], env: dict[str, Any], source: str) -> None:
        self._events = events
        self._source = source
        self._identity = "userIdentity" in env or "customerIdentity" in env
        self.rejected: list[EventRejection] = []

    def prepared(self) -> Iterator[PreparedEvent]:
        for index, event in enumerate(self._events):
            item = prepare_event(event, index, source=self._source, batch_identity=self._identity)
            if isinstance(item, EventRejection):
                self.rejected.append(item)
            else:
                yield item

    def result(self, report: DeliveryReport | None) -> IngestResult:
        total = IngestResult(rejected=list(self.rejected))
        if report is not None:
            total.accepted, total.retries, total.batches = report.accepted, report.retries, report.batches
            total.requests, total.stopped = report.requests, report.stopped
            total.rejected += [
                EventRejection(o.index, o.uuid, list(o.path), o.message or "rejected", o.client_side)
                for o in report.outcomes.values()
                if o.status == "rejected"
            ]
        total.rejected.sort(key=lambda r: r.index)
        return total


def batch_result(redactor: Redactor, outcome: Outcome, batch: list[PreparedEvent]) -> BatchResult:
    """One ingest answer as a :class:`BatchResult` (events named as refused, to resend, or duplicates)."""
    body = outcome.data if isinstance(outcome.data, dict) else {}
    status = outcome.response.status_code
    result = BatchResult(retries=outcome.retries, status_code=status)
    errors = (
        [e for e in body.get("errors") or [] if isinstance(e, dict)]
        if isinstance(body.get("errors"), list)
        else []
    )
    req_id = request_id(outcome.response, None)
    if status == 400:
        # The whole request was refused: nothing stored. Name the bad events; the rest must be resent.
        bad: dict[int, EventRejection] = {}
        for err in errors:
            position, where = event_position(err)
            if 0 <= position < len(batch) and position not in bad:
                item = batch[position]
                message = redactor.value(str(err.get("message", "rejected")))
                bad[position] = EventRejection(index=item.index, uuid=item.uuid, path=where, message=message)
        if not bad:
            raise redactor.exception(
                OutlitValidationError(
                    "ingest: Outlit refused the batch naming events that are not in it",
                    status_code=status,
                    details=errors,
                    request_id=req_id,
                )
            )
        result.rejected = list(bad.values())
        result.resend = [item.index for pos, item in enumerate(batch) if pos not in bad]
        return result
    whole = [e for e in errors if not isinstance(e.get("index"), int) or not 0 <= e["index"] < len(batch)]
    if whole:
        raise redactor.exception(
            OutlitValidationError(
                "ingest: Outlit refused the batch: " + str(whole[0].get("message", "unknown error")),
                status_code=status,
                details=errors,
                request_id=req_id,
            )
        )
    seen: set[int] = set()
    for err in errors:
        position = err["index"]
        if position in seen:
            continue
        seen.add(position)
        item = batch[position]
        if err.get("code") in ("duplicate", "duplicate_event") or err.get("duplicate") is True:
            result.duplicates.append(item.uuid)
            continue
        message = redactor.value(str(err.get("message", "rejected")))
        result.rejected.append(EventRejection(index=item.index, uuid=item.uuid, path=[], message=message))
    processed = body.get("processed")
    result.accepted = (
        processed
        if isinstance(processed, int) and not isinstance(processed, bool)
        else len(batch) - len(seen)
    )
    return result


def one_batch(
    core: Core, http: httpx.Client | httpx.AsyncClient, events: list[Mapping[str, Any]], env: dict[str, Any]
) -> Flow[BatchResult]:
    """``send_batch``: check ``events`` and send them in ONE request, with no resend round."""
    source = env["source"]
    intake = Intake(events, env, source)
    prepared = list(intake.prepared())
    check_one_request(env, prepared, "send_batch")
    if not prepared:
        return BatchResult(rejected=intake.rejected)
    call = calls.ingest(core.config.require_public_key(), encode_body(env, prepared), len(prepared))
    outcome = yield from core.request(http, call)
    result = batch_result(core.redactor, outcome, prepared)
    result.rejected = sorted(intake.rejected + result.rejected, key=lambda r: r.index)
    return result
