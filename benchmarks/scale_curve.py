"""The extraction benchmark's scale curve: full runs and 1% reruns at 100 / 1,000 / 5,000 customers.

Every run is a fresh process (as a scheduler starts one), timed from ``pipeline.run`` on; its imports are
not timed, but what dlt and pyarrow do on first use inside the run is. Per size, on one sandbox:

* two full runs into two pipelines: as shipped, and with ``bulk_timeline=True, facts_on_activity=False``
  (the first run of both reads the same requests; only reruns differ);
* then 1% new events (10 events per customer in the workspace, so ``customers / 10`` new events) twice,
  each followed by a rerun of both pipelines:

  * ``spread``: one new event for every 10th customer (10% of the customers have new activity);
  * ``concentrated``: ten new events for every 100th customer (1% of the customers).

Each rerun's time and requests are given as a share of its own pipeline's full run (target: under 5%),
beside dlt's own floor: a fresh process merging one row into DuckDB, which no rerun can undercut.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from typing import Any

from bench_dlt import _requests

import outlit_sandbox
from outlit_core.client import OutlitClient

BULK = {"bulk_timeline": True, "facts_on_activity": False}
EVENTS, FACTS = 10, 2  # per customer
# name: sandbox advance options adding 1% new events (EVENTS per customer in the workspace)
RERUNS = {
    "spread": {"events_per_customer": 1, "every_nth_customer": 10},
    "concentrated": {"events_per_customer": 10, "every_nth_customer": 100},
}

CHILD = """
import json, os, sys, time
os.environ.setdefault("PROVIDERS__ENABLE_AIRFLOW_SECRETS", "false")
import dlt
from dlt_sources.outlit import outlit_source
api_key, base_url, workdir, name, options = sys.argv[1:6]
pipeline = dlt.pipeline(name, destination=dlt.destinations.duckdb(f"{workdir}/{name}.duckdb"),
                        pipelines_dir=workdir + "/pipelines")
started = time.perf_counter()
source = outlit_source(api_key=api_key, base_url=base_url, **json.loads(options))
pipeline.run(source.with_resources("customers", "timeline", "facts"))
# VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so it would report the (large) parent's peak
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
seconds = round(time.perf_counter() - started, 2)
steps = {s.step: round(s.finished_at.timestamp() - s.started_at.timestamp(), 2)
         for s in pipeline.last_trace.steps if s.step != "run"}
print(json.dumps({"seconds": seconds, "peak_rss_mb": round(peak_kb / 1024, 1), "steps": steps}))
"""

# dlt's own cost for a run that merges one row into DuckDB: no rerun can take less. Run twice in fresh
# processes (the first creates the tables); the second is the floor of a scheduled rerun.
FLOOR_CHILD = """
import json, os, sys, time
os.environ.setdefault("PROVIDERS__ENABLE_AIRFLOW_SECRETS", "false")
import dlt

@dlt.resource(primary_key="id", write_disposition="merge")
def one():
    yield [{"id": 1, "at": time.time()}]

workdir = sys.argv[1]
pipeline = dlt.pipeline("floor", destination=dlt.destinations.duckdb(f"{workdir}/floor.duckdb"),
                        pipelines_dir=workdir + "/pipelines")
started = time.perf_counter()
pipeline.run(one())
print(json.dumps({"seconds": round(time.perf_counter() - started, 2)}))
"""


def dlt_floor_fresh_process(workdir: str) -> float:
    """Seconds dlt itself takes, in a fresh process, to merge one row into an existing DuckDB table."""
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-c", FLOOR_CHILD, workdir], capture_output=True, text=True, check=True
        )
    return float(json.loads(done.stdout.strip().splitlines()[-1])["seconds"])


# pyarrow's first conversion of a Python list probes for pandas, importing it when installed
# (apache/arrow#34994): what a fresh process would pay in its first run if the source built its arrays with
# pa.array (it writes the buffers itself; dlt_sources/outlit/arrays.py). Measured for the record.
FIRST_ARRAY = """
import time
import pyarrow as pa
started = time.perf_counter()
pa.array(["a"], pa.string())
print(round(time.perf_counter() - started, 3))
"""


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def warm_sql_tables(sb: Any) -> None:
    """Untimed: the sandbox (re)builds its SQL tables on the first ``outlit_query`` after a change (1.3 s at
    5,000 customers, blocking every other request); Outlit's own store needs no such step."""
    with OutlitClient(sb.api_key, base_url=sb.base_url, timeout=300) as warm:
        warm.query("SELECT count() AS n FROM activity", limit=1)


