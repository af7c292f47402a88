"""Extraction end to end into DuckDB: our source vs dlt's ``rest_api`` source vs a raw floor, and scaling.

One sandbox (in its own process), every request stalled a fixed latency like a hosted API. Each pipeline
loads the same rows (customers, their timelines and facts) into its own DuckDB file:

* ``rest_api`` configured for the same tools (POST /api/tools/call, cursor in the JSON body, timeline
  and facts as child resources of customers), with dlt's defaults and with ``loader_file_format="parquet"``;
* ``outlit_source()`` as shipped (no argument) and with ``loader_file_format="parquet"``;
* the raw floor: the same pages fetched with plain concurrent httpx and written with pyarrow (no dlt);
* an incremental rerun of ``outlit_source()`` after 1% new events (the sandbox's ``advance``), as shipped
  and with ``bulk_timeline=True, facts_on_activity=False``, each checked row for row against a full run;
* a scale curve at 100 / 1,000 / 5,000 customers (wall time, requests, peak RSS, and 1% reruns as shipped
  and with the bulk options), each run in a child process (``scale_curve.py``).

Figures are from one run on a shared machine: compare ratios, not seconds. Writes
``benchmarks/results/latest.json`` and prints a short table. ``python benchmarks/bench_extract.py [quick]``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

os.environ.setdefault("PROVIDERS__ENABLE_AIRFLOW_SECRETS", "false")
os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")

import dlt
import httpx
import pyarrow as pa
import pyarrow.parquet as pq
from bench_dlt import _pipeline, _requests
from scale_curve import BULK, first_array_seconds, scale_curve, summary, warm_sql_tables

import outlit_sandbox
from dlt_sources.outlit import outlit_source
from outlit_core.client import OutlitClient

LATENCY = 0.05  # seconds per request, like a hosted API
# a 5,000-customer sandbox takes longer than the default 30 s to generate on a busy machine
outlit_sandbox.server.STARTUP_TIMEOUT = max(outlit_sandbox.server.STARTUP_TIMEOUT, 300.0)
RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
TABLES = ("customers", "timeline", "facts")
REPEATS = 3


def _median(samples: list[dict[str, Any]]) -> dict[str, Any]:
    return dict(sorted(samples, key=lambda s: s["seconds"])[len(samples) // 2])


def _table_rows(pipeline: dlt.Pipeline) -> dict[str, Any]:
    """Every table's columns and rows, dlt's own columns left out, sorted: what two loads must agree on."""
    out: dict[str, Any] = {}
    with pipeline.sql_client() as client:
        for t in TABLES:
            cols = sorted(c for c in pipeline.default_schema.get_table_columns(t) if not c.startswith("_dlt"))
            rows = client.execute_sql(f"SELECT {', '.join(cols)} FROM {client.make_qualified_table_name(t)}")
            out[t] = (cols, sorted(tuple(str(v) for v in r) for r in rows))
    return out


def _rows(pipeline: dlt.Pipeline) -> dict[str, int]:
    with pipeline.sql_client() as client:
        return {
            t: client.execute_sql(f"SELECT COUNT(*) FROM {client.make_qualified_table_name(t)}")[0][0]
            for t in TABLES
        }


def rest_api_source(sb: Any) -> Any:
    """dlt's generic REST source configured for the same three tools."""
    from dlt.sources.rest_api import rest_api_source as make

    def tool(name: str, items: str, extra: dict[str, Any]) -> dict[str, Any]:
        return {
            "path": "api/tools/call",
            "method": "POST",
            "json": {"tool": name, "input": {"limit": 100, **extra}},
            "data_selector": items,
            "paginator": {
                "type": "cursor",
                "cursor_path": "pagination.nextCursor",
                "cursor_body_path": "input.cursor",
            },
        }

    timeline = tool("outlit_get_timeline", "events", {"customer": "{resources.customers.id}"})
    timeline["json"]["input"].update(timeframe="all", limit=1000)
    return make(
        {
            "client": {"base_url": sb.base_url, "auth": {"type": "bearer", "token": sb.api_key}},
            "resource_defaults": {"primary_key": "id", "write_disposition": "merge"},
            "resources": [
                {"name": "customers", "endpoint": tool("outlit_list_customers", "items", {})},
                {
                    "name": "timeline",
                    "endpoint": timeline,
                    "include_from_parent": ["id"],
                },
                {
                    "name": "facts",
                    "endpoint": tool("outlit_list_facts", "facts", {"customer": "{resources.customers.id}"}),
                    "include_from_parent": ["id"],
                },
            ],
        }
    )


