"""Settle one batch with Outlit: every event ends up accepted or rejected by name, never silently dropped.

The client's ``send_prepared`` does the work: it retries 429s, 5xx and transport errors, and after a 400
that names some events (Outlit then stored nothing) it sets those aside and sends the rest again with the
same uuids (anything Outlit did store is deduplicated, not doubled). This module only turns its per-uuid
report into the shape the runner records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Delivery:
    delivered: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[tuple[dict[str, Any], str | None, str]] = field(default_factory=list)  # event, path, why
    retries: int = 0
    requests: int = 0


def deliver_batch(client: Any, batch: list[dict[str, Any]], source: str = "server") -> Delivery:
    """Send ``batch`` (checked events with uuids) until each event is accepted or rejected; thread-safe.

    An event neither delivered nor rejected (only if the client raises) is in neither list, so the runner
    leaves it out of the ledger and the next run sends it again.
    """
    return _from_report(client.send_prepared(batch, source=source), batch)


def partial_delivery(failure: BaseException, batch: list[dict[str, Any]]) -> Delivery | None:
    """What a batch that failed for good still settled: events Outlit confirmed first, and every retry."""
    report = getattr(failure, "partial_result", None)
    if report is None or not hasattr(report, "outcomes"):
        return None
    outcome = _from_report(report, batch)
    attempts = int(getattr(failure, "attempts", 1))
    outcome.retries += attempts - 1  # the request that gave up is in no report
    outcome.requests += 1
    return outcome


def _from_report(report: Any, batch: list[dict[str, Any]]) -> Delivery:
    by_uuid = {event["uuid"]: event for event in batch}
    # ``requests`` counts the batch's sends (first and resends); ``retries`` every repeat of any kind.
    outcome = Delivery(retries=report.retries + report.resends, requests=report.requests - report.retries)
    for result in report.outcomes.values():
        event = by_uuid[result.uuid]
        if result.status == "delivered":
            outcome.delivered.append(event)
        elif result.status == "rejected":
            outcome.rejected.append((event, field_path(result.path), result.message or "rejected"))
    return outcome


def field_path(path: Any) -> str | None:
    """``["events", 3, "email"]`` -> ``"email"``: the field within the event, which is what a user fixes."""
    if not path:
        return None
    parts = list(path)
    if len(parts) >= 2 and parts[0] == "events" and isinstance(parts[1], int):
        parts = parts[2:]
    return ".".join(str(p) for p in parts) or None
