"""End to end: changes that move no cursor (late events, silent fact status changes) and when they land."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dlt_helpers import assert_matches_sandbox, assert_no_duplicate_keys, counts, duckdb_pipeline, rows, run

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

    # Between full re-reads each customer is asked only for facts detected after its cursor minus the
    # look-back. A silent change on a fact detected before that is therefore not seen yet; one on a
    # more recent fact is (it comes back with the window). Classify from the loaded rows and state.
    state = pipeline.state["sources"]["outlit"]["resources"]["facts"]["customers"]
    detected = {
        fid: max(_utc(d), _utc(ld or d))
        for fid, d, ld in rows(pipeline, "facts", "id, detected_at, last_detected_at")
    }
    lookback = timedelta(hours=24)
    stale, fresh = set(), set()
    for fid, change in silent.items():
        entry = state[change["customerId"]]
        after = datetime.fromisoformat(entry["cursor"] or entry["full_at"]) - lookback
        if detected[fid] < after:
            stale.add(fid)
        elif detected[fid] > after:
            fresh.add(fid)
    assert stale, "some silently changed facts should be older than the incremental window"

    run(pipeline, fresh_sandbox)  # full re-read not due (default: once a day)
    statuses = dict(rows(pipeline, "facts", "id, status"))
    for fid in stale:
        assert statuses[fid] == silent[fid]["from"], f"fact {fid} was not expected to be re-read yet"
    for fid in fresh:
        assert statuses[fid] == silent[fid]["to"], f"fact {fid} lies in the look-back and was re-read"

    run(pipeline, fresh_sandbox, facts_full_refresh_hours=0)  # the full re-read, due on every run
    statuses = dict(rows(pipeline, "facts", "id, status"))
    for fid, change in silent.items():
        assert statuses[fid] == change["to"], f"fact {fid} kept its old status after the full re-read"
    assert counts(pipeline)["facts"] == n_facts, "status changes update rows in place, they add none"
    assert_matches_sandbox(pipeline, fresh_sandbox)
    assert_no_duplicate_keys(pipeline)
