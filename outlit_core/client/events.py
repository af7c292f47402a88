"""Ingest events: per-type checks, a ``uuid`` on every event, and batching into requests Outlit accepts.

Outlit deduplicates events by ``uuid``, which is what makes resending a batch after a timeout or a 429
safe; so every event leaves here with one (the caller's if given, else a fresh UUID4).
"""

from __future__ import annotations

import json
import re
import time
import uuid as uuid_module
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, overload

from .exceptions import OutlitEventError

__all__ = [
    "EVENT_TYPES",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_EVENTS",
    "BatchResult",
    "DeliveryReport",
    "EventOutcome",
    "EventRejection",
    "IngestResult",
    "PreparedEvent",
    "is_email",
    "iter_event_batches",
    "plan_requests",
    "prepare_event",
]

MAX_BATCH_EVENTS = 100
MAX_BATCH_BYTES = 1_000_000
SOURCES = ("client", "server", "integration")
EVENT_TYPES = ("pageview", "custom", "form", "identify", "engagement", "calendar", "stage", "billing")

# event type -> (field, allowed values)
_ENUMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "calendar": ("provider", ("cal.com", "calendly", "unknown")),
    "stage": ("stage", ("activated", "engaged", "inactive")),
    "billing": ("status", ("trialing", "paid", "churned")),
}
_REQUIRED: dict[str, tuple[str, ...]] = {
    "custom": ("eventName",),
    "engagement": ("activeTimeMs", "totalTimeMs", "sessionId"),
    "calendar": ("provider",),
    "stage": ("stage",),
    "billing": ("status",),
}
# At least one of these must be present (server events need identity or account attribution).
_ONE_OF: dict[str, tuple[str, ...]] = {
    "identify": ("email", "userId"),
    "billing": ("customerId", "stripeCustomerId"),
}
_SERVER_IDENTITY = ("email", "userId", "fingerprint", "customerId")
# Fields every event of a type must carry, non-blank: "url", "path" and the type's own.
_NEEDED = {etype: ("url", "path", *_REQUIRED.get(etype, ())) for etype in EVENT_TYPES}
# The one e-mail rule of this package (the ingest API's own: no leading, trailing or doubled dots in the
# local part, a dotted domain, a TLD of letters); reverse load and send_events both apply it before sending.
_EMAIL = re.compile(
    r"^(?!\.)(?!.*\.\.)[A-Za-z0-9_'+\-.]*[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}$"
)
_EMAIL_FIELDS = ("email", "inviteeEmail")
# Event times outside this window are a wrong column or a sentinel (0, 9999-12-31), not an event.
EARLIEST_TIMESTAMP_MS = 946_684_800_000  # 2000-01-01T00:00:00Z
LATEST_TIMESTAMP_SLACK_MS = 86_400_000  # up to a day ahead of this machine's clock (clock skew)
_OBJECT_FIELDS = ("properties", "traits", "customerTraits", "formFields", "utm")
# One encoder for every event: json.dumps with these options builds a new one per call, a third of its cost.
WIRE_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


@dataclass(frozen=True)
class EventRejection:
    """One event Outlit (or the client's pre-send check) refused."""

    #: position of the event in the caller's input
    index: int
    uuid: str | None
    path: list[str | int]
    message: str
    #: True when the client refused it before sending
    client_side: bool = False


@dataclass
class BatchResult:
    """The outcome of one ingest request (after its retries)."""

    accepted: int = 0
    rejected: list[EventRejection] = field(default_factory=list)
    retries: int = 0
    status_code: int | None = None
    #: indexes of events that were NOT stored and not rejected (a 400 refuses the whole request): resend them
    resend: list[int] = field(default_factory=list)
    #: uuids Outlit reported as already stored (an ``errors[]`` entry with ``code: "duplicate"``)
    duplicates: list[str] = field(default_factory=list)


@dataclass
class IngestResult:
    """The outcome of :meth:`send_events` over all its batches."""

    accepted: int = 0
    rejected: list[EventRejection] = field(default_factory=list)
    requests: int = 0
    retries: int = 0
    batches: int = 0
    #: True when the stop signal ended the call before every event was read
    stopped: bool = False

    @property
    def ok(self) -> bool:
        return not self.rejected


EventStatus = Literal["delivered", "duplicate", "rejected", "not_sent"]


