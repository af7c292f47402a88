"""Per-customer incremental cursors: which window to ask each customer for, and what to remember after.

State layout (dlt resource state, committed with the load):

* ``timeline``: ``{"customers": {id: {"cursor": latest occurredAt, "activity": lastActivityAt seen,
  "checked_at": when its timeline was last asked for}}}``
* ``facts``: ``{"customers": {id: {"activity": lastActivityAt seen, "full_at": last full read}}}``
* ``sources``: ``{"scopes": {"*" or customer: latest occurredAt}}``
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .timestamps import format_timestamp, latest, minus, parse_timestamp

State = dict[str, Any]


@dataclass(frozen=True)
class Window:
    """The run's time bounds: ``end`` set means a backfill that neither reads nor writes cursors."""

    start: str | None
    end: str | None
    lookback: timedelta

    @property
    def backfill(self) -> bool:
        return self.end is not None

    def since(self, cursor: str | None) -> str | None:
        return minus(cursor, self.lookback) if cursor else self.start


@dataclass(frozen=True)
class Fetch:
    """One planned request series: whose records, from when, and what to remember once it succeeded."""

    customer_id: str
    start: str | None
    end: str | None = None
    activity: str | None = None
    full: bool = False


def plan_timeline(
    customers: Iterable[dict[str, Any]],
    state: State | None,
    window: Window,
    skip_unchanged: bool,
    *,
    recheck_every: timedelta,
    now: datetime,
) -> list[Fetch]:
    """One fetch per customer that may have events not loaded yet.

    With ``skip_unchanged`` a customer whose ``lastActivityAt`` has not moved is skipped, except once per
    ``recheck_every``: a late event (one older than the customer's latest) does not move
    ``lastActivityAt``, so only such a periodic re-ask, with the look-back, ever finds it.
    """

    def plan(cid: str, activity: str | None, entry: dict[str, Any] | None) -> Fetch | None:
        if entry is None:
            return Fetch(cid, window.start, activity=activity)
        if (
            skip_unchanged
            and not moved(entry.get("activity"), activity)
            and not due(entry.get("checked_at"), recheck_every, now)
        ):
            return None
        return Fetch(cid, window.since(entry.get("cursor")), activity=activity)

    return _plans(customers, state, window, plan)


def remember_timeline(state: State, plan: Fetch, cursor: str | None, now: datetime) -> None:
    previous = state.get(plan.customer_id) or {}
    state[plan.customer_id] = {
        "cursor": latest(previous.get("cursor"), cursor),
        "activity": plan.activity,
        "checked_at": format_timestamp(now),
    }


def plan_facts(
    customers: Iterable[dict[str, Any]],
    state: State | None,
    window: Window,
    full_every: timedelta,
    now: datetime,
    *,
    on_activity: bool = True,
) -> list[Fetch]:
    """Which customers' facts to read: in full when new or due, else only after new activity.

    ``after`` / ``before`` filter on a fact's *occurrence* time, and facts carry no update time, so no
    window finds a fact detected today about something that happened months ago, or a status change on
    an old fact. Only a full read does: each customer's facts are read in full every ``full_every``.
    Between full reads, a customer whose ``lastActivityAt`` moved is asked for facts that occurred since
    its previous activity minus the look-back: the facts about that new activity, which is where new
    facts mostly come from. With ``on_activity=False`` facts are read only by the full reads (one request
    series per customer per ``full_every`` instead of one per customer with new activity per run).
    """

    def plan(cid: str, activity: str | None, entry: dict[str, Any] | None) -> Fetch | None:
        if entry is None or "activity" not in entry or due(entry.get("full_at"), full_every, now):
            return Fetch(cid, window.start, activity=activity, full=True)
        if on_activity and moved(entry["activity"], activity):
            since = minus(entry["activity"], window.lookback) if entry["activity"] else window.start
            return Fetch(cid, since, activity=activity)
        return None

    return _plans(customers, state, window, plan)


def _plans(
    customers: Iterable[dict[str, Any]],
    state: State | None,
    window: Window,
    plan: Callable[[str, str | None, dict[str, Any] | None], Fetch | None],
) -> list[Fetch]:
    """``plan(id, lastActivityAt, state entry)`` for each customer; a backfill asks everyone its window."""
    plans = []
    for customer in customers:
        cid, activity = customer["id"], customer.get("lastActivityAt")
        if window.backfill:
            plans.append(Fetch(cid, window.start, window.end))
        elif (fetch := plan(cid, activity, state.get(cid) if state is not None else None)) is not None:
            plans.append(fetch)
    return plans


def remember_facts(state: State, plan: Fetch, now: datetime) -> None:
    previous = state.get(plan.customer_id) or {}
    state[plan.customer_id] = {
        "activity": plan.activity,
        "full_at": format_timestamp(now) if plan.full else previous["full_at"],
    }


def plan_sources(scopes: Iterable[str], state: State | None, window: Window) -> list[Fetch]:
    if window.backfill:
        return [Fetch(scope, window.start, window.end) for scope in scopes]
    return [Fetch(scope, window.since((state or {}).get(scope))) for scope in scopes]


def remember_sources(state: State, plan: Fetch, cursor: str | None) -> None:
    state[plan.customer_id] = latest(state.get(plan.customer_id), cursor)


def moved(seen: str | None, now: str | None) -> bool:
    """Whether a customer's ``lastActivityAt`` is later than the one stored at its last fetch."""
    if seen is None or now is None:
        return seen is not now
    return parse_timestamp(now, field="lastActivityAt") > parse_timestamp(seen, field="lastActivityAt")


def due(last: str | None, every: timedelta, now: datetime) -> bool:
    """Whether ``every`` has passed since ``last``; never done (or state from before it was kept) is due."""
    return last is None or now - parse_timestamp(last, field="state timestamp") >= every
