"""``/_sandbox/advance``: move the clock on and append or change data after everything that exists."""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .dataset import LATE_EVENT_WINDOW, Dataset
from .timeutil import iso
from .vocabulary import _NEXT_STATUS

# the options of /_sandbox/advance (and Sandbox.advance) with their defaults: one home for both
ADVANCE_DEFAULTS: dict[str, float] = {
    "hours": 1.0,
    "events_per_customer": 5,
    "facts_per_customer": 1,
    "status_changes": 3,
    "late_events_per_customer": 0,
    "silent_status_changes": 0,
    # new events and facts go to every nth customer only (1: all), so a small share of a big workspace
    # can change, as in an hour of real use; the other options are unaffected
    "every_nth_customer": 1,
}


class Advancing:
    """The ``advance`` half of the generator (it needs ``_event``, ``_fact`` and ``_refresh_activity``)."""

    seed: int
    now: datetime

    if TYPE_CHECKING:  # defined by the Generator this class is mixed into
        _event: Callable[..., dict[str, Any]]
        _fact: Callable[..., dict[str, Any]]
        _refresh_activity: Callable[..., None]

    # -------------------------------------------------------------------------------------- advance
    def advance(self, ds: Dataset, **options: float) -> dict[str, Any]:
        """Move the clock forward and append/alter data after everything that exists; return the changes.

        ``options`` are those of :data:`ADVANCE_DEFAULTS`. The two opt-in ones model what real pipelines
        see and a naive incremental load misses: events that arrive late (``occurredAt`` before the
        customer's latest event) and fact status changes that do not move any timestamp.
        """
        unknown = set(options) - set(ADVANCE_DEFAULTS)
        if unknown:
            raise ValueError(f"unknown advance option(s) {sorted(unknown)}; use {sorted(ADVANCE_DEFAULTS)}")
        hours, *counts = ({**ADVANCE_DEFAULTS, **options}[name] for name in ADVANCE_DEFAULTS)
        if hours <= 0:
            raise ValueError("hours must be > 0: advance moves the sandbox clock forward")
        for name, value in zip(list(ADVANCE_DEFAULTS)[1:], counts, strict=True):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a whole number >= 0, got {value!r}")
        events_per_customer, facts_per_customer, status_changes, late_events, silent_changes, nth = map(
            int, counts
        )
        if nth < 1:
            raise ValueError("every_nth_customer must be >= 1 (1: every customer gets new events and facts)")
        ds.advances += 1
        rng = random.Random(f"{self.seed}:advance:{ds.advances}")
        old_now = ds.now
        new_now = ds.clock.advance(timedelta(hours=hours))
        self.now = new_now
        # taken before anything is appended: late events must land before what a previous load already saw
        latest_before = {cid: evs[-1]["_ts"] for cid, evs in ds.events.items() if evs}
        latest = max(latest_before.values(), default=old_now)
        start = max(latest, old_now)
        new_events: dict[str, list[str]] = {}
        new_facts: dict[str, list[str]] = {}
        users_of = ds.users_by_customer()
        for i, customer in enumerate(ds.customers):
            if i % nth:
                new_events[customer["id"]], new_facts[customer["id"]] = [], []
                continue
            users = users_of[customer["id"]]
            stamps = sorted(
                start + (new_now - start) * rng.uniform(0.001, 1.0) for _ in range(events_per_customer)
            )
            added = [self._event(rng, ds, customer, users, ts) for ts in stamps]
            ds.events.setdefault(customer["id"], []).extend(added)
            new_events[customer["id"]] = [e["id"] for e in added]
            facts = ds.facts.setdefault(customer["id"], [])
            fresh = []
            for k in range(facts_per_customer):
                detected = start + (new_now - start) * rng.uniform(0.001, 1.0)
                fresh.append(self._fact(rng, ds, customer, len(facts) + k, 0, detected=detected))
            for f in fresh:
                f["status"] = "ACTIVE" if rng.random() < 0.7 else "CANDIDATE"
            facts.extend(fresh)
            new_facts[customer["id"]] = [f["id"] for f in fresh]
            self._refresh_activity(ds, customer, users)
        changed = self._change_statuses(ds, rng, status_changes, old_now, new_now, exclude=new_facts)
        # separate random streams, so asking for late events or silent changes leaves the ids and times
        # of everything above exactly as they are without them
        late = self._late_events(ds, late_events, latest_before, new_now)
        touched = {cid: list(ids) for cid, ids in new_facts.items()}
        touched["_status_changes"] = [c["id"] for c in changed]
        silent = self._silent_statuses(ds, silent_changes, touched)
        ds.version += 1
        ds.index()
        return {
            "now": iso(new_now),
            "events": new_events,
            "facts": new_facts,
            "status_changes": changed,
            "late_events": late,
            "silent_status_changes": silent,
        }

    def _late_events(
        self, ds: Dataset, per_customer: int, latest_before: dict[str, datetime], new_now: datetime
    ) -> dict[str, list[str]]:
        """Events that arrive now but happened up to 2 days ago, before the customer's latest event.

        Each lies in ``[new clock - 2 days, customer's latest event before this advance)``, so neither the
        customer's ``lastActivityAt`` nor any cursor on the newest ``occurredAt`` moves for it; a customer
        with no event in the last 2 days gets none (a "late" event there would be its newest).
        """
        rng = random.Random(f"{self.seed}:advance:{ds.advances}:late")
        out: dict[str, list[str]] = {}
        users_of = ds.users_by_customer()
        for customer in ds.customers:
            cid = customer["id"]
            out[cid] = []
            newest = latest_before.get(cid)
            floor = new_now - LATE_EVENT_WINDOW
            if per_customer == 0 or newest is None or newest <= floor:
                continue
            users = users_of[cid]
            events = ds.events[cid]
            for _ in range(per_customer):
                # _event truncates to the millisecond: stay a full millisecond below the newest event
                ts = floor + (newest - floor - timedelta(milliseconds=1)) * rng.random()
                if ts < floor:
                    continue  # the window is narrower than a millisecond
                event = self._event(rng, ds, customer, users, ts)
                # the list stays oldest first (timelines are served newest first from it)
                at = bisect.bisect_right([e["_ts"] for e in events], event["_ts"])
                events.insert(at, event)
                out[cid].append(event["id"])
            self._refresh_activity(ds, customer, users)
        return out

    def _silent_statuses(
        self, ds: Dataset, count: int, exclude: dict[str, list[str]]
    ) -> list[dict[str, Any]]:
        """Status changes that leave ``lastDetectedAt``, ``validUntil`` and every other timestamp alone.

        Only a full re-read (or a comparison of statuses) can notice them; picked from every existing fact
        not new or already changed in this advance.
        """
        rng = random.Random(f"{self.seed}:advance:{ds.advances}:silent")
        skip = {fid for ids in exclude.values() for fid in ids}
        candidates = sorted(
            (f for facts in ds.facts.values() for f in facts if f["id"] not in skip), key=lambda f: f["id"]
        )
        out = []
        for f in rng.sample(candidates, k=min(count, len(candidates))):
            before = f["status"]
            f["status"] = _NEXT_STATUS[before]
            out.append({"id": f["id"], "customerId": f["_customerId"], "from": before, "to": f["status"]})
        return out

    def _change_statuses(
        self,
        ds: Dataset,
        rng: random.Random,
        count: int,
        old_now: datetime,
        new_now: datetime,
        exclude: dict[str, list[str]],
    ) -> list[dict[str, Any]]:
        skip = {fid for ids in exclude.values() for fid in ids}
        candidates = [
            f
            for facts in ds.facts.values()
            for f in facts
            if f["id"] not in skip and f["_detected"] >= new_now - timedelta(days=7)
        ]
        candidates.sort(key=lambda f: f["id"])
        picked = rng.sample(candidates, k=min(count, len(candidates)))
        out = []
        for f in picked:
            before = f["status"]
            f["status"] = _NEXT_STATUS[before]
            f["lastDetectedAt"] = iso(new_now)
            f["validUntil"] = iso(new_now + timedelta(days=30)) if f["status"] == "RESOLVED" else None
            out.append({"id": f["id"], "customerId": f["_customerId"], "from": before, "to": f["status"]})
        return out
