"""The ingest API: payload validation, uuid de-duplication, the per-key rate limit and the event store."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .identity import apply as apply_identity
from .identity import event_identity
from .timeutil import from_ms
from .validation import Spec, validate

if TYPE_CHECKING:
    from .dataset import Dataset

MAX_EVENTS = 100
EVENT_TYPES = ("pageview", "custom", "form", "identify", "engagement", "calendar", "stage", "billing")

_OBJ: Spec = {"type": "object"}
_BASE_PROPS: dict[str, Spec] = {
    "type": {"type": "string"},
    "uuid": {"type": "string", "uuid": True},
    "timestamp": {"type": "number"},
    "url": {"type": "string", "uri": True},
    "path": {"type": "string"},
    "referrer": {"type": "string"},
    "utm": {
        "type": "object",
        "additional": False,
        "props": {k: {"type": "string"} for k in ("source", "medium", "campaign", "term", "content", "ref")},
    },
}
_TYPE_PROPS: dict[str, tuple[dict[str, Spec], tuple[str, ...]]] = {
    "pageview": ({"title": {"type": "string"}}, ()),
    "custom": ({"eventName": {"type": "string"}, "properties": _OBJ}, ("eventName",)),
    "form": ({"formId": {"type": "string"}, "formFields": _OBJ}, ()),
    "identify": (
        {
            "email": {"type": "string", "email": True},
            "userId": {"type": "string"},
            "customerId": {"type": "string"},
            "traits": _OBJ,
            "customerTraits": _OBJ,
        },
        (),
    ),
    "engagement": (
        {
            "activeTimeMs": {"type": "number", "min": 0},
            "totalTimeMs": {"type": "number", "min": 0},
            "sessionId": {"type": "string", "uuid": True},
        },
        ("activeTimeMs", "totalTimeMs", "sessionId"),
    ),
    "calendar": (
        {
            "provider": {"type": "string", "enum": ("cal.com", "calendly", "unknown")},
            "eventType": {"type": "string"},
            "startTime": {"type": "string", "iso": True},
            "endTime": {"type": "string", "iso": True},
            "duration": {"type": "number"},
            "isRecurring": {"type": "boolean"},
            "inviteeEmail": {"type": "string", "email": True},
            "inviteeName": {"type": "string"},
        },
        ("provider",),
    ),
    "stage": (
        {"stage": {"type": "string", "enum": ("activated", "engaged", "inactive")}, "properties": _OBJ},
        ("stage",),
    ),
    "billing": (
        {
            "status": {"type": "string", "enum": ("trialing", "paid", "churned")},
            "customerId": {"type": "string"},
            "stripeCustomerId": {"type": "string"},
            "domain": {"type": "string", "min": 1},  # Outlit's Rust crate keys billing by domain
            "properties": _OBJ,
        },
        ("status",),
    ),
}
EVENT_SPECS: dict[str, Spec] = {
    t: {"type": "object", "required": ("type", *req), "props": {**_BASE_PROPS, **props}}
    for t, (props, req) in _TYPE_PROPS.items()
}
# ingest.md and the later contract require these; openapi.json's schema does not, so their absence is a
# processing error of that one event, not a refusal of the request
_WHERE: Spec = {"type": "object", "required": ("url", "path"), "props": {"url": _BASE_PROPS["url"]}}
REQUEST_SPEC: Spec = {
    "type": "object",
    "required": ("events",),
    "additional": False,
    "props": {
        "visitorId": {"type": "string", "uuid": True},
        "fingerprint": {"type": "string", "min": 1},
        # @outlit/browser sends its session id beside visitorId on every batch (later IngestPayload revision)
        "sessionId": {"type": "string"},
        "source": {"type": "string", "enum": ("client", "server", "integration")},
        "userIdentity": {
            "type": "object",
            "additional": False,
            "props": {
                "email": {"type": "string", "email": True},
                "userId": {"type": "string"},
                "fingerprint": {"type": "string", "min": 1},
                "traits": _OBJ,
            },
        },
        "customerIdentity": {
            "type": "object",
            "additional": False,
            "props": {"customerId": {"type": "string"}, "customerTraits": _OBJ},
        },
        "events": {"type": "array", "min": 1, "max": MAX_EVENTS},
    },
}


@dataclass
class PayloadCheck:
    """An ingest body checked: ``refusals`` break openapi.json's schema and refuse the whole request (400);
    ``unprocessable`` maps an event's index to why Outlit cannot process it although the schema allows it
    (ingest.md: such events are reported in the 200's ``errors`` and the others are stored)."""

    refusals: list[dict[str, Any]]
    unprocessable: dict[int, list[dict[str, Any]]]

    def all_issues(self) -> list[dict[str, Any]]:
        return [*self.refusals, *(i for issues in self.unprocessable.values() for i in issues)]


def check_payload(body: Any) -> PayloadCheck:
    """Every problem with an ingest body; paths name the event (``["events", i, field]``)."""
    check = PayloadCheck(validate(REQUEST_SPEC, body), {})
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        return check
    source = body.get("source", "client")
    if source == "client" and "visitorId" not in body and "fingerprint" not in body:
        check.refusals.append(
            {
                "path": ["visitorId"],
                "message": "visitorId is required for client events; send source 'server' from a backend",
            }
        )
    batch_user = body.get("userIdentity") or {}
    batch_customer = body.get("customerIdentity") or {}
    for i, event in enumerate(body["events"][: MAX_EVENTS + 1]):
        path: list[Any] = ["events", i]
        if not isinstance(event, dict):
            check.refusals.append({"path": path, "message": "Invalid input: expected object"})
            continue
        etype = event.get("type")
        if not isinstance(etype, str) or etype not in EVENT_SPECS:
            check.refusals.append(
                {
                    "path": [*path, "type"],
                    "message": "Invalid event type: expected one of " + ", ".join(EVENT_TYPES),
                }
            )
            continue
        check.refusals.extend(validate(EVENT_SPECS[etype], event, path))
        unprocessable = _identity_issues(etype, event, path, source, batch_user, batch_customer)
        unprocessable.extend(validate(_WHERE, event, path))
        if etype == "custom" and event.get("eventName") == "":
            unprocessable.append({"path": [*path, "eventName"], "message": "custom events need an eventName"})
        if unprocessable:
            check.unprocessable[i] = unprocessable
    return check


def _identity_issues(
    etype: str,
    event: dict[str, Any],
    path: list[Any],
    source: str,
    batch_user: dict[str, Any],
    batch_customer: dict[str, Any],
) -> list[dict[str, Any]]:
    if etype == "identify" and not (event.get("email") or event.get("userId")):
        return [{"path": [*path, "email"], "message": "identify events need an email or a userId"}]
    if etype == "billing" and not any(event.get(k) for k in ("customerId", "stripeCustomerId", "domain")):
        return [
            {
                "path": [*path, "customerId"],
                "message": "billing events need a customerId, a stripeCustomerId or a domain",
            }
        ]
    if source == "server" and etype == "custom":
        known = any(event_identity(event).values()) or bool(event.get("customerId"))
        if not known and not (
            batch_user.get("email") or batch_user.get("userId") or batch_customer.get("customerId")
        ):
            return [
                {
                    "path": [*path, "email"],
                    "message": "server custom events need one of email, userId, fingerprint or customerId",
                }
            ]
    return []


class RateLimiter:
    """Fixed windows per public key, reported through X-RateLimit-* headers.

    A window admits ``max(1, floor(rps))`` requests and lasts that many requests' worth of time at
    ``rps``: one second for an integer rate (as Outlit: windows on whole epoch seconds), two seconds for
    0.5/s, 2 requests per 0.74 s for 2.7/s, so the long-run rate is ``rps`` exactly. Windows are aligned
    on multiples of their length, so every key shares the same boundaries and a window's end is known
    without any state. Only keys that passed the public-key check are tracked, and windows that have
    ended are dropped, so the state stays as small as the number of keys in use.
    """

    def __init__(self, rps: float) -> None:
        self.rps = rps
        self._windows: dict[str, tuple[float, int]] = {}  # key -> (window start, requests admitted)
        self._sweep_at = 0.0
        self._swept_rps = rps

    def _window(self, now: float) -> tuple[int, float, float]:
        """(limit, start, end) of the window holding ``now``, at the current rate."""
        limit = max(1, math.floor(self.rps))
        length = limit / self.rps
        start = math.floor(now / length) * length
        return limit, start, start + length

    def hit(self, key: str, now: float | None = None) -> tuple[bool, dict[str, str]]:
        """Count one request of ``key``; returns (allowed, headers for the answer)."""
        now = time.time() if now is None else now
        limit, start, end = self._window(now)
        if now >= self._sweep_at or self.rps != self._swept_rps:
            # at most once per window (or after a rate change): forget every key whose window has ended
            self._windows = {k: w for k, w in self._windows.items() if w[0] == start}
            self._sweep_at, self._swept_rps = end, self.rps
        seen_start, used = self._windows.get(key, (start, 0))
        if seen_start != start:  # an older window (or one cut at another rate): a fresh one begins
            used = 0
        allowed = used < limit
        if allowed:
            used += 1
        self._windows[key] = (start, used)
        headers = self._headers(limit, limit - used, end, now)
        if not allowed:
            headers["Retry-After"] = str(max(1, math.ceil(end - now)))
        return allowed, headers

    def peek(self, key: str, now: float | None = None) -> dict[str, str]:
        """The headers of ``key``'s current window without counting a request (nor remembering ``key``)."""
        now = time.time() if now is None else now
        limit, start, end = self._window(now)
        seen_start, used = self._windows.get(key, (start, 0))
        return self._headers(limit, limit - (used if seen_start == start else 0), end, now)

    @staticmethod
    def _headers(limit: int, remaining: int, end: float, now: float) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(0, remaining)),
            # whole epoch seconds, as Outlit documents; rounded up so a client never resumes too early
            "X-RateLimit-Reset": str(math.ceil(end)),
        }

    def tracked_keys(self) -> int:
        return len(self._windows)


