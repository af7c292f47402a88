"""Settle one batch with Outlit: every event ends up accepted or rejected by name, never silently dropped.

The client's ``send_batch`` already retries 429s, 5xx and transport errors. What it leaves to the caller is
a 400 that names some events: Outlit then stored nothing, so the named events are set aside and the rest
are sent again with the same uuids (anything Outlit did store is deduplicated, not doubled).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Each resend round removes at least one named event, so this is only reached if the API keeps refusing
# a batch without naming anything new.
MAX_RESEND_ROUNDS = 100


@dataclass
class Delivery:
    delivered: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[tuple[dict[str, Any], str | None, str]] = field(default_factory=list)  # event, path, why
    retries: int = 0
    requests: int = 0


def deliver_batch(client: Any, batch: list[dict[str, Any]], source: str = "server") -> Delivery:
    """Send ``batch`` (events with uuids) until each event is accepted or rejected; thread-safe."""
    outcome = Delivery()
    remaining = batch
    for _ in range(MAX_RESEND_ROUNDS):
        result = client.send_batch(remaining, source=source)
        outcome.requests += 1
        outcome.retries += int(getattr(result, "retries", 0) or 0)
        rejected = _rejected_by_uuid(remaining, result.rejected)
        outcome.rejected.extend((e, *rejected[e["uuid"]]) for e in remaining if e["uuid"] in rejected)
        others = [e for e in remaining if e["uuid"] not in rejected]
        resend = [remaining[i] for i in (getattr(result, "resend", None) or [])]
        if not resend and rejected and int(getattr(result, "accepted", 0) or 0) < len(others):
            resend = others  # fewer stored than sent and not rejected: resending is safe, losing is not
        resend_ids = {e["uuid"] for e in resend}
        outcome.delivered.extend(e for e in others if e["uuid"] not in resend_ids)
        if not resend:
            return outcome
        outcome.retries += 1
        remaining = resend
    raise RuntimeError(
        f"Outlit kept refusing a batch after {MAX_RESEND_ROUNDS} resends without naming events"
    )


def _rejected_by_uuid(
    batch: list[dict[str, Any]], rejections: list[Any]
) -> dict[str, tuple[str | None, str]]:
    found: dict[str, tuple[str | None, str]] = {}
    for rejection in rejections:
        event_id = getattr(rejection, "uuid", None)
        index = getattr(rejection, "index", None)
        if not event_id and isinstance(index, int) and 0 <= index < len(batch):
            event_id = batch[index].get("uuid")
        if event_id:
            found[str(event_id)] = (field_path(getattr(rejection, "path", None)), str(rejection.message))
    return found


def field_path(path: Any) -> str | None:
    """``["events", 3, "email"]`` -> ``"email"``: the field within the event, which is what a user fixes."""
    if not path:
        return None
    parts = list(path)
    if len(parts) >= 2 and parts[0] == "events" and isinstance(parts[1], int):
        parts = parts[2:]
    return ".".join(str(p) for p in parts) or None
