"""DAG-parse cost of the provider: what a scheduler pays for every example DAG file, every parse loop.

Each measurement runs in a fresh interpreter so import caches do not flatter the figures. Printed:
import time of the provider on top of ``airflow.sdk``, parse time per example DAG file, and the same for a
DAG with only standard operators as the baseline ratio.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 3

PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
import airflow.sdk  # noqa: F401
t1 = time.perf_counter()
for module in sys.argv[2].split(","):
    if module:
        __import__(module)
t2 = time.perf_counter()
from airflow.dag_processing.dagbag import DagBag
t3 = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1])
t4 = time.perf_counter()
assert not bag.import_errors, bag.import_errors
print(json.dumps({"sdk": t1 - t0, "modules": t2 - t1, "parse": t4 - t3, "dags": len(bag.dags),
                  "sqlglot": "sqlglot" in sys.modules, "dlt": "dlt" in sys.modules}))
"""

BASELINE_DAG = """
from datetime import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator
with DAG(dag_id="baseline", schedule=None, start_date=datetime(2026, 1, 1)):
    EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
"""

PROVIDER_MODULES = ",".join(
    [
        "outlit_provider.hooks.outlit",
        "outlit_provider.operators.tool",
        "outlit_provider.operators.query",
        "outlit_provider.operators.integrations",
        "outlit_provider.operators.platform",
        "outlit_provider.operators.ingest",
        "outlit_provider.sensors.integrations",
        "outlit_provider.transfers.sql_to_outlit",
    ]
)


def _probe(folder: Path, modules: str, env: dict[str, str]) -> dict[str, float]:
    best: dict[str, float] = {}
    for _ in range(RUNS):
        out = subprocess.run(
            [sys.executable, "-c", PROBE, str(folder), modules],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
        )
        if out.returncode != 0:
            raise SystemExit(f"probe failed:\n{out.stderr[-3000:]}")
        result = json.loads(out.stdout.strip().splitlines()[-1])
        for key, value in result.items():
            best[key] = min(best.get(key, value), value) if isinstance(value, float) else value
    return best


def main() -> int:
    home = tempfile.mkdtemp(prefix="bench-airflow-")
    env = dict(os.environ, AIRFLOW_HOME=home, AIRFLOW__CORE__LOAD_EXAMPLES="False")
    with tempfile.TemporaryDirectory() as baseline_dir:
        Path(baseline_dir, "baseline.py").write_text(BASELINE_DAG)
        base = _probe(Path(baseline_dir), "", env)
    ours = _probe(ROOT / "dags", PROVIDER_MODULES, env)
    per_dag = ours["parse"] / max(ours["dags"], 1)
    print(f"best of {RUNS} fresh interpreters each")
    print(f"import airflow.sdk: {base['sdk'] * 1000:.0f} ms")
    print(f"import every provider module on top of it: {ours['modules'] * 1000:.0f} ms")
    print(f"  sqlglot loaded at import: {ours['sqlglot']}; dlt loaded at import: {ours['dlt']}")
    print(f"parse {ours['dags']} example DAG files: {ours['parse'] * 1000:.0f} ms")
    print(f"  = {per_dag * 1000:.1f} ms per file")
    print(f"parse the baseline DAG (standard operators only): {base['parse'] * 1000:.1f} ms")
    print(f"example DAG parse per file / baseline parse: {per_dag / max(base['parse'], 1e-9):.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