@dataclass(frozen=True)
class EventOutcome:
    """What became of one event given to ``send_prepared``."""

    uuid: str
    #: position of the event in the list given to ``send_prepared``
    index: int
    #: ``delivered``: Outlit accepted it; ``duplicate``: Outlit said it already had this uuid (also done);
    #: ``rejected``: refused (``path``/``message`` say why; ``client_side`` if refused before sending);
    #: ``not_sent``: not confirmed because the call failed or stopped first - send it again, same uuid
    status: EventStatus
    #: the field within the event that Outlit refused (``["email"]``), empty when it did not say
    path: list[str | int] = field(default_factory=list)
    message: str | None = None
    client_side: bool = False


class _OutcomesWith:
    """A read-only list attribute of :class:`DeliveryReport`: its outcomes with one status."""

    def __init__(self, status: EventStatus) -> None:
        self.status = status

    @overload
    def __get__(self, report: None, owner: type[Any]) -> _OutcomesWith: ...
    @overload
    def __get__(self, report: DeliveryReport, owner: type[Any]) -> list[EventOutcome]: ...
    def __get__(self, report: DeliveryReport | None, owner: type[Any]) -> Any:
        if report is None:
            return self
        return [o for o in report.outcomes.values() if o.status == self.status]


@dataclass
class DeliveryReport:
    """The outcome of :meth:`OutlitClient.deliver` / ``send_prepared``: every event's fate by uuid.

    With ``keep_delivered=False`` the delivered outcomes are counted (``accepted``) but not kept, so the
    report of a stream of any length stays small.
    """

    outcomes: dict[str, EventOutcome] = field(default_factory=dict)
    #: HTTP requests made, retries included
    requests: int = 0
    #: requests repeated after a 429, 5xx or transport failure
    retries: int = 0
    #: requests that resent the rest of the batch after Outlit refused some of its events
    resends: int = 0
    #: batches started (each one request's worth of events, plus its resends)
    batches: int = 0
    #: events Outlit confirmed (delivered or duplicate), counted even when their outcomes are not kept
    accepted: int = 0
    #: True when the stop signal ended the delivery before every event was read
    stopped: bool = False

    delivered = _OutcomesWith("delivered")
    rejected = _OutcomesWith("rejected")
    not_sent = _OutcomesWith("not_sent")
    duplicates = _OutcomesWith("duplicate")


@dataclass(frozen=True)
class PreparedEvent:
    index: int
    event: dict[str, Any]
    #: compact JSON encoding, so batch sizes are measured on exactly the bytes that are sent
    encoded: bytes

    @property
    def uuid(self) -> str:
        return self.event["uuid"]


def is_email(value: str) -> bool:
    """Whether ``value`` is an e-mail address Outlit accepts (the single rule every sender here uses)."""
    return bool(_EMAIL.match(value))


def timestamp_problem(epoch_ms: float) -> str | None:
    """Why an event time (epoch milliseconds) is absurd, or None if it is plausible."""
    latest = time.time() * 1000 + LATEST_TIMESTAMP_SLACK_MS
    if epoch_ms < EARLIEST_TIMESTAMP_MS:
        return f"timestamp {epoch_ms:.0f} is before 2000-01-01; events must carry the time they happened"
    if epoch_ms > latest:
        return f"timestamp {epoch_ms:.0f} is more than a day in the future; check the column and its unit"
    return None


def _problem(
    index: int, event: Mapping[str, Any] | Any, path: list[str | int], message: str
) -> EventRejection:
    event_uuid = event.get("uuid") if isinstance(event, Mapping) else None
    return EventRejection(
        index=index,
        uuid=str(event_uuid) if event_uuid is not None else None,
        path=path,
        message=message,
        client_side=True,
    )


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _normalize_uuid(value: Any) -> str:
    if isinstance(value, uuid_module.UUID):
        return str(value)
    if isinstance(value, str) and _CANONICAL_UUID.fullmatch(value):
        return value  # already in canonical form: parsing it again is most of this check's cost
    if not isinstance(value, str):
        raise ValueError(f"uuid must be a UUID string, got {type(value).__name__}")
    return str(uuid_module.UUID(value))


