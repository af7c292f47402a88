"""Per-customer cursor planning: windows, look-back, skipping idle customers, periodic re-reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dlt_sources.outlit.cursors import (
    Fetch,
    Window,
    moved,
    plan_facts,
    plan_sources,
    plan_timeline,
    remember_facts,
    remember_timeline,
)

DAY = timedelta(days=1)
WINDOW = Window(start=None, end=None, lookback=timedelta(hours=2))
NOW = datetime(2026, 1, 6, 12, tzinfo=UTC)
CHECKED = "2026-01-06T09:00:00.000Z"  # three hours before NOW: well inside a daily recheck interval


def _customer(cid: str, activity: str | None) -> dict[str, str | None]:
    return {"id": cid, "lastActivityAt": activity}


def test_timeline_first_run_new_activity_and_idle_customers() -> None:
    state = {
        "idle": {
            "cursor": "2026-01-05T10:00:00.000Z",
            "activity": "2026-01-05T10:00:00Z",
            "checked_at": CHECKED,
        },
        "busy": {
            "cursor": "2026-01-05T10:00:00.000Z",
            "activity": "2026-01-05T10:00:00Z",
            "checked_at": CHECKED,
        },
        "never": {"cursor": None, "activity": None, "checked_at": CHECKED},
    }
    customers = [
        _customer("idle", "2026-01-05T10:00:00.000Z"),  # same instant, other spelling
        _customer("busy", "2026-01-06T08:00:00Z"),
        _customer("new", "2026-01-01T00:00:00Z"),
        _customer("never", None),
    ]
    plans = plan_timeline(customers, state, WINDOW, skip_unchanged=True, recheck_every=DAY, now=NOW)
    assert plans == [
        Fetch("busy", "2026-01-05T08:00:00.000Z", activity="2026-01-06T08:00:00Z"),
        Fetch("new", None, activity="2026-01-01T00:00:00Z"),
    ]
    every = plan_timeline(customers, state, WINDOW, skip_unchanged=False, recheck_every=DAY, now=NOW)
    assert [p.customer_id for p in every] == ["idle", "busy", "new", "never"]
    assert every[3].start is None, "a customer never seen with events starts from start_date"


def test_idle_customers_are_asked_again_once_per_recheck_interval() -> None:
    # a late event does not move lastActivityAt: only the periodic re-ask (with the look-back) finds it
    idle = {"cursor": "2026-01-05T10:00:00.000Z", "activity": "2026-01-05T10:00:00Z"}
    state = {
        "checked_recently": {**idle, "checked_at": CHECKED},
        "checked_a_day_ago": {**idle, "checked_at": "2026-01-05T12:00:00.000Z"},
        "state_from_before_rechecks": dict(idle),
    }
    customers = [_customer(cid, "2026-01-05T10:00:00Z") for cid in state]
    plans = plan_timeline(customers, state, WINDOW, skip_unchanged=True, recheck_every=DAY, now=NOW)
    assert plans == [
        Fetch("checked_a_day_ago", "2026-01-05T08:00:00.000Z", activity="2026-01-05T10:00:00Z"),
        Fetch("state_from_before_rechecks", "2026-01-05T08:00:00.000Z", activity="2026-01-05T10:00:00Z"),
    ]
    zero = plan_timeline(customers, state, WINDOW, skip_unchanged=True, recheck_every=timedelta(0), now=NOW)
    assert [p.customer_id for p in zero] == list(state), "a zero interval re-asks every customer every run"


def test_timeline_cursor_only_moves_forward_and_every_fetch_counts_as_a_check() -> None:
    state: dict = {}
    remember_timeline(state, Fetch("c", None, activity="a1"), "2026-01-05T00:00:00Z", NOW - DAY)
    remember_timeline(state, Fetch("c", None, activity="a2"), "2026-01-04T00:00:00Z", NOW)  # look-back
    remember_timeline(state, Fetch("c", None, activity="a3"), None, NOW)  # nothing in the window
    assert state["c"] == {
        "cursor": "2026-01-05T00:00:00.000Z",
        "activity": "a3",
        "checked_at": "2026-01-06T12:00:00.000Z",
    }


def test_backfill_asks_the_window_for_everyone_regardless_of_state() -> None:
    window = Window("2025-01-01T00:00:00.000Z", "2025-02-01T00:00:00.000Z", timedelta(hours=2))
    plans = plan_timeline(
        [_customer("c", "x")], None, window, skip_unchanged=True, recheck_every=DAY, now=NOW
    )
    assert plans == [Fetch("c", "2025-01-01T00:00:00.000Z", "2025-02-01T00:00:00.000Z")]
    assert plan_sources(["*"], None, window) == [Fetch("*", window.start, window.end)]


def test_facts_are_read_in_full_on_schedule_and_after_new_activity_between() -> None:
    now = datetime(2026, 1, 10, 12, tzinfo=UTC)
    state = {
        "active": {"activity": "2026-01-10T09:00:00.000Z", "full_at": "2026-01-10T06:00:00.000Z"},
        "idle": {"activity": "2026-01-10T09:00:00.000Z", "full_at": "2026-01-10T06:00:00.000Z"},
        "stale": {"activity": "2026-01-01T00:00:00.000Z", "full_at": "2026-01-09T11:00:00.000Z"},
        "old_state": {"cursor": "2026-01-01T00:00:00.000Z", "full_at": "2026-01-10T06:00:00.000Z"},
    }
    customers = [
        _customer("active", "2026-01-10T11:00:00.000Z"),
        _customer("idle", "2026-01-10T09:00:00.000Z"),
        _customer("stale", "2026-01-01T00:00:00.000Z"),
        _customer("old_state", "2026-01-01T00:00:00.000Z"),
        _customer("new", None),
    ]
    plans = {p.customer_id: p for p in plan_facts(customers, state, WINDOW, DAY, now)}
    # facts that occurred since the previous activity minus the 2 h look-back
    assert plans["active"] == Fetch("active", "2026-01-10T07:00:00.000Z", activity="2026-01-10T11:00:00.000Z")
    assert "idle" not in plans, "no new activity and no full read due: no request"
    assert plans["stale"].full and plans["stale"].start is None
    assert plans["old_state"].full, "state written before facts kept the activity is read in full once"
    assert plans["new"].full

    remember_facts(state, plans["stale"], now)
    assert state["stale"] == {"activity": "2026-01-01T00:00:00.000Z", "full_at": "2026-01-10T12:00:00.000Z"}
    remember_facts(state, plans["active"], now)
    assert state["active"]["full_at"] == "2026-01-10T06:00:00.000Z", "an incremental read is not a full one"
    assert state["active"]["activity"] == "2026-01-10T11:00:00.000Z"


def test_moved() -> None:
    assert moved(None, "2026-01-01T00:00:00Z")
    assert not moved(None, None)
    assert not moved("2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z")
    assert moved("2026-01-01T00:00:00Z", "2026-01-01T00:00:00.001Z")