@dataclass
class IngestStore:
    events: list[dict[str, Any]] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    rate_limited: int = 0
    requests: int = 0
    rejected_requests: int = 0
    _rows: list[tuple[Any, ...]] = field(default_factory=list)

    def store(self, body: dict[str, Any], public_key: str, ds: Dataset) -> tuple[int, list[tuple[Any, ...]]]:
        """Keep new events, acknowledge repeats; returns (stored count, new activity rows)."""
        received = datetime.now(tz=UTC)
        received_at = received.isoformat().replace("+00:00", "Z")
        stored = 0
        rows = []
        for event in body["events"]:
            uid = event.get("uuid")
            key = uid.lower() if isinstance(uid, str) else None
            if key is not None and key in self.seen:
                self.duplicates += 1
                continue
            if key is not None:
                self.seen.add(key)
            record = {
                "uuid": uid,
                "type": event["type"],
                "receivedAt": received_at,
                "publicKey": public_key,
                "source": body.get("source", "client"),
                "visitorId": body.get("visitorId"),
                "userIdentity": body.get("userIdentity"),
                "customerIdentity": body.get("customerIdentity"),
                "event": event,
            }
            self.events.append(record)
            if apply_identity(ds, record):
                ds.version += 1  # the SQL views reload customers and users
            row = _activity_row(record, len(self.events), received, ds)
            self._rows.append(row)
            rows.append(row)
            stored += 1
        self.accepted += stored
        return stored, rows

    def activity_rows(self) -> list[tuple[Any, ...]]:
        return list(self._rows)

    def counts(self) -> dict[str, int]:
        return {
            "requests": self.requests,
            "stored": len(self.events),
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "rejected_requests": self.rejected_requests,
            "rate_limited": self.rate_limited,
        }