def prepare_event(
    event: Mapping[str, Any],
    index: int = 0,
    *,
    source: str = "server",
    batch_identity: bool = False,
    encoded: bytes | None = None,
) -> PreparedEvent | EventRejection:
    """Check one event and give it a ``uuid``; a problem comes back as an :class:`EventRejection`.

    ``encoded``: the event's compact JSON (keys in any order) when the caller has it already, such as the
    reverse loader, which encodes every event once for its content hash. It is sent as is when the checks
    leave the event unchanged; otherwise the checked event is encoded here. The caller vouches that it
    encodes exactly ``event``.
    """
    if type(event) is not dict and hasattr(event, "model_dump"):
        event = event.model_dump(exclude_none=True)  # pydantic models built by callers
        encoded = None
    if type(event) is not dict and not isinstance(event, Mapping):
        return _problem(index, event, [], f"event must be a JSON object (dict), got {type(event).__name__}")
    out = dict(event)
    etype = out.get("type")
    if etype not in EVENT_TYPES:
        return _problem(index, out, ["type"], f"type must be one of {', '.join(EVENT_TYPES)}; got {etype!r}")
    for name in _NEEDED[etype]:
        value = out.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            return _problem(index, out, [name], f"{etype} events need {name!r}")
    for name in ("url", "path", "eventName", "sessionId", "email", "userId", "customerId"):
        if name in out and not isinstance(out[name], str):
            return _problem(index, out, [name], f"{name} must be a string, got {type(out[name]).__name__}")
    for name in _EMAIL_FIELDS:
        if isinstance(out.get(name), str) and not is_email(out[name]):
            return _problem(index, out, [name], f"{name} {out[name]!r} is not a valid e-mail address")
    if etype in _ENUMS:
        key, allowed = _ENUMS[etype]
        if out.get(key) not in allowed:
            return _problem(
                index, out, [key], f"{key} must be one of {', '.join(allowed)}; got {out.get(key)!r}"
            )
    for name in _OBJECT_FIELDS:
        value = out.get(name)
        if value is not None and type(value) is not dict and not isinstance(value, Mapping):
            return _problem(index, out, [name], f"{name} must be an object, got {type(out[name]).__name__}")
    if etype == "engagement":
        for name in ("activeTimeMs", "totalTimeMs"):
            value = out[name]
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                return _problem(index, out, [name], f"{name} must be a number >= 0; got {value!r}")
        try:
            session = _normalize_uuid(out["sessionId"])
        except ValueError:
            return _problem(index, out, ["sessionId"], f"sessionId must be a UUID; got {out['sessionId']!r}")
        if session != out["sessionId"]:
            out["sessionId"], encoded = session, None
    one_of = _ONE_OF.get(etype)
    if one_of and not any(map(out.get, one_of)):
        return _problem(index, out, [one_of[0]], f"{etype} events need at least one of {' or '.join(one_of)}")
    if (
        source == "server"
        and etype == "custom"
        and not batch_identity
        and not any(map(out.get, _SERVER_IDENTITY))
    ):
        return _problem(
            index,
            out,
            ["email"],
            "server custom events need identity: at least one of email, userId, fingerprint or customerId "
            "(or pass user_identity/customer_identity for the batch)",
        )
    timestamp = out.get("timestamp")
    if type(timestamp) is int:
        pass  # epoch milliseconds, the common case: checked below
    elif isinstance(timestamp, datetime):
        if timestamp.tzinfo is None:
            return _problem(
                index, out, ["timestamp"], "timestamp datetime has no timezone; pass an aware one"
            )
        out["timestamp"], encoded = int(timestamp.timestamp() * 1000), None
    elif timestamp is not None and (isinstance(timestamp, bool) or not isinstance(timestamp, int | float)):
        return _problem(index, out, ["timestamp"], f"timestamp must be epoch milliseconds; got {timestamp!r}")
    if out.get("timestamp") is not None and (why := timestamp_problem(out["timestamp"])):
        return _problem(index, out, ["timestamp"], why)
    given_uuid = out.get("uuid")
    if given_uuid is None:
        out["uuid"], encoded = str(uuid_module.uuid4()), None
    else:
        try:
            normal = _normalize_uuid(given_uuid)
        except ValueError:
            return _problem(index, out, ["uuid"], f"uuid must be a UUID; got {given_uuid!r}")
        if normal != given_uuid:
            out["uuid"], encoded = normal, None
    if encoded is None:
        try:
            encoded = WIRE_JSON.encode(out).encode()
        except (TypeError, ValueError) as exc:
            return _problem(index, out, [], f"event is not JSON-serialisable: {exc}")
    return PreparedEvent(index=index, event=out, encoded=encoded)


