"""``dlt pipeline <name> show`` on a pipeline the Outlit source loaded (issue 14 item 4).

dlt's workspace dashboard is a marimo app that also needs dlt's hub plugin and ibis; the ``dashboard``
extra installs them (``make`` and CI install it), and docs/dlt.md names it.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from dlt_sources import outlit_pipeline

pytest.importorskip(
    "marimo", reason="the dashboard extra is not installed: pip install 'outlit-connector[dlt,dashboard]'"
)


def test_dlt_pipeline_show_serves_the_dashboard(sandbox: Any, tmp_path: Path) -> None:
    pipelines = tmp_path / "pipelines"
    outlit_pipeline.load_all(
        base_url=sandbox.base_url,
        api_key=sandbox.api_key,
        pipeline_name="outlit_show",
        destination="duckdb",
        dataset_name="outlit_data",
        pipelines_dir=str(pipelines),
        max_workers=2,
    )
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        # dlt starts the `marimo` executable by name, as from an activated environment
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "MARIMO_SKIP_UPDATE_CHECK": "1",
    }
    command = [str(bin_dir / "dlt"), "pipeline", "--pipelines-dir", str(pipelines), "outlit_show", "show"]
    proc = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # dlt runs marimo as a child: stop the whole group afterwards
    )
    output: list[str] = []
    url: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line)
            found = re.search(r"URL: (http://\S+)", line)
            if found and not url:
                url.append(found.group(1))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while not url and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert url, f"no dashboard URL; exit code {proc.poll()}; output:\n{''.join(output)}"
        answer = None
        while time.monotonic() < deadline:
            try:
                answer = httpx.get(url[0], timeout=10)
                break
            except httpx.TransportError:
                time.sleep(0.5)
        assert answer is not None and answer.status_code == 200, (answer, "".join(output))
        assert "marimo" in answer.text
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=20)
