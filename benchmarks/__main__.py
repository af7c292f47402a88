"""Run every ``benchmarks/bench_*.py`` in its own process and summarise what each printed.

Each benchmark prints its own measured figures and ratios; they are taken in one run on this machine,
so compare ratios rather than absolute numbers across machines.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    here = Path(__file__).resolve().parent
    scripts = sorted(here.glob("bench_*.py"))
    if args:
        scripts = [s for s in scripts if any(a in s.stem for a in args)]
    if not scripts:
        print("no benchmark matched", args)
        return 1
    failed: list[str] = []
    for script in scripts:
        print(f"\n=== {script.stem} ===", flush=True)
        started = time.perf_counter()
        rc = subprocess.call([sys.executable, str(script)], cwd=here.parent)
        print(f"--- {script.stem}: exit {rc} in {time.perf_counter() - started:.1f}s", flush=True)
        if rc != 0:
            failed.append(script.stem)
    if failed:
        print("\nfailed:", ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