def envelope(
    source: str, user_identity: Mapping[str, Any] | None, customer_identity: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The batch fields sent around ``events``; checked once per call."""
    if source not in SOURCES:
        raise OutlitEventError(
            f"source must be one of {', '.join(SOURCES)}; got {source!r}",
            details=[{"path": ["source"], "message": "invalid source"}],
        )
    body: dict[str, Any] = {"source": source}
    for name, value in (("userIdentity", user_identity), ("customerIdentity", customer_identity)):
        if value is None:
            continue
        if not isinstance(value, Mapping):
            raise OutlitEventError(
                f"{name} must be a mapping, got {type(value).__name__}",
                details=[{"path": [name], "message": "not an object"}],
            )
        body[name] = dict(value)
    return body


def encode_body(env: Mapping[str, Any], events: list[PreparedEvent]) -> bytes:
    """The exact request body: the envelope with the events' pre-encoded JSON spliced in."""
    head = json.dumps({**env, "events": []}, separators=(",", ":"), ensure_ascii=False).encode()
    assert head.endswith(b"[]}")
    return head[:-2] + b",".join(e.encoded for e in events) + b"]}"


def plan_batches(
    prepared: Iterable[PreparedEvent],
    env: Mapping[str, Any],
    *,
    max_events: int = MAX_BATCH_EVENTS,
    max_bytes: int = MAX_BATCH_BYTES,
) -> Iterator[list[PreparedEvent] | EventRejection]:
    """Group events into batches within both limits; an event too big on its own is yielded as a rejection."""
    if not 1 <= max_events <= MAX_BATCH_EVENTS:
        raise ValueError(f"max_events must be between 1 and {MAX_BATCH_EVENTS}, got {max_events}")
    overhead = len(encode_body(env, []))
    batch: list[PreparedEvent] = []
    size = overhead
    for item in prepared:
        cost = len(item.encoded) + (1 if batch else 0)
        if overhead + len(item.encoded) > max_bytes:
            yield EventRejection(
                index=item.index,
                uuid=item.uuid,
                path=[],
                message=f"event is {len(item.encoded)} bytes; a request body may be at most "
                f"{max_bytes} bytes",
                client_side=True,
            )
            continue
        if batch and (len(batch) >= max_events or size + cost > max_bytes):
            yield batch
            batch, size, cost = [], overhead, len(item.encoded)
        batch.append(item)
        size += cost
    if batch:
        yield batch


def plan_requests(
    prepared: Iterable[PreparedEvent],
    *,
    source: str = "server",
    user_identity: Mapping[str, Any] | None = None,
    customer_identity: Mapping[str, Any] | None = None,
) -> Iterator[list[PreparedEvent] | EventRejection]:
    """How ``deliver()`` packs prepared events into requests, without sending (a dry run's batch count).

    An event too large for any request comes out as a client-side :class:`EventRejection`.
    """
    return plan_batches(prepared, envelope(source, user_identity, customer_identity))


def iter_event_batches(
    events: Iterable[Mapping[str, Any]],
    *,
    source: str = "server",
    user_identity: Mapping[str, Any] | None = None,
    customer_identity: Mapping[str, Any] | None = None,
    max_events: int = MAX_BATCH_EVENTS,
    max_bytes: int = MAX_BATCH_BYTES,
) -> Iterator[list[dict[str, Any]]]:
    """Checked events (each with a ``uuid``) in lists that each fit one ingest request.

    Raises :class:`OutlitEventError` on the first invalid or oversized event; ``send_events`` instead
    reports those as rejections and carries on.
    """
    env = envelope(source, user_identity, customer_identity)
    has_identity = user_identity is not None or customer_identity is not None

    def checked() -> Iterator[PreparedEvent]:
        for index, event in enumerate(events):
            item = prepare_event(event, index, source=source, batch_identity=has_identity)
            if isinstance(item, EventRejection):
                raise rejection_error(item)
            yield item

    for batch in plan_batches(checked(), env, max_events=max_events, max_bytes=max_bytes):
        if isinstance(batch, EventRejection):
            raise rejection_error(batch)
        yield [item.event for item in batch]


def rejection_error(rejection: EventRejection) -> OutlitEventError:
    where = ".".join(str(p) for p in ["events", rejection.index, *rejection.path])
    return OutlitEventError(
        f"event {rejection.index} is invalid: {where}: {rejection.message}",
        details=[{"path": ["events", rejection.index, *rejection.path], "message": rejection.message}],
        code="invalid_event",
    )
