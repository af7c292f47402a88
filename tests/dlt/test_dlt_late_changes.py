"""End to end: changes that move no cursor (late events, silent fact status changes) and when they land."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dlt_helpers import assert_matches_sandbox, assert_no_duplicate_keys, counts, duckdb_pipeline, rows, run

from outlit_core.client import OutlitClient

# the sandbox dates late events up to 2 days back; a look-back of 2 days reaches all of them
LATE_LOOKBACK_HOURS = 48
NOTHING_ELSE = {"events_per_customer": 0, "facts_per_customer": 0, "status_changes": 0}


def _timeline_requests(sb: Any) -> int:
    return int(sb.stats()["tools"].get("outlit_get_timeline", 0))


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def test_late_events_land_on_the_next_recheck_without_duplicates(fresh_sandbox: Any, tmp_path: Path) -> None:
    # the generated history ends days ago; late events need every customer to have recent activity
    fresh_sandbox.advance(hours=1, events_per_customer=2, facts_per_customer=0, status_changes=0)
    pipeline = duckdb_pipeline(tmp_path)
    run(pipeline, fresh_sandbox, lookback_hours=LATE_LOOKBACK_HOURS)
    loaded = {r[0] for r in rows(pipeline, "timeline", "id")}
    activity_before = dict(rows(pipeline, "customers", "id, last_activity_at"))

    changes = fresh_sandbox.advance(hours=1, late_events_per_customer=3, **NOTHING_ELSE)
    late = {eid for ids in changes["late_events"].values() for eid in ids}
    assert late, "the sandbox should have produced late events"
    assert not late & loaded

    # the cheap re-run: no customer's lastActivityAt moved and none is due for a recheck, so no timeline
    # is asked for and the late events wait (the documented trade-off)
    asked = _timeline_requests(fresh_sandbox)
    run(pipeline, fresh_sandbox, lookback_hours=LATE_LOOKBACK_HOURS)
    assert _timeline_requests(fresh_sandbox) == asked
    assert dict(rows(pipeline, "customers", "id, last_activity_at")) == activity_before
    assert not late & {r[0] for r in rows(pipeline, "timeline", "id")}

    # a recheck is due (interval 0 instead of waiting a day): every customer is asked again from its
    # cursor minus the look-back, and exactly the late events are added
    asked = _timeline_requests(fresh_sandbox)
    run(pipeline, fresh_sandbox, lookback_hours=LATE_LOOKBACK_HOURS, timeline_recheck_hours=0)
    assert _timeline_requests(fresh_sandbox) - asked >= len(activity_before)
    assert {r[0] for r in rows(pipeline, "timeline", "id")} == loaded | late
    assert counts(pipeline)["timeline"] == len(loaded) + len(late)
    assert_matches_sandbox(pipeline, fresh_sandbox)
    assert_no_duplicate_keys(pipeline)

    # the recheck was recorded: the next run with the default interval is cheap again
    asked = _timeline_requests(fresh_sandbox)
    run(pipeline, fresh_sandbox, lookback_hours=LATE_LOOKBACK_HOURS)
    assert _timeline_requests(fresh_sandbox) == asked


def test_silent_fact_status_changes_wait_for_the_full_reread(fresh_sandbox: Any, tmp_path: Path) -> None:
    pipeline = duckdb_pipeline(tmp_path)
    run(pipeline, fresh_sandbox)
    n_facts = counts(pipeline)["facts"]

    changes = fresh_sandbox.advance(hours=1, silent_status_changes=8, **NOTHING_ELSE)
    silent = {c["id"]: c for c in changes["silent_status_changes"]}
    assert len(silent) == 8, "the sandbox should have changed statuses silently"

    # no customer's activity moved and no full read is due (default: once a day): no facts are asked,
    # so the old statuses stay until the full read (the documented bound)
    asked = _facts_requests(fresh_sandbox)
    run(pipeline, fresh_sandbox)
    assert _facts_requests(fresh_sandbox) == asked
    statuses = dict(rows(pipeline, "facts", "id, status"))
    assert all(statuses[fid] == change["from"] for fid, change in silent.items())

    run(pipeline, fresh_sandbox, facts_full_refresh_hours=0)  # the full read, due on every run
    statuses = dict(rows(pipeline, "facts", "id, status"))
    for fid, change in silent.items():
        assert statuses[fid] == change["to"], f"fact {fid} kept its old status after the full read"
    assert counts(pipeline)["facts"] == n_facts, "status changes update rows in place, they add none"
    assert_matches_sandbox(pipeline, fresh_sandbox)
    assert_no_duplicate_keys(pipeline)


def test_facts_detected_now_about_old_occurrences_reach_the_warehouse(
    fresh_sandbox: Any, tmp_path: Path
) -> None:
    # Outlit filters facts by occurrence time, so an incremental `after` window never returns a fact
    # detected today about something that happened months ago, nor a status change on an old fact.
    pipeline = duckdb_pipeline(tmp_path)
    run(pipeline, fresh_sandbox)
    changes = fresh_sandbox.advance(hours=2, events_per_customer=2, facts_per_customer=3, status_changes=4)
    new_facts = {fid for ids in changes["facts"].values() for fid in ids}
    changed = {c["id"]: c for c in changes["status_changes"]}
    with OutlitClient(fresh_sandbox.api_key, base_url=fresh_sandbox.base_url) as client:
        facts = [client.call_tool("outlit_get_fact", {"factId": fid}) for fid in sorted(new_facts)]
    month_ago = datetime.fromisoformat(changes["now"]) - timedelta(days=30)
    old = {f["id"] for f in facts if f["occurredAt"] and datetime.fromisoformat(f["occurredAt"]) < month_ago}
    assert old, "the sandbox should have detected facts now about activity months ago"

    # activity moved for every customer: each is asked for the facts about its new activity; the ones
    # about old occurrences are not in that window
    run(pipeline, fresh_sandbox)
    loaded = {r[0] for r in rows(pipeline, "facts", "id")}
    assert not old & loaded

    # within facts_full_refresh_hours every customer's facts are read in full: all of it lands
    run(pipeline, fresh_sandbox, facts_full_refresh_hours=0)
    loaded = {r[0] for r in rows(pipeline, "facts", "id")}
    assert new_facts <= loaded
    statuses = dict(rows(pipeline, "facts", "id, status"))
    assert all(statuses[fid] == change["to"] for fid, change in changed.items())
    assert_matches_sandbox(pipeline, fresh_sandbox)
    assert_no_duplicate_keys(pipeline)


def _facts_requests(sb: Any) -> int:
    return int(sb.stats()["tools"].get("outlit_list_facts", 0))