# One encoder for every row (json.dumps with options builds a new one per call, a third of its cost).
_PROPS_JSON = json.JSONEncoder(separators=(",", ":"), default=str)
_CHANNEL = {"billing": "BILLING", "identify": "IDENTITY", "calendar": "MEETING", "stage": "SYSTEM"}


def _activity_row(record: dict[str, Any], n: int, received: datetime, ds: Dataset) -> tuple[Any, ...]:
    event = record["event"]
    user = record["userIdentity"] or {}
    account = record["customerIdentity"] or {}
    external = event.get("customerId") or event.get("domain") or account.get("customerId")
    known = ds.find_customer(external) if isinstance(external, str) and external else None
    when = received
    stamp = event.get("timestamp")
    if isinstance(stamp, int | float) and not isinstance(stamp, bool):
        try:
            when = from_ms(stamp)
        except (OverflowError, ValueError, OSError):
            when = received  # out of datetime's range: keep the receive time, as Outlit does for bad clocks
    props = {
        k: v
        for k, v in event.items()
        if k
        in ("properties", "formFields", "traits", "customerTraits", "utm", "url", "path", "status", "stage")
    }
    etype = event["type"]
    identity = event_identity(event)
    email = identity["email"] or user.get("email")
    if known is None and email:  # a contact's email names its customer by domain, as identity resolution does
        known = ds.find_customer(email.rsplit("@", 1)[-1])
    return (
        record["uuid"] or f"ing_{n:08d}",
        known["id"] if known else external,
        identity["userId"] or user.get("userId"),
        event.get("eventName") or etype,
        etype,
        _CHANNEL.get(etype, "PRODUCT"),
        when.astimezone(UTC).replace(tzinfo=None),
        event.get("title"),
        email,
        None,
        None,
        _PROPS_JSON.encode(props),
        "ingest",
    )