def timed_run(sb: Any, workdir: str, name: str, source: Any, **run_args: Any) -> dict[str, Any]:
    pipeline = _pipeline(workdir, name)
    before = _requests(sb)
    started = time.perf_counter()
    pipeline.run(source, **run_args)
    seconds = time.perf_counter() - started
    steps = {
        step: round(getattr(pipeline.last_trace, f"last_{step}_info").finished_at.timestamp()
                    - getattr(pipeline.last_trace, f"last_{step}_info").started_at.timestamp(), 2)
        for step in ("extract", "normalize", "load")
    }  # fmt: skip
    return {
        "seconds": round(seconds, 2),
        "requests": _requests(sb) - before,
        "rows": _rows(pipeline),
        "steps": steps,
        "pipeline": pipeline,
    }


def raw_floor(sb: Any, workdir: str, workers: int = 8) -> dict[str, Any]:
    """The same pages with plain concurrent httpx, written to Parquet with pyarrow: no dlt at all."""
    headers = {"Authorization": f"Bearer {sb.api_key}"}
    before = _requests(sb)
    started = time.perf_counter()
    with httpx.Client(base_url=sb.base_url, headers=headers, timeout=60) as http:

        def pages(tool: str, items: str, tool_input: dict[str, Any]) -> list[dict[str, Any]]:
            out: list[dict[str, Any]] = []
            body = {"tool": tool, "input": tool_input}
            while True:
                page = http.post("/api/tools/call", json=body).json()
                out.extend(page.get(items) or [])
                cursor = (page.get("pagination") or {}).get("nextCursor")
                if not cursor:
                    return out
                body = {"tool": tool, "input": {**tool_input, "cursor": cursor}}

        customers = pages("outlit_list_customers", "items", {"limit": 100})
        ids = [c["id"] for c in customers]
        with ThreadPoolExecutor(workers) as pool:
            timelines = list(
                pool.map(
                    lambda c: pages(
                        "outlit_get_timeline", "events", {"customer": c, "timeframe": "all", "limit": 1000}
                    ),
                    ids,
                )
            )
            facts = list(
                pool.map(lambda c: pages("outlit_list_facts", "facts", {"customer": c, "limit": 100}), ids)
            )
    for name, rows in (
        ("customers", customers),
        ("timeline", [e for t in timelines for e in t]),
        ("facts", [f for fs in facts for f in fs]),
    ):
        flat = [{k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in r.items()} for r in rows]
        pq.write_table(pa.Table.from_pylist(flat), f"{workdir}/raw_{name}.parquet")
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "requests": _requests(sb) - before,
        "rows": {
            "customers": len(customers),
            "timeline": sum(map(len, timelines)),
            "facts": sum(map(len, facts)),
        },
    }


def bulk_timeline(sb: Any, workers: int = 8) -> dict[str, Any]:
    """Every event: per-customer timeline tool (concurrent) vs keyset pages of the ``activity`` view.

    Raw requests through the project's client, no dlt: what each way of reading the timeline costs, and
    whether the view holds exactly the timeline's events (completeness).
    """
    with OutlitClient(sb.api_key, base_url=sb.base_url, timeout=120) as client:
        ids = [c["id"] for c in client.iter_tool("outlit_list_customers", {})]
        before, started = _requests(sb), time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            per_customer = pool.map(
                lambda c: [
                    e["id"]
                    for e in client.iter_tool("outlit_get_timeline", {"customer": c, "timeframe": "all"})
                ],
                ids,
            )
            tool_ids = {e for events in per_customer for e in events}
        tool = {"seconds": round(time.perf_counter() - started, 2), "requests": _requests(sb) - before}
        before, started = _requests(sb), time.perf_counter()
        view_ids: set[str] = set()
        last = ""
        while True:
            page = client.query(
                "SELECT event_id, customer_id, occurred_at, event_name, event_type, event_channel, title, "
                f"contact_email, source_type, source_id, properties FROM activity WHERE event_id > '{last}' "
                "ORDER BY event_id LIMIT 10000",
                limit=10000,
            ).rows
            view_ids.update(r["event_id"] for r in page)
            if len(page) < 10000:
                break
            last = page[-1]["event_id"]
        view = {"seconds": round(time.perf_counter() - started, 2), "requests": _requests(sb) - before}
    return {
        "timeline_tool": tool,
        "activity_view_keyset": view,
        "events": len(tool_ids),
        "view_has_every_timeline_event": tool_ids <= view_ids,
        "view_extra_events": len(view_ids - tool_ids),
    }


