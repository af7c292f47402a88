"""dlt source benchmarks: extraction throughput, sequential vs concurrent per-customer fetch, memory.

Run alone with ``python benchmarks/bench_dlt.py [customers] [events_per_customer]``. The sandbox runs in
its own process so that its work does not share this process's GIL. Every request is also given a fixed
artificial latency (the sandbox's "slow" fault at rate 1.0) because on loopback a request costs almost
nothing, while a real API call costs tens of milliseconds: the concurrency ratio is only meaningful with it.
Figures come from one run on this machine; compare the ratios.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import tracemalloc
from typing import Any

import dlt
from dlt.common.destination import TLoaderFileFormat

import outlit_sandbox
from dlt_sources.outlit import outlit_source

# A typical round trip to a hosted API that queries a database per call.
LATENCY_SECONDS = 0.1

# With Airflow installed, dlt also asks Airflow Variables for every config value; outside an Airflow
# task that is pure overhead (and fails against an uninitialised metadata DB), so switch it off here.
os.environ.setdefault("PROVIDERS__ENABLE_AIRFLOW_SECRETS", "false")


def _pipeline(workdir: str, name: str) -> dlt.Pipeline:
    return dlt.pipeline(
        pipeline_name=name,
        destination=dlt.destinations.duckdb(f"{workdir}/{name}.duckdb"),
        dataset_name="outlit_data",
        pipelines_dir=f"{workdir}/pipelines",
    )


def _requests(sb: Any) -> int:
    return int(sb.stats()["requests_total"])


def extract(
    sb: Any,
    workdir: str,
    name: str,
    max_workers: int,
    *,
    trace_memory: bool = False,
    file_format: TLoaderFileFormat | None = "parquet",
) -> dict[str, Any]:
    pipeline = _pipeline(workdir, name)
    # file_format None: the pre-Arrow path (rows, dlt's default INSERT files) for comparison
    source = outlit_source(
        api_key=sb.api_key,
        base_url=sb.base_url,
        max_workers=max_workers,
        include_sources=True,
        arrow=None if file_format else False,
    )
    before = _requests(sb)
    if trace_memory:
        tracemalloc.start()
    started = time.perf_counter()
    pipeline.extract(source, loader_file_format=file_format)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if trace_memory else 0
    if trace_memory:
        tracemalloc.stop()
    rows = _extracted_rows(pipeline)
    return {
        "pipeline": pipeline,
        "seconds": seconds,
        "rows": rows,
        "requests": _requests(sb) - before,
        "peak_mb": peak / 2**20,
    }


def _extracted_rows(pipeline: dlt.Pipeline) -> int:
    info = pipeline.last_trace.last_extract_info
    total = 0
    for load_id in info.loads_ids:
        for table, metrics in info.metrics[load_id][0]["table_metrics"].items():
            if not table.startswith("_dlt"):
                total += metrics.items_count
    return total


def main(argv: list[str]) -> int:
    customers = int(argv[0]) if argv else 80
    events = int(argv[1]) if len(argv) > 1 else 300
    print(f"sandbox: {customers} customers x {events} events, {customers * 20} facts, subprocess")
    with (
        outlit_sandbox.running(
            seed=11, customers=customers, events_per_customer=events, facts_per_customer=20, subprocess=True
        ) as sb,
        tempfile.TemporaryDirectory() as workdir,
    ):
        throughput(sb, workdir)
    with (
        outlit_sandbox.running(
            seed=12, customers=40, events_per_customer=50, facts_per_customer=5, subprocess=True
        ) as sb,
        tempfile.TemporaryDirectory() as workdir,
    ):
        concurrency(sb, workdir)
    return 0


def throughput(sb: Any, workdir: str) -> None:
    """Rows/s and requests/s on loopback, where the sandbox and this process share the machine's CPU."""
    fast = extract(sb, workdir, "fast", max_workers=8)
    print(
        f"extract, no added latency, 8 workers: {fast['rows']} rows in {fast['seconds']:.2f}s = "
        f"{fast['rows'] / fast['seconds']:,.0f} rows/s, {fast['requests'] / fast['seconds']:,.1f} req/s"
    )
    timings = {}
    for file_format in ("parquet", None):
        run = fast if file_format else extract(sb, workdir, "inserts", max_workers=8, file_format=None)
        started = time.perf_counter()
        run["pipeline"].normalize()
        run["pipeline"].load()
        timings[file_format] = time.perf_counter() - started
        label = "Arrow pages (Parquet)" if file_format else "rows, dlt default (SQL INSERT)"
        print(f"normalize + load {run['rows']} rows into DuckDB as {label}: {timings[file_format]:.2f}s")
    print(f"Parquet load speed-up over the default format: {timings[None] / timings['parquet']:.1f}x")

    # tracemalloc: Python allocations only; dlt spools extracted rows to disk, so this stays flat with size
    mem = extract(sb, workdir, "memory", max_workers=8, trace_memory=True)
    print(
        f"peak traced memory during extract of {mem['rows']} rows: {mem['peak_mb']:.1f} MB "
        f"({mem['peak_mb'] * 2**20 / max(mem['rows'], 1):,.0f} bytes/row)"
    )


def concurrency(sb: Any, workdir: str) -> None:
    """Sequential vs concurrent per-customer fetching when every request costs a real round trip."""
    latency_ms = LATENCY_SECONDS * 1000
    print(f"sandbox: 40 customers x 50 events, 5 facts each; every request delayed {latency_ms:.0f} ms")
    sb.configure(fault_rate=1.0, fault_kinds=["slow"], slow_seconds=LATENCY_SECONDS)
    results = {}
    for workers in (1, 4, 8, 16):
        r = results[workers] = extract(sb, workdir, f"w{workers}", max_workers=workers)
        print(
            f"extract, max_workers={workers:>2}: {r['seconds']:.2f}s for {r['requests']} requests = "
            f"{r['requests'] / r['seconds']:,.1f} req/s, {r['rows'] / r['seconds']:,.0f} rows/s"
        )
    for workers in (4, 8, 16):
        ratio = results[1]["seconds"] / results[workers]["seconds"]
        print(f"speed-up max_workers={workers} vs sequential: {ratio:.1f}x")

    pipeline = results[8]["pipeline"]
    pipeline.normalize()
    pipeline.load()
    before = _requests(sb)
    started = time.perf_counter()
    pipeline.run(outlit_source(api_key=sb.api_key, base_url=sb.base_url, max_workers=8, include_sources=True))
    print(
        f"re-run with nothing new: {_requests(sb) - before} requests "
        f"(first run: {results[8]['requests']}) in {time.perf_counter() - started:.2f}s"
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