def first_array_seconds() -> float:
    done = subprocess.run([sys.executable, "-c", FIRST_ARRAY], capture_output=True, text=True, check=True)
    return float(done.stdout.strip())


def scale_curve(sizes: list[int], latency: float) -> list[dict[str, Any]]:
    points = []
    for n in sizes:
        with (
            outlit_sandbox.running(
                seed=20, customers=n, events_per_customer=EVENTS, facts_per_customer=FACTS, subprocess=True
            ) as sb,
            tempfile.TemporaryDirectory() as workdir,
        ):
            sb.configure(fault_rate=1.0, fault_kinds=["slow"], slow_seconds=latency)

            def child(name: str, options: dict[str, Any]) -> dict[str, Any]:
                before = _requests(sb)
                args = [sb.api_key, sb.base_url, workdir, name, json.dumps(options)]
                done = subprocess.run(
                    [sys.executable, "-c", CHILD, *args], capture_output=True, text=True, check=True
                )
                return {
                    **json.loads(done.stdout.strip().splitlines()[-1]),
                    "requests": _requests(sb) - before,
                    "load_average": _load(),
                }

            point: dict[str, Any] = {"customers": n, **child("shipped", {})}
            full = {"shipped": point, "bulk": child("bulk", BULK)}
            point["full_bulk_pipeline"] = {k: full["bulk"][k] for k in ("seconds", "requests")}
            floor = dlt_floor_fresh_process(workdir)
            point["dlt_floor_fresh_process"] = {
                "seconds": floor,
                "share_of_full_time": round(floor / point["seconds"], 3),
            }
            for spread, advance in RERUNS.items():
                changes = sb.advance(hours=1, facts_per_customer=0, status_changes=0, **advance)
                warm_sql_tables(sb)
                new = sum(len(ids) for ids in changes["events"].values())
                for name, options in (("shipped", {}), ("bulk", BULK)):
                    rerun = child(name, options)
                    rerun.pop("peak_rss_mb")
                    rerun["new_events"] = new
                    rerun["customers_with_new_events"] = sum(1 for ids in changes["events"].values() if ids)
                    rerun["share_of_full_time"] = round(rerun["seconds"] / full[name]["seconds"], 3)
                    rerun["share_of_full_requests"] = round(rerun["requests"] / full[name]["requests"], 3)
                    point[f"rerun_1pct_{spread}_{name}"] = rerun
            points.append(point)
            print(f"  {n:>5} customers: {json.dumps(point)}", flush=True)
    return points


def summary(points: list[dict[str, Any]]) -> list[str]:
    """One line per size: the full run, then every rerun as a share of its full run."""
    lines = []
    for p in points:
        reruns = [
            f"{key.removeprefix('rerun_1pct_')} {r['seconds']} s / {r['requests']} req "
            f"({r['share_of_full_time']:.1%} time, {r['share_of_full_requests']:.1%} req)"
            for key, r in p.items()
            if key.startswith("rerun_1pct_")
        ]
        floor = p.get("dlt_floor_fresh_process")
        floor_text = f"dlt floor {floor['seconds']} s ({floor['share_of_full_time']:.1%}); " if floor else ""
        lines.append(
            f"{p['customers']}: full {p['seconds']} s, {p['requests']} req, {p['peak_rss_mb']} MB, "
            f"load {p['load_average'][0]}; {floor_text}1% reruns: " + "; ".join(reruns)
        )
    return lines