def dlt_floor_in_process(workdir: str) -> dict[str, Any]:
    """What dlt itself takes to merge one row into DuckDB, warm, in this process (median of 3 reruns): the
    part of any rerun no source can remove."""

    @dlt.resource(primary_key="id", write_disposition="merge")
    def one() -> Any:
        yield [{"id": 1, "at": time.time()}]

    pipeline = dlt.pipeline(
        "dlt_floor", destination=dlt.destinations.duckdb(f"{workdir}/dlt_floor.duckdb"), pipelines_dir=workdir
    )
    pipeline.run(one())
    samples = []
    for _ in range(3):
        started = time.perf_counter()
        pipeline.run(one())
        samples.append(round(time.perf_counter() - started, 3))
    return {"seconds": sorted(samples)[1], "samples": samples}


def comparison(customers: int, events: int, facts: int) -> dict[str, Any]:
    out: dict[str, Any] = {"workspace": f"{customers} customers x {events} events + {facts} facts each"}
    with (
        outlit_sandbox.running(
            seed=10,
            customers=customers,
            events_per_customer=events,
            facts_per_customer=facts,
            subprocess=True,
        ) as sb,
        tempfile.TemporaryDirectory() as workdir,
    ):
        sb.configure(fault_rate=1.0, fault_kinds=["slow"], slow_seconds=LATENCY)

        def ours(**options: Any) -> Any:
            return outlit_source(api_key=sb.api_key, base_url=sb.base_url, **options).with_resources(*TABLES)

        raw_floor(sb, workdir)  # untimed: the sandbox builds its per-customer pages on first use
        runs = {
            "rest_api_defaults": timed_run(sb, workdir, "rest_default", rest_api_source(sb)),
            "rest_api_parquet": timed_run(
                sb, workdir, "rest_parquet", rest_api_source(sb), loader_file_format="parquet"
            ),
            "outlit_parquet": timed_run(sb, workdir, "ours_parquet", ours(), loader_file_format="parquet"),
        }
        # ours as shipped and the floor, alternated REPEATS times on the same warm sandbox (same pages, 8
        # requests in flight in both): the medians, so one noisy moment on a shared machine moves neither
        floors, defaults = [], []
        for n in range(REPEATS):
            floors.append(raw_floor(sb, workdir))
            defaults.append(timed_run(sb, workdir, f"ours_default_{n}", ours()))
        out["raw_floor"] = _median(floors)
        out["raw_floor"]["samples"] = [f["seconds"] for f in floors]
        runs["outlit_defaults"] = _median(defaults)
        runs["outlit_defaults"]["samples"] = [d["seconds"] for d in defaults]
        out["bulk_timeline"] = bulk_timeline(sb)
        # incremental rerun: 1% new events, spread over every customer as the sandbox's advance does; as
        # shipped, and with the timeline read in bulk and facts left to the full reads
        full = runs["outlit_defaults"]
        new_per_customer = max(1, events // 100)
        sb.advance(hours=1, events_per_customer=new_per_customer, facts_per_customer=0, status_changes=0)
        warm_sql_tables(sb)
        for name, pipeline, options in (
            ("incremental_rerun_1pct", defaults[0]["pipeline"], {}),
            ("incremental_rerun_1pct_bulk", defaults[1]["pipeline"], BULK),
        ):
            before = _requests(sb)
            started = time.perf_counter()
            pipeline.run(ours(**options))
            rerun = {"seconds": round(time.perf_counter() - started, 2), "requests": _requests(sb) - before}
            rerun["load_average"] = [round(x, 2) for x in os.getloadavg()]
            rerun["share_of_full_time"] = round(rerun["seconds"] / full["seconds"], 3)
            rerun["share_of_full_requests"] = round(rerun["requests"] / full["requests"], 3)
            rerun["new_events"] = new_per_customer * customers
            rerun["options"] = options
            rerun["rows_equal_full_run"] = _table_rows(pipeline) == _table_rows(
                timed_run(sb, workdir, f"check_{name}", ours())["pipeline"]
            )
            out[name] = rerun
        out["dlt_floor"] = dlt_floor_in_process(workdir)
        out["dlt_floor"]["share_of_full_time"] = round(out["dlt_floor"]["seconds"] / full["seconds"], 3)
        for r in [*runs.values(), *defaults]:
            r.pop("pipeline", None)
        out.update(runs)
    ours_s = out["outlit_defaults"]["seconds"]
    out["ratios"] = {
        "rest_api_defaults / outlit_defaults": round(out["rest_api_defaults"]["seconds"] / ours_s, 2),
        "rest_api_parquet / outlit_defaults": round(out["rest_api_parquet"]["seconds"] / ours_s, 2),
        "outlit_defaults / raw_floor": round(ours_s / out["raw_floor"]["seconds"], 2),
    }
    return out


def main(argv: list[str]) -> int:
    if "bulk" in argv:  # only the timeline-vs-activity-view measurement
        with outlit_sandbox.running(
            seed=10, customers=60, events_per_customer=600, facts_per_customer=1, subprocess=True
        ) as sb:
            sb.configure(fault_rate=1.0, fault_kinds=["slow"], slow_seconds=LATENCY)
            print(json.dumps(bulk_timeline(sb), indent=2))
        return 0
    if "scale" in argv:  # only the scale curve, merged into an existing latest.json
        report: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        report["scale"] = scale_curve([100, 1000, 5000], LATENCY)
        by_n = {p["customers"]: p for p in report["scale"]}
        report["scale_rss_growth_1000_to_5000"] = round(
            by_n[5000]["peak_rss_mb"] / by_n[1000]["peak_rss_mb"], 2
        )
        RESULTS.write_text(json.dumps(report, indent=2) + "\n")
        print(json.dumps(report["scale"]), report["scale_rss_growth_1000_to_5000"])
        return 0
    quick = "quick" in argv
    started = time.perf_counter()
    report = {
        "latency_ms": LATENCY * 1000,
        "machine_cpus": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    report["first_pyarrow_array_seconds_in_a_fresh_process"] = first_array_seconds()
    report["comparison"] = comparison(20 if quick else 60, 100 if quick else 600, 25)
    _save(report)  # the scale curve takes long: keep what is measured already
    sizes = [100, 1000] if quick else [100, 1000, 5000]
    report["scale"] = scale_curve(sizes, LATENCY)
    by_n = {p["customers"]: p for p in report["scale"]}
    if 1000 in by_n and 5000 in by_n:
        report["scale_rss_growth_1000_to_5000"] = round(
            by_n[5000]["peak_rss_mb"] / by_n[1000]["peak_rss_mb"], 2
        )
    report["benchmark_seconds"] = round(time.perf_counter() - started, 1)
    report["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    _save(report)
    _print(report)
    return 0


def _save(report: dict[str, Any]) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")


def _print(report: dict[str, Any]) -> None:
    c = report["comparison"]
    print(f"\n{c['workspace']}, {report['latency_ms']:.0f} ms per request, into DuckDB")
    print(f"{'run':<22}{'seconds':>9}{'requests':>10}  extract/normalize/load")
    for name in ("rest_api_defaults", "rest_api_parquet", "outlit_defaults", "outlit_parquet"):
        r = c[name]
        s = r["steps"]
        print(f"{name:<22}{r['seconds']:>9}{r['requests']:>10}  {s['extract']}/{s['normalize']}/{s['load']}")
    print(f"{'raw floor (httpx+pyarrow)':<22}{c['raw_floor']['seconds']:>9}{c['raw_floor']['requests']:>10}")
    print(
        f"medians of {REPEATS} alternated runs: outlit_defaults {c['outlit_defaults']['samples']}, "
        f"raw floor {c['raw_floor']['samples']}"
    )
    bulk = c["bulk_timeline"]
    tool, view = bulk["timeline_tool"], bulk["activity_view_keyset"]
    print(
        f"all {bulk['events']} events: timeline tool per customer {tool['seconds']} s / "
        f"{tool['requests']} req, "
        f"activity view keyset {view['seconds']} s / {view['requests']} req; "
        f"view complete: {bulk['view_has_every_timeline_event']}"
    )
    for name in ("incremental_rerun_1pct", "incremental_rerun_1pct_bulk"):
        inc = c[name]
        print(
            f"incremental rerun {inc['options'] or '(defaults)'}, {inc['new_events']} new events: "
            f"{inc['seconds']} s, {inc['requests']} requests = {inc['share_of_full_time']:.1%} of the full "
            f"run's time, {inc['share_of_full_requests']:.1%} of its requests; "
            f"rows equal a full run's: {inc['rows_equal_full_run']}"
        )
    floor = c["dlt_floor"]
    print(
        f"dlt's own floor (one row merged into DuckDB, same process): {floor['seconds']} s = "
        f"{floor['share_of_full_time']:.1%} of the full run; no rerun can take less"
    )
    for k, v in c["ratios"].items():
        print(f"{k}: {v}x")
    print("scale (each run a fresh process):")
    for line in summary(report["scale"]):
        print("  " + line)
    if "scale_rss_growth_1000_to_5000" in report:
        print(f"peak RSS growth 1,000 -> 5,000 customers: {report['scale_rss_growth_1000_to_5000']}x")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
